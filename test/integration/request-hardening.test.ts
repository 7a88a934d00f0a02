import type postgres from 'postgres';
import { flushAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import { inquiryFor, insertGrant, ownerConnection, seedUsers } from './users-fixtures.ts';

// Issue 11, "Sign-in, redirects, requests": malformed addresses and NUL characters answered 4xx
// instead of 500, no-store on every answer that shows personal data or the trail, and staff
// names isolated for bidirectional text like end users' text (ADR 020).

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let userId: string;
let conversationId: string;
let grantId: string;
let agent: string;
let lead: string;
let auditor: string;
let admin: string;

// A staff name that, rendered raw, turns the words after it around.
const TRICK_NAME = 'Mallory \u202Egnp.exe\u202C Smith';

beforeAll(async () => {
  await seedUsers();
  owner = ownerConnection();
  userId = (await owner<{ id: string }[]>`select id from product.users order by id limit 1`)[0]!.id;
  conversationId = (
    await owner<{ id: string }[]>`
      select id from product.conversations where user_id = ${userId} limit 1`
  )[0]!.id;
  server = await startTestServer();
  const tricky = await createStaffWithRoles(['support_agent'], { displayName: TRICK_NAME });
  const [a, l, s, m] = await Promise.all([
    createStaffWithRoles(['support_agent']),
    createStaffWithRoles(['support_lead']),
    createStaffWithRoles(['security_auditor']),
    createStaffWithRoles(['admin']),
  ]);
  agent = await signInAs(server.baseUrl, a.email, a.password);
  lead = await signInAs(server.baseUrl, l.email, l.password);
  auditor = await signInAs(server.baseUrl, s.email, s.password);
  admin = await signInAs(server.baseUrl, m.email, m.password);
  await insertGrant(owner, {
    staffId: a.id,
    userId,
    categories: ['profile', 'conversations'],
  });
  // The tricky name asks for a grant through the form: it shows on the grant pages, the
  // notifications, the audit trail and the security review.
  const trickyCookie = await signInAs(server.baseUrl, tricky.email, tricky.password);
  const requested = await postForm(trickyCookie, '/grants/new', {
    userId,
    categories: ['profile'],
    reasonCode: 'support_inquiry',
    inquiryId: await inquiryFor(tricky.id, userId),
    justification: 'The customer asked why their plan changed last week',
    ticketRef: 'SUP-2001',
    durationMinutes: '30',
    startsAt: '',
  });
  expect(requested.status).toBe(302);
  grantId = /\/grants\/([0-9a-f-]{36})/.exec(requested.headers.get('location') ?? '')![1]!;
  // A lookup by the tricky name, so it is an actor in the trail and in access histories.
  await fetchAs(trickyCookie, `/users?q=${userId}`);
  await flushAudit();
});

afterAll(async () => {
  await owner?.end();
  await server?.close();
});

describe('malformed addresses are answered 400, not 500', () => {
  it.each(['/%5C', '/%5C%5Cevil.example', '/%2F%2Fevil.example', '/%09', '/a%00b', '/%E2%80%AE'])(
    'GET %s, signed out and signed in',
    async (path) => {
      for (const cookie of [null, agent]) {
        const response = await fetchAs(cookie, path);
        expect(response.status, `${path} as ${cookie ? 'agent' : 'visitor'}`).toBe(400);
        expect(await response.text()).toMatch(/malformed/);
      }
    },
  );

  it('an ordinary unknown address is still a 404 page', async () => {
    expect((await fetchAs(null, '/no/such/page')).status).toBe(404);
  });
});

describe('a NUL character is bad input, named, never a 500', () => {
  it('in a search parameter: GET /admin/staff?q=%00', async () => {
    const response = await fetchAs(admin, '/admin/staff?q=%00');
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Invalid q: Must not contain a NUL character');
  });

  it('in the sign-in email', async () => {
    const response = await postForm(null, '/login', {
      email: 'agent\u0000@custodian.test',
      password: 'whatever-it-is',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Must not contain a NUL character');
  });

  it('in a grant justification', async () => {
    const response = await postForm(agent, '/grants/new?_data=routes%2Fgrants.new', {
      userId,
      categories: ['usage'],
      reasonCode: 'support_inquiry',
      justification: 'The customer asked \u0000 why their plan changed last week',
      ticketRef: 'SUP-2002',
      durationMinutes: '30',
      startsAt: '',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fieldErrors: Record<string, string> };
    expect(body.fieldErrors.justification).toBe('Must not contain a NUL character');
  });
});

describe('answers that show personal data or the trail are never stored', () => {
  const pages = () =>
    [
      ['/', agent],
      ['/login', null],
      ['/users', agent],
      [`/users?q=${userId}`, agent],
      [`/users/${userId}`, agent],
      [`/users/${userId}/profile`, agent],
      [`/users/${userId}/conversations`, agent],
      [`/users/${userId}/conversations/${conversationId}`, agent],
      [`/users/${userId}/profile?_data=${encodeURIComponent('routes/users.$id.$category')}`, agent],
      // The grant refusal (403) shows whose data was asked for.
      [`/users/${userId}/payments`, agent],
      ['/grants', agent],
      [`/grants/${grantId}`, lead],
      ['/notifications', lead],
      ['/audit', auditor],
      ['/audit/0', auditor],
      ['/audit/csv', auditor],
      ['/audit/verify', auditor],
      ['/security/access', auditor],
      ['/security/access/csv', auditor],
      ['/admin/staff', admin],
      ['/analytics', lead],
      ['/no/such/page', agent],
    ] as const;

  it('every page, download, data request and error of the list', async () => {
    const missing: string[] = [];
    for (const [path, cookie] of pages()) {
      const response = await fetchAs(cookie, path);
      await response.arrayBuffer();
      expect(response.status, path).toBeLessThan(500);
      if (response.headers.get('cache-control') !== 'no-store') {
        missing.push(`${path} (${response.status}): ${response.headers.get('cache-control')}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the answer of a reveal', async () => {
    const response = await postForm(
      agent,
      `/users/${userId}/profile?_data=${encodeURIComponent('routes/users.$id.$category')}`,
      { intent: 'reveal', field: 'email' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('static files keep their own caching', async () => {
    const page = await (await fetchAs(null, '/login')).text();
    const asset = /href="(\/build\/[^"]+\.css)"/.exec(page)![1]!;
    const response = await fetchAs(null, asset);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/max-age=31536000/);
  });
});

describe('staff names are isolated like end users’ text', () => {
  /** The page as rendered, without its scripts (the data for hydration holds the raw name). */
  async function rendered(cookie: string, path: string) {
    const response = await fetchAs(cookie, path);
    expect(response.status, path).toBe(200);
    return (await response.text())
      .replace(/<script[\s\S]*?<\/script>/g, '')
      .replace(/<!-- -->/g, '');
  }

  it.each([
    ['/grants', () => lead],
    ['/grants/:id', () => lead],
    ['/notifications', () => lead],
    ['/audit', () => auditor],
    ['/security/access', () => auditor],
    ['/admin/staff', () => admin],
    // Staff identities in a user's access history are for security:review holders (ADR 021).
    ['/users/:user', () => auditor],
  ])('on %s', async (path, cookie) => {
    const html = await rendered(cookie(), path.replace(':id', grantId).replace(':user', userId));
    expect(html).not.toContain('\u202E');
    expect(html).not.toContain('\u202C');
    expect(html).toMatch(
      /<bdi class="staff-name"[^>]*>Mallory <abbr[^>]*>\[RLO\]<\/abbr>gnp\.exe<abbr[^>]*>\[PDF\]<\/abbr> Smith<\/bdi>/,
    );
  });

  it('in the audit trail’s actor filter, where only text fits', async () => {
    const html = await rendered(auditor, '/audit');
    expect(html).toContain('\u2068Mallory [RLO]gnp.exe[PDF] Smith (');
  });
});
