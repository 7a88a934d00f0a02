import type postgres from 'postgres';
import { setClock } from '#app/modules/clock.server.ts';
import {
  checkSecondFactor,
  regenerateRecoveryCodes,
  totpCode,
} from '#app/modules/auth/factors.server.ts';
import {
  changeStaffRoles,
  pendingRoleRequestOf,
} from '#app/modules/access/role-requests.server.ts';
import { createRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { lastSeq, readAudit, type LoggedEntry } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  actorOf,
  createStaffWithRoles,
  fetchAs,
  pageText,
  pendingCookieOf,
  postForm,
  sessionCookieOf,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { ownerConnection, seedUsers } from './users-fixtures.ts';

// Issue 16 / ADR 035: authenticator-app codes (TOTP) and recovery codes, the two-step sign-in,
// the session held to enrolment, and step-up for the riskiest actions. Time is the injected
// clock, which the server shares, so codes are computed for the time the server reads.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let userIds: string[];
let clockAt = Date.parse('2026-05-04T10:00:07Z');
let restoreClock: () => void;

const STEP = 30_000;
const tick = (ms: number) => {
  clockAt += ms;
};

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  await seedUsers();
  owner = ownerConnection();
  userIds = (
    await owner<{ id: string }[]>`select id from product.users order by created_at, id`
  ).map((r) => r.id);
  server = await startTestServer();
});
afterAll(async () => {
  restoreClock?.();
  await owner?.end();
  await server?.close();
});

// Each test starts with no failed attempts counted against the loopback address (the throttle
// is tested on its own above).
beforeEach(async () => {
  await owner`delete from console.sign_in_throttle`;
});

const actions = (entries: LoggedEntry[]) => entries.map((e) => `${e.action}:${e.outcome}`);

/** The password step alone: the answer and the pending sign-in's cookie. */
async function passwordStep(who: TestStaff, redirectTo?: string) {
  const response = await postForm(null, '/login', {
    email: who.email,
    password: who.password,
    ...(redirectTo ? { redirectTo } : {}),
  });
  return { response, pending: pendingCookieOf(response) };
}

const secondStep = (pending: string, code: string) =>
  postForm(pending, '/login/second-factor', { code });

describe('the two-step sign-in', () => {
  it('a right password answers 303 to the second step, with a short-lived cookie and no session', async () => {
    const lead = await createStaffWithRoles(['support_lead']);
    const { response, pending } = await passwordStep(lead, '/grants?view=history');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login/second-factor');
    expect(sessionCookieOf(response)).toBeUndefined();
    const line = response.headers.getSetCookie().find((l) => l.startsWith('custodian_pending='))!;
    expect(line).toContain('HttpOnly');
    expect(line).toContain('Max-Age=300');
    expect(line).toContain('Path=/login');
    // Kept in the database, only hashed; the page asks for the code and names the methods.
    const [row] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.pending_sign_ins where staff_id = ${lead.id}`;
    expect(row!.n).toBe(1);
    const page = await pageText(await fetchAs(pending!, '/login/second-factor'));
    expect(page).toContain('A code from your authenticator app');
    expect(page).toContain('A recovery code');
    expect(page).toContain('Your password was right.');

    // Nothing opens with the pending cookie alone.
    expect((await fetchAs(pending!, '/grants')).status).toBe(302);

    const done = await secondStep(pending!, totpCode(lead.totpSecret!));
    expect(done.status).toBe(303);
    // redirectTo travelled in the pending state.
    expect(done.headers.get('location')).toBe('/grants?view=history');
    const session = sessionCookieOf(done)!;
    expect((await fetchAs(session, '/grants')).status).toBe(200);
    // The pending sign-in is used once: its cookie leads back to the first step.
    const again = await secondStep(pending!, totpCode(lead.totpSecret!));
    expect([again.status, again.headers.get('location')]).toEqual([302, '/login']);
    expect(sessionCookieOf(again)).toBeUndefined();
  });

  it('a wrong code is refused and recorded; nothing opens', async () => {
    const auditor = await createStaffWithRoles(['security_auditor']);
    const { pending } = await passwordStep(auditor);
    const before = await lastSeq();
    const wrong = await secondStep(pending!, '000000');
    expect(wrong.status).toBe(401);
    expect(sessionCookieOf(wrong)).toBeUndefined();
    expect(await pageText(wrong)).toContain('That code is not right');
    const bad = await secondStep(pending!, '');
    expect(bad.status).toBe(400);
    expect(await pageText(bad)).toContain('Enter the code');
    const entries = await readAudit(before);
    expect(actions(entries)).toEqual(['auth.second_factor:denied']);
    expect(entries[0]!.details).toEqual({ purpose: 'sign_in', reason: 'wrong_code' });
    expect(entries[0]!.subjectStaffId).toBe(auditor.id);
    // The right code still works after a failure.
    const ok = await secondStep(pending!, totpCode(auditor.totpSecret!));
    expect(ok.status).toBe(303);
    const signedIn = await readAudit(before);
    expect(signedIn.at(-1)).toMatchObject({
      action: 'auth.sign_in',
      outcome: 'allowed',
      details: { factor: 'totp' },
    });
  });

  it('the pending sign-in lives 5 minutes', async () => {
    const officer = await createStaffWithRoles(['privacy_officer']);
    const { pending } = await passwordStep(officer);
    tick(5 * 60_000 + 1_000);
    const late = await secondStep(pending!, totpCode(officer.totpSecret!));
    expect([late.status, late.headers.get('location')]).toEqual([302, '/login']);
    expect(sessionCookieOf(late)).toBeUndefined();
    const [row] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.pending_sign_ins where staff_id = ${officer.id}`;
    expect(row!.n).toBe(0);
  });

  it('is throttled like passwords: the 4th wrong code waits', async () => {
    const admin = await createStaffWithRoles(['admin']);
    const { pending } = await passwordStep(admin);
    for (let i = 0; i < 3; i++) expect((await secondStep(pending!, '111111')).status).toBe(401);
    const blocked = await secondStep(pending!, totpCode(admin.totpSecret!));
    expect(blocked.status).toBe(429);
    expect(sessionCookieOf(blocked)).toBeUndefined();
    tick(2_000);
    expect((await secondStep(pending!, totpCode(admin.totpSecret!))).status).toBe(303);
  });

  it('an account without a factor signs in with its password alone', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const response = await postForm(null, '/login', {
      email: agent.email,
      password: agent.password,
    });
    expect(response.status).toBe(302);
    expect(sessionCookieOf(response)).toBeDefined();
  });
});

describe('authenticator codes (RFC 6238) with the injected clock', () => {
  it('accepts the previous window, refuses a reused or older code and one two windows old', async () => {
    const lead = await createStaffWithRoles(['support_lead']);
    const secret = lead.totpSecret!;
    const previous = totpCode(secret, new Date(clockAt - STEP));
    const older = totpCode(secret, new Date(clockAt - 2 * STEP));
    const current = totpCode(secret);
    // Two windows old: refused (unless it happens to equal a valid one, one in a million).
    if (older !== previous && older !== current) {
      expect(await checkSecondFactor(lead.id, older)).toEqual({ ok: false, reason: 'wrong_code' });
    }
    expect(await checkSecondFactor(lead.id, previous)).toEqual({ ok: true, method: 'totp' });
    // The same code again: refused.
    expect(await checkSecondFactor(lead.id, previous)).toEqual({
      ok: false,
      reason: 'reused_code',
    });
    expect(await checkSecondFactor(lead.id, current)).toEqual({ ok: true, method: 'totp' });
    // Once the current window's code is used, the previous window's is older: refused.
    tick(STEP);
    expect(await checkSecondFactor(lead.id, current)).toEqual({ ok: false, reason: 'reused_code' });
    expect(await checkSecondFactor(lead.id, totpCode(secret))).toEqual({
      ok: true,
      method: 'totp',
    });
  });

  it('the same code sent twice at once is accepted once', async () => {
    const lead = await createStaffWithRoles(['support_lead']);
    tick(STEP);
    const code = totpCode(lead.totpSecret!);
    const results = await Promise.all([
      checkSecondFactor(lead.id, code),
      checkSecondFactor(lead.id, code),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it('matches RFC 6238 test vector (SHA-1, T = 59 s → 94287082, 6 digits 287082)', () => {
    // The RFC's SHA-1 seed "12345678901234567890" in base32.
    expect(totpCode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', new Date(59_000))).toBe('287082');
    expect(totpCode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', new Date(1_111_111_109_000))).toBe(
      '081804',
    );
  });

  it('the secret is stored sealed, never as text', async () => {
    const lead = await createStaffWithRoles(['support_lead']);
    const [row] = await owner<{ sealed: Buffer; key: string }[]>`
      select secret_sealed as sealed, master_key_id as key from console.staff_factors
       where staff_id = ${lead.id}`;
    const raw = Buffer.from((await import('otpauth')).Secret.fromBase32(lead.totpSecret!).buffer);
    expect(row!.sealed.includes(raw)).toBe(false);
    expect(row!.sealed.toString('latin1')).not.toContain(lead.totpSecret!);
    expect(row!.key).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('recovery codes', () => {
  it('sign in once each, then are refused', async () => {
    const officer = await createStaffWithRoles(['privacy_officer']);
    const codes = (await regenerateRecoveryCodes(await actorOf(officer)))!;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const [stored] = await owner<{ hash: string }[]>`
      select code_hash as hash from console.recovery_codes where staff_id = ${officer.id} limit 1`;
    expect(stored!.hash).toMatch(/^\$argon2id\$/);

    const first = await passwordStep(officer);
    // Typed in upper case without the dash: the same code.
    const ok = await secondStep(first.pending!, codes[0]!.toUpperCase().replace('-', ''));
    expect(ok.status).toBe(303);
    const entries = await readAudit((await lastSeq()) - 1);
    expect(entries.at(-1)).toMatchObject({
      action: 'auth.sign_in',
      details: { factor: 'recovery_code' },
    });

    const second = await passwordStep(officer);
    const refused = await secondStep(second.pending!, codes[0]!);
    expect(refused.status).toBe(401);
    expect((await secondStep(second.pending!, codes[1]!)).status).toBe(303);
    const [left] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.recovery_codes
       where staff_id = ${officer.id} and used_at is null`;
    expect(left!.n).toBe(8);
  });
});

describe('/account/security: enrolment, removal, new recovery codes', () => {
  it('an agent enrols an app from the QR code or the secret, confirmed by a code, and gets ten recovery codes', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, agent.email, agent.password);
    const page = await pageText(await fetchAs(cookie, '/account/security'));
    expect(page).toContain('A second factor is optional for your account');
    expect(page).toContain('No authenticator app is enrolled.');

    expect((await postForm(cookie, '/account/security', { intent: 'start-totp' })).status).toBe(
      200,
    );
    const pending = await pageText(await fetchAs(cookie, '/account/security'));
    expect(pending).toContain('src="data:image/png;base64,');
    const secret = /data-testid="totp-secret">([A-Z2-7]+)</.exec(pending)![1]!;

    const wrong = await postForm(cookie, '/account/security', {
      intent: 'confirm-totp',
      code: '12345',
    });
    expect(wrong.status).toBe(400);
    expect(await pageText(wrong)).toContain('Enter the six digits');
    const before = await lastSeq();
    const confirmed = await postForm(cookie, '/account/security', {
      intent: 'confirm-totp',
      code: totpCode(secret),
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('cache-control')).toBe('no-store');
    const html = await pageText(confirmed);
    const codes = [...html.matchAll(/<li><code>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g)];
    expect(codes).toHaveLength(10);
    const entries = await readAudit(before);
    expect(actions(entries)).toEqual(['auth.factor_enrol:allowed']);
    expect(entries[0]!.details).toEqual({ kind: 'totp', recoveryCodes: 10 });
    expect(entries[0]!.raw).not.toContain(secret);

    // From now on the agent's sign-in has two steps.
    tick(STEP);
    const next = await postForm(null, '/login', { email: agent.email, password: agent.password });
    expect(next.status).toBe(303);
  });

  it('removing a factor and making new codes need a fresh factor; both are recorded', async () => {
    const lead = await createStaffWithRoles(['support_lead']);
    tick(STEP);
    const cookie = await signInAs(server.baseUrl, lead.email, lead.password);
    const [factor] = await owner<{ id: string }[]>`
      select id from console.staff_factors where staff_id = ${lead.id}`;
    const before = await lastSeq();
    const fresh = await postForm(cookie, '/account/security', { intent: 'recovery-codes' });
    expect(fresh.status).toBe(200);
    tick(6 * 60_000);
    const stale = await postForm(cookie, '/account/security', {
      intent: 'remove',
      factorId: factor!.id,
    });
    expect(stale.status).toBe(403);
    expect(await pageText(stale)).toContain('data-refusal="step-up"');
    expect(
      (await postForm(cookie, '/account/verify', { code: totpCode(lead.totpSecret!) })).status,
    ).toBe(303);
    // A lead's roles need a factor: the last one stays (ADR 038), and the refusal is recorded.
    const removed = await postForm(cookie, '/account/security', {
      intent: 'remove',
      factorId: factor!.id,
    });
    expect(removed.status).toBe(400);
    expect(await pageText(removed)).toContain('this is your last one');
    expect(actions(await readAudit(before))).toEqual([
      'auth.recovery_codes:allowed',
      'auth.step_up:denied',
      'auth.step_up:allowed',
      'auth.factor_remove:denied',
    ]);
    expect((await fetchAs(cookie, '/grants')).status).toBe(200);
  });

  it('an account whose roles need no factor may remove its last one; its recovery codes go too', async () => {
    const agent = await createStaffWithRoles(['support_agent'], { secondFactor: true });
    tick(STEP);
    const cookie = await signInAs(server.baseUrl, agent.email, agent.password);
    await regenerateRecoveryCodes(await actorOf(agent));
    const [factor] = await owner<{ id: string }[]>`
      select id from console.staff_factors where staff_id = ${agent.id}`;
    const removed = await postForm(cookie, '/account/security', {
      intent: 'remove',
      factorId: factor!.id,
    });
    expect(removed.status).toBe(200);
    const [codes] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.recovery_codes where staff_id = ${agent.id}`;
    expect(codes!.n).toBe(0);
    expect((await fetchAs(cookie, '/grants')).status).toBe(200);
  });
});

describe('an account that must have a factor and has none', () => {
  it('gets a session that opens /account/security and sign-out only, until it enrols', async () => {
    const lead = await createStaffWithRoles(['support_lead'], { secondFactor: false });
    const cookie = await signInAs(server.baseUrl, lead.email, lead.password);
    for (const path of ['/', '/grants', '/users', '/analytics', '/account/password']) {
      const response = await fetchAs(cookie, path);
      expect([path, response.status, response.headers.get('location')]).toEqual([
        path,
        302,
        '/account/security',
      ]);
    }
    const page = await pageText(await fetchAs(cookie, '/account/security'));
    expect(page).toContain('Your roles need a second factor');
    await postForm(cookie, '/account/security', { intent: 'start-totp' });
    const pending = await pageText(await fetchAs(cookie, '/account/security'));
    const secret = /data-testid="totp-secret">([A-Z2-7]+)</.exec(pending)![1]!;
    const done = await postForm(cookie, '/account/security', {
      intent: 'confirm-totp',
      code: totpCode(secret),
    });
    expect(done.status).toBe(200);
    // The same session opens the console now.
    expect((await fetchAs(cookie, '/grants')).status).toBe(200);
    // Sign-out opened all along.
    expect((await postForm(cookie, '/logout')).status).toBe(302);
  });

  it('an admin can require a factor of an account whose roles do not', async () => {
    const admin = await createStaffWithRoles(['admin']);
    const agent = await createStaffWithRoles(['support_agent']);
    tick(STEP);
    const adminCookie = await signInAs(server.baseUrl, admin.email, admin.password);
    const agentCookie = await signInAs(server.baseUrl, agent.email, agent.password);
    expect((await fetchAs(agentCookie, '/grants')).status).toBe(200);
    const before = await lastSeq();
    const bad = await postForm(adminCookie, `/admin/staff/${agent.id}`, {
      intent: 'second-factor',
      required: 'maybe',
    });
    expect(bad.status).toBe(400);
    const set = await postForm(adminCookie, `/admin/staff/${agent.id}`, {
      intent: 'second-factor',
      required: 'on',
    });
    expect(set.status).toBe(200);
    const entries = await readAudit(before);
    expect(entries.map((e) => [e.action, e.subjectStaffId, e.details])).toEqual([
      ['staff.second_factor_required', agent.id, { required: true }],
    ]);
    const held = await fetchAs(agentCookie, '/grants');
    expect([held.status, held.headers.get('location')]).toEqual([302, '/account/security']);
  });
});

describe('step-up: each risky action asks for the second factor again after 5 minutes', () => {
  const STALE = 6 * 60_000;

  /** The action refused with the step-up page and recorded, then allowed after /account/verify. */
  async function refusedThenAllowed(
    who: TestStaff,
    cookie: string,
    action: string,
    act: () => Promise<Response>,
  ): Promise<Response> {
    tick(STALE);
    const before = await lastSeq();
    const refused = await act();
    expect(refused.status).toBe(403);
    const body = await pageText(refused);
    // A page shows the step-up refusal; a download (a resource route) answers it in JSON.
    expect(
      body.includes('Confirm with your authenticator app') || body.includes('"kind":"step-up"'),
    ).toBe(true);
    const entries = await readAudit(before);
    expect(entries.map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['auth.step_up', 'denied', { for: action, reason: 'stale_factor' }],
    ]);
    // A wrong code does not count.
    expect((await postForm(cookie, '/account/verify', { code: '000000' })).status).toBe(401);
    const verified = await postForm(cookie, '/account/verify', {
      code: totpCode(who.totpSecret!),
      redirectTo: '/somewhere?x=1',
    });
    expect(verified.status).toBe(303);
    expect(verified.headers.get('location')).toBe('/somewhere?x=1');
    return act();
  }

  async function signedIn(role: Parameters<typeof createStaffWithRoles>[0][number]) {
    const who = await createStaffWithRoles([role]);
    tick(STEP);
    return { who, cookie: await signInAs(server.baseUrl, who.email, who.password) };
  }

  let nextUser = 0;
  const freshUser = () => userIds[nextUser++ % userIds.length]!;

  it('approving a grant', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const agentCookie = await signInAs(server.baseUrl, agent.email, agent.password);
    const requested = await postForm(agentCookie, '/grants/new', {
      userId: freshUser(),
      categories: ['profile'],
      reasonCode: 'security_investigation',
      justification: 'The customer asked why their plan changed last week',
      ticketRef: 'SUP-1042',
      durationMinutes: '30',
      startsAt: '',
    });
    const grantId = /\/grants\/([0-9a-f-]{36})/.exec(requested.headers.get('location') ?? '')![1]!;
    const { who, cookie } = await signedIn('support_lead');
    const status = async () =>
      (
        await owner<{ status: string }[]>`select status from console.grants where id = ${grantId}`
      )[0]!.status;
    const ok = await refusedThenAllowed(who, cookie, 'grant.approve', async () => {
      const response = await postForm(cookie, `/grants/${grantId}`, {
        intent: 'approve',
        comment: 'Matches the ticket',
      });
      if (response.status === 403) expect(await status()).toBe('pending');
      return response;
    });
    expect(ok.status).toBe(200);
    expect(await status()).not.toBe('pending');
  });

  it('breaking glass', async () => {
    const { who, cookie } = await signedIn('security_auditor');
    const count = async () =>
      (
        await owner<{ n: number }[]>`select count(*)::int as n from console.grants
        where requester_id = ${who.id}`
      )[0]!.n;
    const ok = await refusedThenAllowed(who, cookie, 'grant.break_glass', async () => {
      const response = await postForm(cookie, '/grants/break-glass', {
        userId: freshUser(),
        categories: ['payments'],
        reasonCode: 'security_investigation',
        justification: 'Card testing attack in progress on this account right now',
        ticketRef: '',
        durationMinutes: '',
      });
      if (response.status === 403) expect(await count()).toBe(0);
      return response;
    });
    expect(ok.status).toBe(302);
    expect(await count()).toBe(1);
  });

  it('approving an erasure (a privacy proposal)', async () => {
    const proposer = await createStaffWithRoles(['privacy_officer']);
    const me = await staffActor(proposer.id);
    const { id } = await createRequest(
      { userId: freshUser(), type: 'erasure', channel: 'email' },
      me,
    );
    await moveRequest(id, { kind: 'verify', evidence: 'Signed-in confirmation, PRIV-1' }, me);
    await moveRequest(id, { kind: 'propose', proposal: 'erasure', note: 'No hold' }, me);
    const { who, cookie } = await signedIn('privacy_officer');
    const state = async () =>
      (
        await owner<{ state: string }[]>`select state from console.privacy_requests
        where id = ${id}`
      )[0]!.state;
    const ok = await refusedThenAllowed(who, cookie, 'privacy.approve', async () => {
      const response = await postForm(cookie, `/privacy/${id}`, { intent: 'approve' });
      if (response.status === 403) expect(await state()).toBe('awaiting_approval');
      return response;
    });
    expect(ok.status).toBe(200);
    expect(await state()).toBe('approved');
  });

  it('approving a role change', async () => {
    const asker = await createStaffWithRoles(['admin']);
    const target = await createStaffWithRoles([]);
    await changeStaffRoles(target.id, ['security_auditor'], await actorOf(asker));
    const request = await pendingRoleRequestOf(target.id);
    const { who, cookie } = await signedIn('admin');
    const roles = async () =>
      (
        await owner<{ role_code: string }[]>`select role_code from console.staff_roles
        where staff_id = ${target.id}`
      ).map((r) => r.role_code);
    const ok = await refusedThenAllowed(who, cookie, 'staff.role_approve', async () => {
      const response = await postForm(cookie, '/admin/staff/requests', {
        request: request!.id,
        intent: 'approve',
      });
      if (response.status === 403) expect(await roles()).toEqual([]);
      return response;
    });
    expect(ok.status).toBe(200);
    expect(await roles()).toEqual(['security_auditor']);
  });

  it('changing policies', async () => {
    const { who, cookie } = await signedIn('admin');
    const policy = async () =>
      (
        await owner<{ n: number }[]>`select max_duration_minutes as n from console.grant_policies
        where category = 'preferences'`
      )[0]!.n;
    const was = await policy();
    const ok = await refusedThenAllowed(who, cookie, 'policy.change', async () => {
      const response = await postForm(cookie, '/admin/policies', {
        category: 'preferences',
        maxDurationMinutes: String(was === 45 ? 40 : 45),
        approvalsNeeded: '1',
        approverPermission: 'grants:approve',
      });
      if (response.status === 403) expect(await policy()).toBe(was);
      return response;
    });
    expect(ok.status).toBe(200);
    expect(await policy()).not.toBe(was);
  });

  it('exporting the audit trail', async () => {
    const { who, cookie } = await signedIn('security_auditor');
    const ok = await refusedThenAllowed(who, cookie, 'audit.export', async () => {
      const response = await fetchAs(cookie, '/audit/csv');
      return response;
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/csv');
  });

  it('within 5 minutes of the sign-in the action needs nothing more', async () => {
    const { cookie } = await signedIn('security_auditor');
    tick(4 * 60_000);
    const response = await fetchAs(cookie, '/audit/csv');
    expect(response.status).toBe(200);
  });
});
