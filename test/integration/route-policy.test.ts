import { randomUUID } from 'node:crypto';
import type { ServerBuild } from '@remix-run/node';
import { lastSeq, readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  loadServerBuild,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import {
  publicAccess,
  requires,
  requiresAny,
  serviceToken,
  signedIn,
  type Access,
} from '#app/modules/auth/access.ts';
import { SCOPES } from '#app/modules/vocabulary.ts';
import {
  DEFAULT_ROLE_PERMISSIONS,
  PERMISSION_CODES,
  ROLES,
  WITHOUT_SECOND_FACTOR,
  type Role,
} from '#app/modules/auth/permissions.ts';

// DESIGN law 1, deny by default: every route module declares `access`, and what the server does
// for each role matches that declaration and the role → permission mapping in the database.

const { sql } = useTestDatabase();

const build = await loadServerBuild();
type Route = ServerBuild['routes'][string];
const ROUTES = Object.values(build.routes);

type Subject = Role | 'no role' | 'signed out';
const SIGNED_IN_SUBJECTS: (Role | 'no role')[] = [...ROLES, 'no role'];
const SUBJECTS: Subject[] = [...SIGNED_IN_SUBJECTS, 'signed out'];

/** Why a value is not a valid `access` declaration, or undefined when it is one. */
function accessProblem(value: unknown): string | undefined {
  if (value === undefined) return 'exports no `access`';
  if (typeof value !== 'object' || value === null) return '`access` is not an object';
  const access = value as Record<string, unknown>;
  const extra = (allowed: string[]) => Object.keys(access).find((k) => !allowed.includes(k));
  if (access.kind === 'public') {
    return extra(['kind']) ? `public access has an unknown option ${extra(['kind'])}` : undefined;
  }
  if (access.kind === 'service') {
    if (extra(['kind', 'scope'])) return `unknown option ${extra(['kind', 'scope'])}`;
    return (SCOPES as readonly unknown[]).includes(access.scope)
      ? undefined
      : `requires an unknown scope ${String(access.scope)}`;
  }
  for (const flag of [
    'whilePasswordChangeDue',
    'whileSecondFactorDue',
    'writesOnGet',
    'background',
  ]) {
    if (access[flag] !== undefined && typeof access[flag] !== 'boolean')
      return `${flag} is not a boolean`;
  }
  if (access.kind === 'signed-in') {
    const unknown = extra([
      'kind',
      'whilePasswordChangeDue',
      'whileSecondFactorDue',
      'writesOnGet',
      'background',
    ]);
    return unknown ? `unknown option ${unknown}` : undefined;
  }
  if (access.kind === 'permission') {
    const unknown = extra([
      'kind',
      'permission',
      'whilePasswordChangeDue',
      'writesOnGet',
      'background',
    ]);
    if (unknown) return `unknown option ${unknown}`;
    if (!(PERMISSION_CODES as unknown[]).includes(access.permission)) {
      return `requires an unknown permission ${String(access.permission)}`;
    }
    return undefined;
  }
  if (access.kind === 'any-permission') {
    const unknown = extra(['kind', 'permissions', 'whilePasswordChangeDue']);
    if (unknown) return `unknown option ${unknown}`;
    const listed = access.permissions;
    if (!Array.isArray(listed) || listed.length < 2) return 'lists fewer than two permissions';
    const bad = listed.find((p) => !(PERMISSION_CODES as unknown[]).includes(p));
    return bad === undefined ? undefined : `requires an unknown permission ${String(bad)}`;
  }
  return `unknown access kind ${String(access.kind)}`;
}

function accessOf(route: Route): Access {
  return (route.module as { access?: Access }).access!;
}

function ancestors(route: Route): Route[] {
  const chain: Route[] = [];
  for (let r: Route | undefined = route; r; r = r.parentId ? build.routes[r.parentId] : undefined) {
    chain.unshift(r);
  }
  return chain;
}

function pattern(route: Route) {
  return ancestors(route)
    .map((r) => r.path ?? '')
    .join('/');
}

const isSplat = (route: Route) => pattern(route).split('/').includes('*');

/** The route that a request for this route's address lands on (a pathless layout → a child). */
function landing(route: Route): Route | undefined {
  if (route.id === 'root' || route.path !== undefined || route.index) return route;
  for (const child of ROUTES.filter((r) => r.parentId === route.id && !isSplat(r))) {
    const found = landing(child);
    if (found) return found;
  }
  return undefined;
}

/** Every route whose loader or action runs for a request aimed at `route`. */
function matched(route: Route): Route[] {
  const chain = ancestors(route);
  const index = ROUTES.find((r) => r.parentId === route.id && r.index && !r.path);
  if (!route.index && index) chain.push(index);
  return chain;
}

/** A concrete address for a route: dynamic segments get a real id where the test has one. */
function concretePath(route: Route, params: Record<string, string>) {
  const segments = pattern(route)
    .split('/')
    .filter(Boolean)
    .flatMap((segment) => {
      const optional = segment.endsWith('?');
      const name = optional ? segment.slice(0, -1) : segment;
      if (optional) return [];
      if (name === '*') return ['no-such-page'];
      if (name.startsWith(':')) return [params[name.slice(1)] ?? randomUUID()];
      return [name];
    });
  return `/${segments.join('/')}`;
}

function allows(access: Access, subject: Subject) {
  if (access.kind === 'public') return true;
  if (subject === 'signed out') return false;
  // A service-API route takes a bearer token only: no staff session reaches it (ADR 023).
  if (access.kind === 'service') return false;
  if (access.kind === 'signed-in') return true;
  if (subject === 'no role') return false;
  const held = DEFAULT_ROLE_PERMISSIONS[subject];
  return access.kind === 'permission'
    ? held.includes(access.permission)
    : access.permissions.some((p) => held.includes(p));
}

/** Service-API routes (ADR 023): resource routes whose own declaration alone applies. */
const isService = (route: Route) => accessOf(route).kind === 'service';

/** What the server must answer, computed from the declarations of the routes that run. */
function expected(
  routes: Route[],
  subject: Subject,
): 'allowed' | 'sign-in' | 'forbidden' | 'no-token' {
  if (routes.length && isService(routes[routes.length - 1]!)) return 'no-token';
  const declared = routes.map(accessOf);
  if (subject === 'signed out') {
    return declared.every((a) => a.kind === 'public') ? 'allowed' : 'sign-in';
  }
  return declared.every((a) => allows(a, subject)) ? 'allowed' : 'forbidden';
}

const signInLocation = (pathAndSearch: string) =>
  `/login?redirectTo=${encodeURIComponent(pathAndSearch)}`;

let server: TestServer;
const cookies = new Map<Subject, string | null>();
const staffIds = new Map<Subject, string>();
let params: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  const target = await createStaffWithRoles(['support_agent'], { displayName: 'Policy target' });
  // `category` takes the user data page past its parameter check to its grant check.
  params = { staffId: target.id, category: 'profile' };
  cookies.set('signed out', null);
  await Promise.all(
    SIGNED_IN_SUBJECTS.map(async (subject) => {
      const who = await createStaffWithRoles(subject === 'no role' ? [] : [subject]);
      staffIds.set(subject, who.id);
      cookies.set(subject, await signInAs(server.baseUrl, who.email, who.password));
    }),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('every route declares its access (law 1)', () => {
  it('the build holds the known routes', () => {
    const ids = ROUTES.map((r) => r.id);
    for (const id of Object.keys(PINNED_DECLARATIONS)) expect(ids).toContain(id);
  });

  it('every route module, root included, exports a valid `access`', () => {
    const problems = ROUTES.flatMap((route) => {
      const problem = accessProblem((route.module as { access?: unknown }).access);
      return problem ? [`${route.id}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('the check itself rejects a missing or malformed declaration', () => {
    expect(accessProblem(undefined)).toMatch(/no `access`/);
    expect(accessProblem(null)).toBeDefined();
    expect(accessProblem('public')).toBeDefined();
    expect(accessProblem({})).toMatch(/unknown access kind/);
    expect(accessProblem({ kind: 'role', role: 'admin' })).toMatch(/unknown access kind/);
    expect(accessProblem({ kind: 'permission', permission: 'staff:everything' })).toMatch(
      /unknown permission/,
    );
    expect(accessProblem({ kind: 'permission' })).toMatch(/unknown permission/);
    expect(accessProblem({ kind: 'signed-in', whilePasswordChangeDue: 'yes' })).toBeDefined();
    expect(accessProblem({ kind: 'public', writesOnGet: true })).toBeDefined();
    expect(accessProblem(requires('users:lookup', { writesOnGet: true }))).toBeUndefined();
    expect(accessProblem(publicAccess)).toBeUndefined();
    expect(accessProblem(signedIn({ whilePasswordChangeDue: true }))).toBeUndefined();
    expect(accessProblem(requires('audit:read'))).toBeUndefined();
    expect(accessProblem(serviceToken('access-history:read'))).toBeUndefined();
    expect(accessProblem({ kind: 'service', scope: 'inquiries:everything' })).toMatch(
      /unknown scope/,
    );
  });
});

// Hand-written: a route that silently changes what it requires fails here even though its
// declaration and its behaviour still agree.
const PINNED_DECLARATIONS: Record<string, Access> = {
  root: publicAccess,
  'routes/$': publicAccess,
  'routes/_index': signedIn(),
  'routes/login': publicAccess,
  'routes/login_.second-factor': publicAccess,
  // Single sign-on (ADR 039): its start, the provider's callback and back-channel logout.
  'routes/login_.sso': publicAccess,
  'routes/auth.oidc.callback': publicAccess,
  'routes/auth.oidc.backchannel-logout': publicAccess,
  'routes/logout': signedIn({ whilePasswordChangeDue: true, whileSecondFactorDue: true }),
  'routes/account.security': signedIn({ whilePasswordChangeDue: true, whileSecondFactorDue: true }),
  'routes/account.verify': signedIn(),
  'routes/healthz': publicAccess,
  'routes/account.password': signedIn({ whilePasswordChangeDue: true }),
  'routes/admin.staff._index': requires('staff:manage'),
  'routes/admin.staff.new': requires('staff:manage'),
  'routes/admin.staff.$staffId': requires('staff:manage'),
  'routes/admin.staff.requests': requiresAny('staff:manage', 'security:review'),
  'routes/account.setup.$token': publicAccess,
  'routes/export.$token': publicAccess,
  'routes/audit._index': requires('audit:read'),
  'routes/audit.csv': requires('audit:read', { writesOnGet: true }),
  'routes/audit.$seq': requires('audit:read'),
  'routes/audit.verify': requires('audit:verify'),
  'routes/analytics._index': requires('analytics:read'),
  'routes/analytics.csv': requires('analytics:read', { writesOnGet: true }),
  'routes/analytics.shares._index': requiresAny('privacy:process', 'security:review'),
  'routes/analytics.shares.new': requires('analytics:share'),
  'routes/analytics.shares.$shareId.csv': requires('analytics:share', { writesOnGet: true }),
  'routes/users._index': requires('users:lookup', { writesOnGet: true }),
  'routes/users.$id._index': requires('users:lookup', { writesOnGet: true }),
  'routes/users.$id.$category': requires('users:lookup', { writesOnGet: true }),
  'routes/users.$id.conversations.$conversationId': requires('users:lookup', { writesOnGet: true }),
  'routes/grants._index': requires('grants:request'),
  'routes/privacy._index': requires('privacy:process'),
  'routes/inquiries._index': requires('inquiries:answer'),
  'routes/inquiries.$inquiryId': requires('inquiries:answer', { writesOnGet: true }),
  'routes/privacy.$requestId': requires('privacy:process', { writesOnGet: true }),
  'routes/privacy.new': requires('privacy:process'),
  'routes/privacy.$requestId.certificate': requires('privacy:process', { writesOnGet: true }),
  'routes/privacy.metrics': requires('privacy:process'),
  'routes/privacy.metrics[.]csv': requires('privacy:process'),
  'routes/privacy.record': requiresAny('privacy:process', 'security:review'),
  'routes/grants.new': requires('grants:request'),
  'routes/grants.$grantId': requires('grants:request'),
  'routes/grants.break-glass': requires('grants:break_glass'),
  'routes/notifications': signedIn(),
  'routes/notifications.live': signedIn({ background: true }),
  'routes/admin.policies': requires('policy:manage'),
  'routes/admin.retention': requires('policy:manage'),
  'routes/security.access': requires('security:review'),
  'routes/security.access.csv': requires('security:review', { writesOnGet: true }),
  'routes/api.v1.$': publicAccess,
  'routes/api.v1.privacy-requests': serviceToken('privacy-requests:write'),
  'routes/api.v1.inquiries': serviceToken('inquiries:write'),
  'routes/api.v1.privacy-requests.$id': serviceToken('privacy-requests:read'),
  'routes/api.v1.privacy-requests.$id.verify': serviceToken('privacy-requests:write'),
  'routes/api.v1.privacy-requests.$id.export': serviceToken('privacy-requests:read'),
  'routes/api.v1.users.$id.access-history': serviceToken('access-history:read'),
};

// Law 2 puts a second gate behind the declared permission on the user data pages: a holder of the
// permission without a live grant gets the grant refusal (test/integration/users-views.test.ts).
const GRANT_GATED = new Set([
  'routes/users.$id.$category',
  'routes/users.$id.conversations.$conversationId',
]);
const LOOKUP_ROLES: Subject[] = ROLES.filter((r) =>
  DEFAULT_ROLE_PERMISSIONS[r].includes('users:lookup'),
);
const REQUEST_ROLES: Subject[] = ROLES.filter((r) =>
  DEFAULT_ROLE_PERMISSIONS[r].includes('grants:request'),
);

const everyone = SIGNED_IN_SUBJECTS;
const ANALYTICS_READERS: Subject[] = [
  'support_lead',
  'privacy_officer',
  'security_auditor',
  'admin',
];
const NO_USER = '00000000-0000-4000-8000-000000000000';
type Outcome = number | { redirect: string };
/** Address → subject → exact status (or redirect target) of a GET. */
function pinnedGets(staffId: string): Record<string, (subject: Subject) => Outcome> {
  const staffOnly = (path: string, allowed: Subject[]) => (subject: Subject) =>
    subject === 'signed out'
      ? { redirect: signInLocation(path) }
      : allowed.includes(subject)
        ? 200
        : 403;
  return {
    '/': staffOnly('/', everyone),
    '/account/password': staffOnly('/account/password', everyone),
    '/account/security': staffOnly('/account/security', everyone),
    '/account/verify': staffOnly('/account/verify', everyone),
    // Without a pending sign-in's cookie: back to the first step (signed in: home).
    '/login/second-factor': (subject) =>
      subject === 'signed out' ? { redirect: '/login' } : { redirect: '/' },
    // Single sign-on is not configured in this suite (sso.test.ts configures it): the start and
    // the callback are 404 (signed in, the start goes home); back-channel logout takes only POST.
    '/login/sso': (subject) => (subject === 'signed out' ? 404 : { redirect: '/' }),
    '/auth/oidc/callback': () => 404,
    '/auth/oidc/backchannel-logout': () => 405,
    '/admin/staff': staffOnly('/admin/staff', ['admin']),
    '/admin/staff/new': staffOnly('/admin/staff/new', ['admin']),
    [`/admin/staff/${staffId}`]: staffOnly(`/admin/staff/${staffId}`, ['admin']),
    '/admin/staff/requests': staffOnly('/admin/staff/requests', ['admin', 'security_auditor']),
    // An unknown one-time link: the same clear page for everyone.
    [`/account/setup/${'a'.repeat(43)}`]: () => 404,
    // An unknown package link: 404 for everyone, signed in or not (the link is the user's).
    [`/export/${'a'.repeat(43)}`]: () => 404,
    '/audit': staffOnly('/audit', ['security_auditor']),
    '/audit/csv': staffOnly('/audit/csv', ['security_auditor']),
    '/audit/verify': staffOnly('/audit/verify', ['security_auditor']),
    '/analytics': staffOnly('/analytics', ANALYTICS_READERS),
    '/analytics/csv': staffOnly('/analytics/csv', ANALYTICS_READERS),
    // A bad date range is named and answered 400, to those who may read analytics at all.
    '/analytics?from=yesterday': (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation('/analytics?from=yesterday') }
        : ANALYTICS_READERS.includes(subject)
          ? 400
          : 403,
    // The sharing log (ADR 037): privacy officers and security reviewers read it; only
    // holders of analytics:share (privacy officers) open the form or a share's CSV.
    '/analytics/shares': staffOnly('/analytics/shares', ['privacy_officer', 'security_auditor']),
    '/analytics/shares?sort=figures': (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation('/analytics/shares?sort=figures') }
        : ['privacy_officer', 'security_auditor'].includes(subject)
          ? 400
          : 403,
    '/analytics/shares/new': staffOnly('/analytics/shares/new', ['privacy_officer']),
    // No such share: 404 to those who may share, 403 to the others.
    [`/analytics/shares/${NO_USER}/csv`]: (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation(`/analytics/shares/${NO_USER}/csv`) }
        : subject === 'privacy_officer'
          ? 404
          : 403,
    '/grants': staffOnly('/grants', REQUEST_ROLES),
    '/privacy': staffOnly('/privacy', ['privacy_officer']),
    '/inquiries': staffOnly('/inquiries', ['support_agent', 'support_lead', 'privacy_officer']),
    // An unknown inquiry: 404 to those who work inquiries.
    [`/inquiries/${NO_USER}`]: (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation(`/inquiries/${NO_USER}`) }
        : ['support_agent', 'support_lead', 'privacy_officer'].includes(subject)
          ? 404
          : 403,
    '/privacy/new': staffOnly('/privacy/new', ['privacy_officer']),
    '/privacy/metrics': staffOnly('/privacy/metrics', ['privacy_officer']),
    '/privacy/metrics.csv': staffOnly('/privacy/metrics.csv', ['privacy_officer']),
    '/privacy/record': staffOnly('/privacy/record', ['privacy_officer', 'security_auditor']),
    // The form is for privacy officers only; a reviewer reads.
    '/privacy/record?edit=1': staffOnly('/privacy/record?edit=1', ['privacy_officer']),
    // A bad month is named and answered 400, to privacy officers.
    '/privacy/metrics?from=13-2026': (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation('/privacy/metrics?from=13-2026') }
        : subject === 'privacy_officer'
          ? 400
          : 403,
    // No such request: 404 to officers, 403 to the others.
    [`/privacy/${NO_USER}`]: (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation(`/privacy/${NO_USER}`) }
        : subject === 'privacy_officer'
          ? 404
          : 403,
    // No such certificate: 404 to officers, 403 to the others.
    [`/privacy/${NO_USER}/certificate`]: (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation(`/privacy/${NO_USER}/certificate`) }
        : subject === 'privacy_officer'
          ? 404
          : 403,
    '/grants?view=history': staffOnly('/grants?view=history', REQUEST_ROLES),
    '/grants/new': staffOnly('/grants/new', REQUEST_ROLES),
    // Nobody has this grant: 404 to those who may hold grants.
    [`/grants/${NO_USER}`]: (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation(`/grants/${NO_USER}`) }
        : REQUEST_ROLES.includes(subject)
          ? 404
          : 403,
    '/grants/break-glass': staffOnly('/grants/break-glass', ['support_lead', 'security_auditor']),
    '/notifications': staffOnly('/notifications', everyone),
    '/notifications/live': staffOnly('/notifications/live', everyone),
    '/admin/policies': staffOnly('/admin/policies', ['admin']),
    '/admin/retention': staffOnly('/admin/retention', ['admin']),
    '/security/access': staffOnly('/security/access', ['security_auditor']),
    '/security/access/csv': staffOnly('/security/access/csv', ['security_auditor']),
    '/users': staffOnly('/users', LOOKUP_ROLES),
    '/users?q=nobody%40example.com': staffOnly('/users?q=nobody%40example.com', LOOKUP_ROLES),
    // Nobody has this id: 404 to those who may look users up.
    [`/users/${NO_USER}`]: (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation(`/users/${NO_USER}`) }
        : LOOKUP_ROLES.includes(subject)
          ? 404
          : 403,
    // Without a grant: 403 for everyone (the grant refusal for those who may look users up).
    [`/users/${NO_USER}/profile`]: staffOnly(`/users/${NO_USER}/profile`, []),
    [`/users/${NO_USER}/conversations/${NO_USER}`]: staffOnly(
      `/users/${NO_USER}/conversations/${NO_USER}`,
      [],
    ),
    [`/users/${NO_USER}/no-such-category`]: (subject) =>
      subject === 'signed out'
        ? { redirect: signInLocation(`/users/${NO_USER}/no-such-category`) }
        : LOOKUP_ROLES.includes(subject)
          ? 404
          : 403,
    '/login': (subject) => (subject === 'signed out' ? 200 : { redirect: '/' }),
    '/healthz': () => 200,
    '/logout': (subject) =>
      subject === 'signed out' ? { redirect: signInLocation('/logout') } : { redirect: '/' },
    '/no/such/page': () => 404,
    // The service API answers a staff session as it answers nobody: 401 (ADR 023).
    '/api/v1/privacy-requests/00000000-0000-4000-8000-000000000000': () => 401,
    '/api/v1/privacy-requests/00000000-0000-4000-8000-000000000000/export': () => 401,
    [`/api/v1/users/${NO_USER}/access-history`]: () => 401,
    '/api/v1/privacy-requests': () => 405,
    '/api/v1/inquiries': () => 405,
    '/api/v1/no/such/endpoint': () => 404,
  };
}

describe('the pinned expectations for the known routes', () => {
  it('each known route still declares what it declared', () => {
    for (const [id, access] of Object.entries(PINNED_DECLARATIONS)) {
      expect({ id, access: build.routes[id]?.module && accessOf(build.routes[id]) }).toEqual({
        id,
        access,
      });
    }
  });

  it.each(SUBJECTS)('GET answers as pinned for %s', async (subject) => {
    const mismatches: string[] = [];
    for (const [path, outcomeFor] of Object.entries(pinnedGets(params.staffId!))) {
      const want = outcomeFor(subject);
      const response = await fetchAs(cookies.get(subject)!, path);
      await response.arrayBuffer();
      const got: Outcome =
        response.status === 302
          ? { redirect: response.headers.get('location') ?? '' }
          : response.status;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        mismatches.push(`${path}: wanted ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('every route with a loader answers each role as its declaration says', () => {
  const withLoader = ROUTES.filter((r) => r.module.loader && !isSplat(r));

  it.each(SUBJECTS)('GET as %s', async (subject) => {
    const mismatches: string[] = [];
    for (const route of withLoader) {
      const target = landing(route);
      if (!target) {
        mismatches.push(`${route.id}: no address reaches it`);
        continue;
      }
      const path = concretePath(target, params);
      const routes = matched(target).filter((r) => r.module.loader);
      const want = expected(routes, subject);
      const response = await fetchAs(cookies.get(subject)!, path);
      const body = await response.text();
      const location = response.headers.get('location');
      const problem =
        response.status >= 500
          ? `server error ${response.status}`
          : want === 'no-token'
            ? // A cookie is no token: 401 (or 405 where the route takes no GET), in JSON.
              ![401, 405].includes(response.status) ||
              !response.headers.get('content-type')?.startsWith('application/json')
              ? `wanted a JSON 401, got ${response.status}`
              : undefined
            : want === 'sign-in'
              ? response.status !== 302 || location !== signInLocation(path)
                ? `wanted a redirect to sign in, got ${response.status} ${location ?? ''}`
                : undefined
              : want === 'forbidden'
                ? // A page shows the 403 page; a resource route (a download) answers a bare 403.
                  response.status !== 403 ||
                  (route.module.default !== undefined && !body.includes('403 — Not allowed'))
                  ? `wanted the 403 page, got ${response.status} ${location ?? ''}`
                  : undefined
                : subject === 'signed out' &&
                    route.id === 'routes/login_.second-factor' &&
                    location === '/login'
                  ? undefined // no pending sign-in: the first step again
                  : response.status === 403 &&
                      GRANT_GATED.has(route.id) &&
                      body.includes('data-refusal="grant"')
                    ? undefined
                    : response.status === 403 || location?.startsWith('/login')
                      ? `wanted access, got ${response.status} ${location ?? ''}`
                      : undefined;
      if (problem) mismatches.push(`${route.id} (${path}): ${problem}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('a signed-out redirect carries the exact path and query, URL-encoded', async () => {
    const response = await fetchAs(null, '/admin/staff?q=smith&sort=email&dir=desc');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(
      '/login?redirectTo=%2Fadmin%2Fstaff%3Fq%3Dsmith%26sort%3Demail%26dir%3Ddesc',
    );
  });

  it.each(SUBJECTS)('the catch-all route answers 404 for %s', async (subject) => {
    const splat = ROUTES.find((r) => r.id === 'routes/$');
    expect(splat?.module.loader).toBeDefined();
    const response = await fetchAs(cookies.get(subject)!, '/nothing-lives-here/at-all');
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('404 — Not found');
  });
});

describe("a GET from another site acts in nobody's name (ADR 020)", () => {
  const withLoader = ROUTES.filter((r) => r.module.loader && !isSplat(r));
  const writesOnGet = (route: Route) => {
    const access = accessOf(route);
    return access.kind !== 'public' && access.kind !== 'service' && access.writesOnGet === true;
  };

  it('the routes that write or audit on GET declare it', () => {
    expect(
      withLoader
        .filter(writesOnGet)
        .map((r) => r.id)
        .sort(),
    ).toEqual([
      'routes/analytics.csv',
      'routes/analytics.shares.$shareId.csv',
      'routes/audit.csv',
      'routes/inquiries.$inquiryId',
      'routes/privacy.$requestId',
      'routes/privacy.$requestId.certificate',
      'routes/security.access.csv',
      'routes/users.$id.$category',
      'routes/users.$id._index',
      'routes/users.$id.conversations.$conversationId',
      'routes/users._index',
    ]);
  });

  // The net under the declaration: a route whose GET records anything cross-site has forgotten it.
  it.each(SUBJECTS)(
    'as %s: refused where declared, and nothing recorded anywhere',
    async (subject) => {
      const mismatches: string[] = [];
      const before = await lastSeq();
      for (const route of withLoader) {
        const target = landing(route);
        if (!target) continue;
        const path =
          concretePath(target, params) +
          (target.id === 'routes/users._index' ? '?q=nobody%40example.com' : '');
        const response = await fetchAs(cookies.get(subject)!, path, {
          headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' },
        });
        const body = await response.text();
        if (response.status >= 500) mismatches.push(`${route.id} (${path}): ${response.status}`);
        if (matched(target).some(writesOnGet)) {
          const refused =
            response.status === 403 &&
            (route.module.default === undefined || body.includes('data-refusal="cross-site"'));
          if (!refused) mismatches.push(`${route.id} (${path}): not refused, ${response.status}`);
        }
      }
      for (const entry of await readAudit(before)) {
        mismatches.push(`recorded ${entry.action}: ${JSON.stringify(entry.details)}`);
      }
      expect(mismatches).toEqual([]);
    },
  );

  it('the same GETs without the header, or from the console itself, act as before', async () => {
    const agent = cookies.get('support_agent')!;
    for (const site of [undefined, 'same-origin', 'none']) {
      const headers: Record<string, string> = site ? { 'Sec-Fetch-Site': site } : {};
      const before = await lastSeq();
      const response = await fetchAs(agent, '/users?q=nobody%40example.com', { headers });
      expect(response.status).toBe(200);
      expect(await lastSeq()).toBe(before + 1);
    }
  });

  it('the refusal offers the same address, to open from the console itself', async () => {
    const response = await fetchAs(cookies.get('support_agent')!, '/users?q=nobody%40example.com', {
      headers: { 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(response.status).toBe(403);
    const html = await response.text();
    expect(html).toContain('403 — Opened from another site');
    expect(html).toContain('href="/users?q=nobody%40example.com"');
  });
});

// ADR 035: an account that must have a second factor and has none gets a session that opens
// /account/security and sign-out only, whatever its roles, until it enrols.
describe('a session held to enrolling a second factor opens nothing else', () => {
  const FACTOR_ROLES = ROLES.filter((r) =>
    DEFAULT_ROLE_PERMISSIONS[r].some((p) => !WITHOUT_SECOND_FACTOR.includes(p)),
  );
  const held = new Map<Role, string>();
  const OPEN = new Set(['routes/account.security', 'routes/logout']);

  beforeAll(async () => {
    for (const role of FACTOR_ROLES) {
      const who = await createStaffWithRoles([role], { secondFactor: false });
      held.set(role, await signInAs(server.baseUrl, who.email, who.password));
    }
  });

  it('the roles that need a factor are the ones the design names', () => {
    expect([...FACTOR_ROLES].sort()).toEqual(
      ['admin', 'privacy_officer', 'security_auditor', 'support_lead'].sort(),
    );
  });

  it.each(['admin', 'privacy_officer', 'security_auditor', 'support_lead'] as Role[])(
    'as %s without a factor: every GET and POST goes to /account/security but its own and sign-out',
    async (role) => {
      const cookie = held.get(role)!;
      const mismatches: string[] = [];
      for (const route of ROUTES.filter(
        (r) => !isSplat(r) && (r.module.loader || r.module.action),
      )) {
        const target = landing(route) ?? route;
        const chain = matched(target);
        const declared = chain.map(accessOf);
        if (declared.every((a) => a.kind === 'public') || isService(target)) continue;
        const path = concretePath(target, params);
        const opens = OPEN.has(target.id);
        if (route.module.loader) {
          const response = await fetchAs(cookie, path);
          await response.arrayBuffer();
          const location = response.headers.get('location');
          if (opens) {
            if (response.status >= 400 || location === '/account/security')
              mismatches.push(`GET ${path}: wanted it open, got ${response.status}`);
          } else if (response.status !== 302 || location !== '/account/security') {
            mismatches.push(
              `GET ${path}: wanted /account/security, got ${response.status} ${location ?? ''}`,
            );
          }
        }
        if (route.module.action && !opens) {
          const response = await postForm(cookie, path + (route.index ? '?index' : ''), {
            intent: 'approve',
          });
          await response.arrayBuffer();
          const location = response.headers.get('location');
          if (response.status !== 302 || location !== '/account/security') {
            mismatches.push(
              `POST ${path}: wanted /account/security, got ${response.status} ${location ?? ''}`,
            );
          }
        }
      }
      expect(mismatches).toEqual([]);
      const page = await fetchAs(cookie, '/account/security');
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('until you do, the');
    },
  );

  it('an agent without a factor is not held (a factor is optional for it)', async () => {
    const response = await fetchAs(cookies.get('support_agent')!, '/');
    expect(response.status).toBe(200);
  });
});

describe('every route with an action refuses a POST it does not allow', () => {
  const withAction = ROUTES.filter((r) => r.module.action && !isSplat(r));

  it('there are actions to check', () => {
    expect(withAction.map((r) => r.id)).toEqual(
      expect.arrayContaining(['routes/login', 'routes/logout', 'routes/admin.staff.new']),
    );
  });

  it.each(SUBJECTS)('POST as %s', async (subject) => {
    const mismatches: string[] = [];
    for (const route of withAction) {
      const path = concretePath(route, params) + (route.index ? '?index' : '');
      const want = expected([route], subject);
      if (want === 'allowed') continue; // an allowed POST would act; the feature tests cover it
      const response = await postForm(cookies.get(subject)!, path, { intent: 'roles' });
      const location = response.headers.get('location');
      await response.arrayBuffer();
      if (want === 'sign-in' && (response.status !== 302 || location !== signInLocation(path))) {
        mismatches.push(`${route.id}: wanted a redirect to sign in, got ${response.status}`);
      }
      if (want === 'no-token' && ![401, 405].includes(response.status)) {
        mismatches.push(`${route.id}: wanted 401 (no token), got ${response.status}`);
      }
      if (want === 'forbidden' && response.status !== 403) {
        mismatches.push(`${route.id}: wanted 403, got ${response.status} ${location ?? ''}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('a denied POST changes nothing', async () => {
    const before = await sql()`select count(*)::int as n from console.staff`;
    const response = await postForm(cookies.get('support_lead')!, '/admin/staff/new', {
      email: 'sneaky@staff.test',
      displayName: 'Sneaky',
      password: 'a-long-enough-password',
      roles: 'admin',
    });
    expect(response.status).toBe(403);
    const after = await sql()`select count(*)::int as n from console.staff`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe('permissions are read from the database on every request', () => {
  it('removing a role permission denies its holder at the very next request', async () => {
    const admin = cookies.get('admin')!;
    expect((await fetchAs(admin, '/admin/staff')).status).toBe(200);
    await sql()`delete from console.role_permissions
                where role_code = 'admin' and permission_code = 'staff:manage'`;
    try {
      const response = await fetchAs(admin, '/admin/staff');
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('staff:manage');
      expect((await postForm(admin, '/admin/staff/new', {})).status).toBe(403);
    } finally {
      await sql()`insert into console.role_permissions (role_code, permission_code)
                  values ('admin', 'staff:manage') on conflict do nothing`;
    }
    expect((await fetchAs(admin, '/admin/staff')).status).toBe(200);
  });

  it('adding a role permission allows its holders at the very next request', async () => {
    // An agent with a second factor: staff:manage needs one (ADR 035), so the factorless agent
    // is held to /account/security at the same next request.
    const withFactor = await createStaffWithRoles(['support_agent'], { secondFactor: true });
    const agent = await signInAs(server.baseUrl, withFactor.email, withFactor.password);
    const factorless = cookies.get('support_agent')!;
    expect((await fetchAs(agent, '/admin/staff')).status).toBe(403);
    await sql()`insert into console.role_permissions (role_code, permission_code)
                values ('support_agent', 'staff:manage')`;
    try {
      expect((await fetchAs(agent, '/admin/staff')).status).toBe(200);
      const held = await fetchAs(factorless, '/admin/staff');
      expect([held.status, held.headers.get('location')]).toEqual([302, '/account/security']);
    } finally {
      await sql()`delete from console.role_permissions
                  where role_code = 'support_agent' and permission_code = 'staff:manage'`;
    }
    expect((await fetchAs(agent, '/admin/staff')).status).toBe(403);
    expect((await fetchAs(factorless, '/')).status).toBe(200);
  });

  it('roles are read at every request too', async () => {
    const withFactor = await createStaffWithRoles(['support_agent'], { secondFactor: true });
    const agentId = withFactor.id;
    const agent = await signInAs(server.baseUrl, withFactor.email, withFactor.password);
    await sql()`insert into console.staff_roles (staff_id, role_code, granted_at)
                values (${agentId}, 'admin', now())`;
    try {
      expect((await fetchAs(agent, '/admin/staff')).status).toBe(200);
    } finally {
      await sql()`delete from console.staff_roles where staff_id = ${agentId} and role_code = 'admin'`;
    }
    expect((await fetchAs(agent, '/admin/staff')).status).toBe(403);
  });
});
