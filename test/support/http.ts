import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServerBuild } from '@remix-run/node';
import { PENDING_COOKIE, SESSION_COOKIE } from '#app/modules/auth/session.server.ts';
import {
  DEFAULT_ROLE_PERMISSIONS,
  needsSecondFactor,
  type Role,
} from '#app/modules/auth/permissions.ts';
import {
  enrolTotpDirectly,
  regenerateRecoveryCodes,
  totpCode,
  totpStep,
} from '#app/modules/auth/factors.server.ts';
import { getSql } from '#app/db/client.server.ts';
import { createStaff } from '#app/modules/auth/staff.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { commandLine, job, type StaffActor } from '#app/modules/actor.ts';
import { createHttpApp, listen } from '#app/server/http.server.ts';
import { ensureFreshBuild } from './build.ts';

// The real HTTP stack for integration tests: the Remix server build (`npx remix build`) inside the
// express app of app/server/http.server.ts, listening on a free port of 127.0.0.1. Use it in a test
// file that has already called useTestDatabase(): the build shares the app's database client, key
// ring and clock through globalThis, so setClock() moves the server's time too.

const BUILD_PATH = path.resolve('build/index.js');
let buildPromise: Promise<ServerBuild> | undefined;

/**
 * The Remix server build, imported once per test file. The run's global setup has rebuilt it if
 * it was stale; a file edited since is rebuilt here, so no test runs an old build.
 */
export function loadServerBuild(): Promise<ServerBuild> {
  if (!buildPromise) {
    ensureFreshBuild();
    buildPromise = import(pathToFileURL(BUILD_PATH).href) as Promise<ServerBuild>;
  }
  return buildPromise;
}

export interface TestServer {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** What the app expects in the Origin header of a same-origin POST (https:// when secure). */
  origin: string;
  build: ServerBuild;
  close(): Promise<void>;
}

// Running servers, newest last: a bare path in fetchAs/postForm goes to the newest still running.
const running: string[] = [];

/** Builds the express app around the Remix build and listens on 127.0.0.1, on a free port. */
export async function startTestServer(options: { secure?: boolean } = {}): Promise<TestServer> {
  const build = await loadServerBuild();
  const secure = options.secure ?? false;
  const app = createHttpApp({ build, secure, publicDir: path.resolve('public') });
  const server = await listen(app, { host: '127.0.0.1', port: 0 });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  running.push(baseUrl);
  return {
    baseUrl,
    origin: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`,
    build,
    close: () => {
      running.splice(running.indexOf(baseUrl), 1);
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

export interface TestStaff {
  id: string;
  email: string;
  password: string;
  displayName: string;
  /** The base32 secret of its authenticator app, when it has one (ADR 035). */
  totpSecret?: string;
}

/**
 * The second factors of the accounts this test file made, by email: signInAs() answers the
 * sign-in's second step with them.
 */
const factorsByEmail = new Map<string, { id: string; secret: string; recovery: string[] }>();

/** Tells signInAs() the authenticator secret of an account made some other way. */
export function rememberTotp(who: { id: string; email: string }, secret: string) {
  factorsByEmail.set(who.email.trim().toLowerCase(), { id: who.id, secret, recovery: [] });
}

/** A staff account made through createStaff (the real code path); returns its password too. */
export async function createStaffWithRoles(
  roles: Role[],
  opts: {
    email?: string;
    displayName?: string;
    password?: string;
    mustChangePassword?: boolean;
    /**
     * Enrol an authenticator app (default: when the roles need a second factor, as every such
     * account must have one to open more than /account/security).
     */
    secondFactor?: boolean;
  } = {},
): Promise<TestStaff> {
  const tag = randomBytes(5).toString('hex');
  const email = opts.email ?? `${roles.join('-') || 'norole'}-${tag}@staff.test`;
  const password = opts.password ?? `pw-${tag}-${randomBytes(8).toString('hex')}`;
  const displayName = opts.displayName ?? `Test ${roles.join(' ') || 'no role'} ${tag}`;
  const { id } = await createStaff(
    { email, displayName, password, roles, mustChangePassword: opts.mustChangePassword ?? false },
    commandLine('test'),
  );
  const normal = email.trim().toLowerCase();
  const wantsFactor =
    opts.secondFactor ??
    needsSecondFactor(
      roles.flatMap((r) => DEFAULT_ROLE_PERMISSIONS[r]),
      false,
    );
  if (!wantsFactor) return { id, email: normal, password, displayName };
  const totpSecret = await enrolTotpDirectly(id, commandLine('test'));
  rememberTotp({ id, email: normal }, totpSecret);
  return { id, email: normal, password, displayName, totpSecret };
}

/**
 * Enrols an authenticator app through /account/security as its holder would (start, read the
 * secret shown, confirm with a code); signInAs() knows the secret afterwards. Returns it.
 */
export async function enrolTotpThroughPage(
  cookie: string,
  who: { id: string; email: string },
): Promise<string> {
  const started = await postForm(cookie, '/account/security', { intent: 'start-totp' });
  if (started.status !== 200) throw new Error(`Enrolment did not start: HTTP ${started.status}`);
  const page = await (await fetchAs(cookie, '/account/security')).text();
  const secret = /data-testid="totp-secret">([A-Z2-7]+)</.exec(page)?.[1];
  if (!secret) throw new Error('The enrolment page shows no secret');
  const confirmed = await postForm(cookie, '/account/security', {
    intent: 'confirm-totp',
    code: totpCode(secret),
  });
  if (confirmed.status !== 200) throw new Error(`Enrolment failed: HTTP ${confirmed.status}`);
  rememberTotp(who, secret);
  return secret;
}

/**
 * A code for the account's second step: its app's code now (the injected clock, which the server
 * shares), or, when this time step was already used (a frozen clock, two sign-ins in one
 * window), a recovery code, since the server rightly refuses a code twice.
 */
export async function secondFactorCode(email: string): Promise<string> {
  const factor = factorsByEmail.get(email.trim().toLowerCase());
  if (!factor) throw new Error(`No authenticator secret is known for ${email}`);
  const [row] = await getSql()<{ last: string | null }[]>`
    select max(last_used_step)::text as last from console.staff_factors
     where staff_id = ${factor.id} and confirmed_at is not null`;
  const last = row?.last === null || row?.last === undefined ? null : Number(row.last);
  if (last === null || totpStep() > last) return totpCode(factor.secret);
  if (factor.recovery.length === 0) {
    factor.recovery = (await regenerateRecoveryCodes(await actorOf({ id: factor.id }))) ?? [];
  }
  const code = factor.recovery.shift();
  if (!code) throw new Error(`No recovery code left for ${email}`);
  return code;
}

/** A made-up staff member (no account behind it), for entries a test writes straight to the trail. */
export function madeUpStaff(over: Partial<StaffActor> = {}): StaffActor {
  return {
    kind: 'staff',
    staffId: randomUUID(),
    email: 'made-up@staff.test',
    displayName: 'Made up',
    roles: ['support_agent'],
    permissions: new Set(),
    sessionId: null,
    client: { address: null, userAgent: null },
    mustChangePassword: false,
    ...over,
  };
}

/** Custodian itself, for entries a test writes directly (no staff member behind them). */
export const TEST_JOB = job('test');

/** The staff member as the Actor modules take, roles and permissions as held now (no session). */
export function actorOf(who: { id: string }): Promise<StaffActor> {
  return staffActor(who.id);
}

function resolveUrl(pathOrUrl: string, baseUrl = running[running.length - 1]) {
  if (/^https?:\/\//.test(pathOrUrl)) return pathOrUrl;
  if (!baseUrl) throw new Error('No test server is running: call startTestServer() first');
  return `${baseUrl}${pathOrUrl}`;
}

/**
 * fetch with the session cookie (`custodian_session=…`, or null for signed out) and redirects
 * left unfollowed. A bare path goes to the most recently started test server still running.
 */
export function fetchAs(cookie: string | null, pathOrUrl: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (cookie) headers.set('cookie', cookie);
  return fetch(resolveUrl(pathOrUrl), { ...init, headers, redirect: 'manual' });
}

/**
 * A form POST as a browser on the console's own page sends it: same-origin Origin header unless
 * `origin` says otherwise (null sends none). Repeated fields: pass an array.
 */
export function postForm(
  cookie: string | null,
  pathOrUrl: string,
  fields: Record<string, string | string[]> = {},
  opts: { origin?: string | null; headers?: Record<string, string> } = {},
) {
  const url = resolveUrl(pathOrUrl);
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  const headers: Record<string, string> = { ...opts.headers };
  const origin = opts.origin === undefined ? new URL(url).origin : opts.origin;
  if (origin !== null) headers.origin = origin;
  return fetchAs(cookie, url, { method: 'POST', body, headers });
}

/** The `name=value` pair of the session cookie set by a response, if any. */
export function sessionCookieOf(response: Response): string | undefined {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';')[0]!;
    if (pair.startsWith(`${SESSION_COOKIE}=`) && pair.length > SESSION_COOKIE.length + 1)
      return pair;
  }
  return undefined;
}

/** The `name=value` pair of the pending sign-in cookie set by a response, if any. */
export function pendingCookieOf(response: Response): string | undefined {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';')[0]!;
    if (pair.startsWith(`${PENDING_COOKIE}=`) && pair.length > PENDING_COOKIE.length + 1)
      return pair;
  }
  return undefined;
}

/** The raw token inside a `custodian_session=…` pair. */
export function tokenOf(cookie: string) {
  return cookie.slice(SESSION_COOKIE.length + 1);
}

/**
 * Signs in through a real POST /login (same-origin Origin header) and returns the session cookie
 * pair to send back; throws unless the sign-in succeeded.
 */
export async function signInAs(
  baseUrl: string,
  email: string,
  password: string,
  opts: { origin?: string; redirectTo?: string; cookie?: string } = {},
): Promise<string> {
  const fields: Record<string, string> = { email, password };
  if (opts.redirectTo !== undefined) fields.redirectTo = opts.redirectTo;
  let response = await postForm(opts.cookie ?? null, `${baseUrl}/login`, fields, {
    origin: opts.origin ?? baseUrl,
  });
  if (response.status === 303 && response.headers.get('location') === '/login/second-factor') {
    // The account has a second factor (ADR 035): the second step, as a browser would send it.
    const pending = pendingCookieOf(response);
    if (!pending) throw new Error(`Sign-in as ${email}: no pending sign-in cookie`);
    response = await postForm(
      pending,
      `${baseUrl}/login/second-factor`,
      { code: await secondFactorCode(email) },
      { origin: opts.origin ?? baseUrl },
    );
  }
  const cookie = sessionCookieOf(response);
  if (![302, 303].includes(response.status) || !cookie) {
    throw new Error(`Sign-in as ${email} failed: HTTP ${response.status} ${await response.text()}`);
  }
  return cookie;
}

/**
 * A request from a chosen local address (127.0.0.x), which the server sees as the client address;
 * fetch cannot pick its source address.
 */
export function requestFrom(
  localAddress: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: init.method ?? 'GET', headers: init.headers, localAddress, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The text of the page's alert (form-level error message), HTML entities decoded. */
export function alertText(html: string): string | undefined {
  const match = /<p class="form-error" role="alert"[^>]*>([\s\S]*?)<\/p>/.exec(html);
  return match ? htmlText(match[1]!) : undefined;
}

/** HTML as the text a test compares: entities decoded, React's text separators gone. */
export function htmlText(html: string) {
  return decodeEntities(html.replace(/<!-- -->/g, ''));
}

/** A response's page as text (see htmlText). */
export async function pageText(response: Response) {
  return htmlText(await response.text());
}

export function decodeEntities(text: string) {
  return text
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
