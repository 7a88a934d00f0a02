import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { lastSeq, readAudit, type LoggedEntry } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  pageText,
  pendingCookieOf,
  postForm,
  secondFactorCode,
  sessionCookieOf,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import {
  CookieJar,
  signJwt,
  startIdentityProvider,
  type TestIdentityProvider,
} from '../support/identity-provider.ts';
import { ownerConnection } from './users-fixtures.ts';

// Issue 16 / ADR 039: single sign-on against a real OpenID Connect provider (oidc-provider on
// 127.0.0.1, in this process), driven by HTTP as a browser would: the console's /login/sso, the
// provider's authorization endpoint and interaction, the console's callback. Groups map to roles
// at every sign-in; `amr` with multi-factor opens the session, without it the second factor is
// asked; back-channel logout ends the sessions.

useTestDatabase();
let server: TestServer;
let idp: TestIdentityProvider;
let owner: postgres.Sql;
let reviewerId: string;
let reviewer: TestStaff;

const ROLE_MAP = {
  'custodian-agents': ['support_agent'],
  'custodian-leads': ['support_lead'],
};

beforeAll(async () => {
  server = await startTestServer();
  const redirectUri = `${server.baseUrl}/auth/oidc/callback`;
  idp = await startIdentityProvider({
    redirectUri,
    backchannelLogoutUri: `${server.baseUrl}/auth/oidc/backchannel-logout`,
  });
  // Read by the server build at its first request (its configuration is cached from then on).
  Object.assign(process.env, {
    CUSTODIAN_OIDC_ISSUER: idp.issuer,
    CUSTODIAN_OIDC_CLIENT_ID: idp.clientId,
    CUSTODIAN_OIDC_CLIENT_SECRET: idp.clientSecret,
    CUSTODIAN_OIDC_REDIRECT_URI: redirectUri,
    CUSTODIAN_OIDC_ROLE_MAP: JSON.stringify(ROLE_MAP),
  });
  owner = ownerConnection();
  reviewer = await createStaffWithRoles(['security_auditor']);
  reviewerId = reviewer.id;
});
afterAll(async () => {
  await owner?.end();
  await server?.close();
  await idp?.close();
});

let people = 0;
/** A person at the provider, and (unless `account: false`) a console account with their email. */
async function person(groups: string[], opts: { account?: boolean; secondFactor?: boolean } = {}) {
  people += 1;
  const sub = `person-${people}-${Date.now()}`;
  const email = `sso-${people}-${Date.now()}@staff.test`;
  idp.people.set(sub, { sub, email, groups });
  const staff =
    opts.account === false
      ? null
      : await createStaffWithRoles([], { email, secondFactor: opts.secondFactor ?? false });
  return { sub, email, staffId: staff?.id ?? null };
}

/** Through /login/sso and the provider, as a browser: the callback URL and the flow's cookie. */
async function throughProvider(sub: string, amr: string[], redirectTo?: string) {
  idp.nextLogin = { sub, amr };
  const query = redirectTo ? `?redirectTo=${encodeURIComponent(redirectTo)}` : '';
  const start = await fetchAs(null, `/login/sso${query}`);
  expect(start.status).toBe(302);
  const ssoCookie = start.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith('custodian_sso='))!;
  expect(ssoCookie).toBeTruthy();
  let url = start.headers.get('location')!;
  expect(url.startsWith(`${idp.issuer}/`)).toBe(true);
  const jar = new CookieJar();
  for (let hops = 0; url.startsWith(idp.issuer); hops++) {
    if (hops > 10) throw new Error('The provider redirected too often');
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    jar.take(response);
    const location = response.headers.get('location');
    if (!location)
      throw new Error(`Provider: HTTP ${response.status} at ${url}: ${await response.text()}`);
    url = new URL(location, url).href;
  }
  return { ssoCookie, callback: url };
}

async function ssoSignIn(sub: string, amr: string[], redirectTo?: string) {
  const { ssoCookie, callback } = await throughProvider(sub, amr, redirectTo);
  return fetchAs(ssoCookie, callback);
}

async function rolesOf(staffId: string) {
  const rows = await owner<{ role_code: string }[]>`
    select role_code from console.staff_roles where staff_id = ${staffId} order by role_code`;
  return rows.map((r) => r.role_code);
}

const of = (entries: LoggedEntry[], action: string) => entries.filter((e) => e.action === action);

describe('single sign-on (ADR 039)', () => {
  test('the sign-in page offers single sign-on when it is configured', async () => {
    const text = await pageText(await fetchAs(null, '/login'));
    expect(text).toContain('Sign in with single sign-on');
  });

  test('a first sign-in links the account by verified email and gives the mapped roles', async () => {
    const p = await person(['custodian-agents', 'unrelated-group']);
    const before = await lastSeq();
    const response = await ssoSignIn(p.sub, ['pwd'], '/users');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/users');
    const cookie = sessionCookieOf(response)!;
    expect(cookie).toBeTruthy();
    expect(await rolesOf(p.staffId!)).toEqual(['support_agent']);
    const [linked] = await owner<{ idp_issuer: string; idp_subject: string }[]>`
      select idp_issuer, idp_subject from console.staff where id = ${p.staffId}`;
    expect(linked).toEqual({ idp_issuer: idp.issuer, idp_subject: p.sub });
    const [session] = await owner<{ idp_sid: string | null }[]>`
      select idp_sid from console.sessions where staff_id = ${p.staffId}`;
    expect(session!.idp_sid).toBeTruthy();
    expect((await fetchAs(cookie, '/users')).status).toBe(200);

    const entries = await readAudit(before);
    expect(of(entries, 'staff.roles_sync')).toMatchObject([
      {
        outcome: 'allowed',
        subjectStaffId: p.staffId,
        details: { before: [], after: ['support_agent'] },
      },
    ]);
    expect(of(entries, 'auth.sign_in')).toMatchObject([
      { outcome: 'allowed', subjectStaffId: p.staffId, details: { method: 'sso', linked: true } },
    ]);
    const alerts = await owner<{ recipient_id: string }[]>`
      select recipient_id from console.notifications
       where kind = 'staff.roles_synced' and subject_staff_id = ${p.staffId}`;
    expect(alerts.map((a) => a.recipient_id)).toContain(reviewerId);
    // The reviewer's way from the notification leads somewhere they may go: the trail's entry.
    const reviewerCookie = await signInAs(server.baseUrl, reviewer.email, reviewer.password);
    const notices = await (await fetchAs(reviewerCookie, '/notifications')).text();
    const link = /href="(\/audit\?action=staff\.roles_sync[^"]*)"/.exec(notices)?.[1];
    expect(link).toBe(`/audit?action=staff.roles_sync&amp;subject=${p.staffId}`);
    const trail = await fetchAs(reviewerCookie, link!.replaceAll('&amp;', '&'));
    expect(trail.status).toBe(200);
    expect(await trail.text()).toContain('staff.roles_sync');
  });

  test('changed groups change the roles at the next sign-in, audited', async () => {
    const p = await person(['custodian-agents'], { secondFactor: true });
    await ssoSignIn(p.sub, ['pwd', 'mfa']);
    expect(await rolesOf(p.staffId!)).toEqual(['support_agent']);
    idp.people.get(p.sub)!.groups = ['custodian-leads'];
    const before = await lastSeq();
    const response = await ssoSignIn(p.sub, ['pwd', 'mfa']);
    expect(response.status).toBe(303);
    expect(await rolesOf(p.staffId!)).toEqual(['support_lead']);
    expect(of(await readAudit(before), 'staff.roles_sync')).toMatchObject([
      { details: { before: ['support_agent'], after: ['support_lead'] } },
    ]);
    // The same groups again change nothing and record no change.
    const again = await lastSeq();
    await ssoSignIn(p.sub, ['pwd', 'mfa']);
    expect(of(await readAudit(again), 'staff.roles_sync')).toEqual([]);
  });

  test('no mapped group: no session, a clear page, roles removed, audited', async () => {
    const p = await person(['custodian-agents']);
    await ssoSignIn(p.sub, ['pwd']);
    idp.people.get(p.sub)!.groups = ['marketing'];
    const before = await lastSeq();
    const response = await ssoSignIn(p.sub, ['pwd']);
    expect(response.status).toBe(403);
    expect(sessionCookieOf(response)).toBeUndefined();
    expect(await pageText(response)).toContain('give you no Custodian role');
    expect(await rolesOf(p.staffId!)).toEqual([]);
    const entries = await readAudit(before);
    expect(of(entries, 'auth.sign_in')).toMatchObject([
      {
        outcome: 'denied',
        subjectStaffId: p.staffId,
        details: { method: 'sso', reason: 'sso_no_role' },
      },
    ]);
    expect(of(entries, 'staff.roles_sync')).toMatchObject([
      { details: { before: ['support_agent'], after: [] } },
    ]);
  });

  test('an unknown person gets no account; an unverified email matches nobody', async () => {
    const stranger = await person(['custodian-agents'], { account: false });
    const before = await lastSeq();
    const response = await ssoSignIn(stranger.sub, ['pwd', 'mfa']);
    expect(response.status).toBe(403);
    expect(await pageText(response)).toContain('no Custodian staff account');
    const [count] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.staff where lower(email) = ${stranger.email}`;
    expect(count!.n).toBe(0);

    const unverified = await person(['custodian-agents']);
    idp.people.get(unverified.sub)!.emailVerified = false;
    expect((await ssoSignIn(unverified.sub, ['pwd', 'mfa'])).status).toBe(403);
    expect(await rolesOf(unverified.staffId!)).toEqual([]);
    expect(
      of(await readAudit(before), 'auth.sign_in').map((e) => [e.outcome, e.details.reason]),
    ).toEqual([
      ['denied', 'sso_no_account'],
      ['denied', 'sso_email_unverified'],
    ]);
  });

  test('a person disabled at the provider, or in the console, is refused', async () => {
    const p = await person(['custodian-agents']);
    idp.people.get(p.sub)!.disabled = true;
    const before = await lastSeq();
    const refused = await ssoSignIn(p.sub, ['pwd', 'mfa']);
    expect(refused.status).toBe(403);
    expect(sessionCookieOf(refused)).toBeUndefined();
    idp.people.get(p.sub)!.disabled = false;
    await owner`update console.staff set status = 'disabled' where id = ${p.staffId}`;
    const disabled = await ssoSignIn(p.sub, ['pwd', 'mfa']);
    expect(disabled.status).toBe(403);
    expect(await pageText(disabled)).toContain('disabled');
    expect(
      of(await readAudit(before), 'auth.sign_in').map((e) => [e.outcome, e.details.reason]),
    ).toEqual([
      ['denied', 'sso_provider_error'],
      ['denied', 'sso_disabled'],
    ]);
  });

  test('amr with multi-factor opens the session: no second step, step-up fresh', async () => {
    const p = await person(['custodian-leads'], { secondFactor: true });
    const response = await ssoSignIn(p.sub, ['pwd', 'mfa']);
    expect(response.status).toBe(303);
    const cookie = sessionCookieOf(response)!;
    expect(cookie).toBeTruthy();
    // A lead must have a proved second factor; the provider's counts: not held to enrolment.
    const home = await fetchAs(cookie, '/grants');
    expect(home.status).toBe(200);
    const [row] = await owner<{ second_factor_at: Date | null }[]>`
      select second_factor_at from console.sessions where staff_id = ${p.staffId}`;
    expect(row!.second_factor_at).not.toBeNull();
  });

  test('amr without multi-factor: the console asks for its own second factor', async () => {
    const p = await person(['custodian-leads'], { secondFactor: true });
    const before = await lastSeq();
    const response = await ssoSignIn(p.sub, ['pwd'], '/grants');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login/second-factor');
    expect(sessionCookieOf(response)).toBeUndefined();
    const pending = pendingCookieOf(response)!;
    // The page says how the first step went: no password was typed.
    const page = await (await fetchAs(pending, '/login/second-factor')).text();
    expect(page).toContain('Your identity provider signed you in without a second factor.');
    expect(page).not.toContain('Your password was right');
    const done = await postForm(pending, '/login/second-factor', {
      code: await secondFactorCode(p.email),
    });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/grants');
    const cookie = sessionCookieOf(done)!;
    expect((await fetchAs(cookie, '/grants')).status).toBe(200);
    // The provider's session travelled through the second step, for back-channel logout.
    const [row] = await owner<{ idp_sid: string | null }[]>`
      select idp_sid from console.sessions where staff_id = ${p.staffId}`;
    expect(row!.idp_sid).toBeTruthy();
    expect(of(await readAudit(before), 'auth.sign_in')).toMatchObject([
      { outcome: 'allowed', details: { method: 'sso', factor: 'totp' } },
    ]);
  });

  test('a tampered state, nonce or issuer, or a missing or reused flow cookie, is refused', async () => {
    const p = await person(['custodian-agents']);
    const before = await lastSeq();

    const state = await throughProvider(p.sub, ['pwd', 'mfa']);
    const badState = new URL(state.callback);
    badState.searchParams.set('state', 'tampered-state');
    const r1 = await fetchAs(state.ssoCookie, badState.href);
    expect(r1.status).toBe(400);
    expect(sessionCookieOf(r1)).toBeUndefined();

    // The nonce kept for this flow no longer matches the one in the ID token.
    const nonce = await throughProvider(p.sub, ['pwd', 'mfa']);
    await owner`update console.sso_flows set nonce = 'tampered-nonce'`;
    const r2 = await fetchAs(nonce.ssoCookie, nonce.callback);
    expect(r2.status).toBe(400);
    expect(sessionCookieOf(r2)).toBeUndefined();

    const issuer = await throughProvider(p.sub, ['pwd', 'mfa']);
    const badIssuer = new URL(issuer.callback);
    badIssuer.searchParams.set('iss', 'http://127.0.0.1:1/evil');
    const r3 = await fetchAs(issuer.ssoCookie, badIssuer.href);
    expect(r3.status).toBe(400);

    const noCookie = await throughProvider(p.sub, ['pwd', 'mfa']);
    const r4 = await fetchAs(null, noCookie.callback);
    expect(r4.status).toBe(400);
    expect(await pageText(r4)).toContain('could not be checked');

    // The flow is used once: the right answer replayed finds nothing.
    const good = await throughProvider(p.sub, ['pwd', 'mfa']);
    expect((await fetchAs(good.ssoCookie, good.callback)).status).toBe(303);
    expect((await fetchAs(good.ssoCookie, good.callback)).status).toBe(400);

    const denied = of(await readAudit(before), 'auth.sign_in').filter(
      (e) => e.outcome === 'denied',
    );
    expect(denied.map((e) => e.details.reason)).toEqual([
      'sso_invalid_response',
      'sso_invalid_response',
      'sso_invalid_response',
      'sso_invalid_response',
      'sso_invalid_response',
    ]);
  });

  test('back-channel logout ends the session; the next request goes to /login', async () => {
    const p = await person(['custodian-agents']);
    const cookie = sessionCookieOf(await ssoSignIn(p.sub, ['pwd', 'mfa']))!;
    expect((await fetchAs(cookie, '/users')).status).toBe(200);
    const [row] = await owner<{ idp_sid: string }[]>`
      select idp_sid from console.sessions where staff_id = ${p.staffId}`;
    const before = await lastSeq();
    await idp.backchannelLogout(p.sub, row!.idp_sid);
    const after = await fetchAs(cookie, '/users');
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toMatch(/^\/login\?redirectTo=/);
    expect(of(await readAudit(before), 'auth.sso_logout')).toMatchObject([
      { outcome: 'allowed', subjectStaffId: p.staffId, details: { by: 'sid', sessions: 1 } },
    ]);
  });

  /** A fresh logout token naming only the person (no provider session), signed by the provider. */
  const personLogoutToken = (sub: string) =>
    signJwt(
      {
        iss: idp.issuer,
        aud: idp.clientId,
        iat: Math.floor(Date.now() / 1000),
        jti: randomUUID(),
        sub,
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      },
      idp.signingKey,
    );
  const postLogout = (token: string) =>
    postForm(null, '/auth/oidc/backchannel-logout', { logout_token: token }, { origin: null });

  test('a logout token naming only the person ends all their sessions', async () => {
    const p = await person(['custodian-agents']);
    const one = sessionCookieOf(await ssoSignIn(p.sub, ['pwd', 'mfa']))!;
    const two = sessionCookieOf(await ssoSignIn(p.sub, ['pwd', 'mfa']))!;
    const token = personLogoutToken(p.sub);
    expect((await postLogout(token)).status).toBe(200);
    expect((await fetchAs(one, '/users')).status).toBe(302);
    expect((await fetchAs(two, '/users')).status).toBe(302);
  });

  test('a logout token is taken once: a replay is refused and ends no session opened since', async () => {
    const p = await person(['custodian-agents']);
    const first = sessionCookieOf(await ssoSignIn(p.sub, ['pwd', 'mfa']))!;
    const token = personLogoutToken(p.sub);
    expect((await postLogout(token)).status).toBe(200);
    expect((await fetchAs(first, '/users')).status).toBe(302);

    // Signed in again; the same token, posted again within its age, ends nothing.
    const again = sessionCookieOf(await ssoSignIn(p.sub, ['pwd', 'mfa']))!;
    const before = await lastSeq();
    const replay = await postLogout(token);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error_description: string }).error_description).toBe(
      'Invalid logout_token (replayed)',
    );
    expect((await fetchAs(again, '/users')).status).toBe(200);
    expect(of(await readAudit(before), 'auth.sso_logout')).toMatchObject([
      { outcome: 'denied', subjectStaffId: p.staffId, details: { reason: 'replayed' } },
    ]);
    // Remembered only while its iat would let it in: no longer than 11 minutes.
    const [kept] = await owner<{ seconds: number }[]>`
      select extract(epoch from expires_at - now())::int as seconds
      from console.sso_logout_tokens where issuer = ${idp.issuer}
      order by expires_at desc limit 1`;
    expect(kept!.seconds).toBeGreaterThan(0);
    expect(kept!.seconds).toBeLessThanOrEqual(11 * 60);
  });

  test('a bad logout token is answered 400 and ends nothing', async () => {
    const p = await person(['custodian-agents']);
    const cookie = sessionCookieOf(await ssoSignIn(p.sub, ['pwd', 'mfa']))!;
    const [row] = await owner<{ idp_sid: string }[]>`
      select idp_sid from console.sessions where staff_id = ${p.staffId}`;
    const good = {
      iss: idp.issuer,
      aud: idp.clientId,
      iat: Math.floor(Date.now() / 1000),
      jti: 'x',
      sub: p.sub,
      sid: row!.idp_sid,
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    };
    const { privateKey: otherKey } = await import('node:crypto').then((c) =>
      c.generateKeyPairSync('rsa', { modulusLength: 2048 }),
    );
    const stranger = { ...otherKey.export({ format: 'jwk' }), kid: 'test-key' };
    const withoutEvents: Record<string, unknown> = { ...good };
    delete withoutEvents.events;
    const withoutJti: Record<string, unknown> = { ...good };
    delete withoutJti.jti;
    const withoutSubOrSid: Record<string, unknown> = { ...good };
    delete withoutSubOrSid.sub;
    delete withoutSubOrSid.sid;
    const cases: [string, string][] = [
      ['another key', signJwt(good, stranger)],
      ['wrong issuer', signJwt({ ...good, iss: 'https://evil.example' }, idp.signingKey)],
      ['wrong audience', signJwt({ ...good, aud: 'someone-else' }, idp.signingKey)],
      ['old iat', signJwt({ ...good, iat: good.iat - 3600 }, idp.signingKey)],
      ['no events', signJwt(withoutEvents, idp.signingKey)],
      ['a nonce', signJwt({ ...good, nonce: 'n' }, idp.signingKey)],
      ['no sub or sid', signJwt(withoutSubOrSid, idp.signingKey)],
      ['no jti', signJwt(withoutJti, idp.signingKey)],
      ['a huge jti', signJwt({ ...good, jti: 'j'.repeat(257) }, idp.signingKey)],
      [
        'alg none',
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.c2ln`,
      ],
      ['not a JWT', 'garbage'],
    ];
    const before = await lastSeq();
    for (const [why, token] of cases) {
      const response = await postLogout(token);
      expect(response.status, why).toBe(400);
      expect(((await response.json()) as { error: string }).error, why).toBe('invalid_request');
    }
    expect(
      (await postForm(null, '/auth/oidc/backchannel-logout', {}, { origin: null })).status,
    ).toBe(400);
    expect((await fetchAs(cookie, '/users')).status).toBe(200);
    const denied = of(await readAudit(before), 'auth.sso_logout');
    expect(denied.map((e) => e.details.reason)).toEqual([
      'bad_signature',
      'wrong_issuer',
      'wrong_audience',
      'stale_iat',
      'no_logout_event',
      'nonce_present',
      'no_sub_or_sid',
      'no_jti',
      'no_jti',
      'bad_algorithm',
    ]);
  });
});
