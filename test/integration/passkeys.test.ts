import type postgres from 'postgres';
import { webauthnRelyingParty } from '#app/config.server.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { flushAudit, lastSeq, readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
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
import { SoftAuthenticator, type Where } from '../support/webauthn.ts';
import { ownerConnection } from './users-fixtures.ts';

// Issue 16 / ADR 038: passkeys and security keys through @simplewebauthn/server, checked against
// a software authenticator made here (an ES256 key pair, attestation `none`, assertions signed by
// hand): enrolment, the sign-in's second step, step-up, a wrong origin or relying party, a
// replayed challenge, a counter that goes back, and the last factor that cannot be removed.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let clockAt = Date.parse('2026-06-01T09:00:07Z');
let restoreClock: () => void;
const tick = (ms: number) => {
  clockAt += ms;
};
let here: Where;

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  owner = ownerConnection();
  server = await startTestServer();
  const rp = webauthnRelyingParty();
  here = { origin: rp.origin, rpId: rp.id };
});
afterAll(async () => {
  restoreClock?.();
  await owner?.end();
  await server?.close();
});
beforeEach(async () => {
  await owner`delete from console.sign_in_throttle`;
  tick(30_000);
});

/** A route's action answered as data (Remix's `_data`), for the options a page's script fetches. */
async function postData(
  cookie: string | null,
  path: string,
  route: string,
  fields: Record<string, string>,
) {
  const response = await postForm(cookie, `${path}?_data=${encodeURIComponent(route)}`, fields);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Options {
  challenge: string;
  allowCredentials?: { id: string }[];
  excludeCredentials?: { id: string }[];
  rp?: { id: string };
}

async function enrol(cookie: string, key: SoftAuthenticator, name = 'Work laptop', where = here) {
  const asked = await postData(cookie, '/account/security', 'routes/account.security', {
    intent: 'passkey-options',
    name,
  });
  expect(asked.status).toBe(200);
  const options = asked.body.passkeyOptions as Options;
  return postForm(cookie, '/account/security', {
    intent: 'passkey-register',
    name,
    response: JSON.stringify(key.register(options, where)),
  });
}

async function agentWithPasskey() {
  const agent = await createStaffWithRoles(['support_agent']);
  const cookie = await signInAs(server.baseUrl, agent.email, agent.password);
  const key = new SoftAuthenticator();
  expect((await enrol(cookie, key)).status).toBe(200);
  return { agent, cookie, key };
}

async function passwordStep(who: TestStaff) {
  const response = await postForm(null, '/login', { email: who.email, password: who.password });
  expect(response.status).toBe(303);
  return pendingCookieOf(response)!;
}

async function signInOptions(pending: string) {
  const asked = await postData(pending, '/login/second-factor', 'routes/login_.second-factor', {
    intent: 'passkey-options',
  });
  expect(asked.status).toBe(200);
  return asked.body.passkeyOptions as Options;
}

/** Whom the passkey-clone alerts a staff member received are about. */
async function cloneAlerts(recipientId: string) {
  const rows = await owner<{ subject_staff_id: string }[]>`
    select subject_staff_id from console.notifications
    where recipient_id = ${recipientId} and kind = 'staff.passkey_clone'`;
  return rows.map((r) => r.subject_staff_id);
}

const answer = (pending: string, response: unknown) =>
  postForm(pending, '/login/second-factor', {
    intent: 'passkey',
    response: JSON.stringify(response),
  });

describe('enrolling a passkey on /account/security', () => {
  it('keeps the credential (id, public key, counter, transports) under its name, audited, with recovery codes', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, agent.email, agent.password);
    const key = new SoftAuthenticator();
    const asked = await postData(cookie, '/account/security', 'routes/account.security', {
      intent: 'passkey-options',
      name: 'Blue security key',
    });
    const options = asked.body.passkeyOptions as Options & {
      user: { name: string };
      attestation: string;
    };
    expect(options.rp).toMatchObject({ id: here.rpId });
    expect(options.user.name).toBe(agent.email);
    expect(options.attestation).toBe('none');
    // Kept server-side, bound to this session, for 5 minutes.
    const [challenge] = await owner<{ purpose: string; ms: number }[]>`
      select purpose, extract(epoch from expires_at - created_at)::int * 1000 as ms
        from console.webauthn_challenges where staff_id = ${agent.id}`;
    expect(challenge).toEqual({ purpose: 'enrol', ms: 300_000 });

    const before = await lastSeq();
    const done = await postForm(cookie, '/account/security', {
      intent: 'passkey-register',
      name: 'Blue security key',
      response: JSON.stringify(key.register(options, here)),
    });
    expect(done.status).toBe(200);
    const html = await pageText(done);
    expect(html).toContain('Passkey added');
    expect([...html.matchAll(/<li><code>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g)]).toHaveLength(
      10,
    );
    const [row] = await owner<
      {
        id: string;
        name: string;
        credential_id: string;
        public_key: Buffer;
        sign_count: string;
        transports: string[];
        secret_sealed: Buffer | null;
      }[]
    >`select id, name, credential_id, public_key, sign_count, transports, secret_sealed
        from console.staff_factors where staff_id = ${agent.id} and kind = 'webauthn'`;
    expect(row).toMatchObject({
      name: 'Blue security key',
      credential_id: key.id,
      sign_count: '0',
      transports: ['internal'],
      secret_sealed: null,
    });
    expect(row!.public_key.length).toBeGreaterThan(60);
    const entries = await readAudit(before);
    expect(entries.map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['auth.factor_enrol', 'allowed', { kind: 'webauthn', recoveryCodes: 10, factor: row!.id }],
    ]);
    // The challenge was used up.
    const [left] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.webauthn_challenges where staff_id = ${agent.id}`;
    expect(left!.n).toBe(0);
    // The page lists it; the same key is not offered twice.
    const page = await pageText(await fetchAs(cookie, '/account/security'));
    expect(page).toContain('Blue security key');
    const again = await postData(cookie, '/account/security', 'routes/account.security', {
      intent: 'passkey-options',
      name: 'Again',
    });
    expect((again.body.passkeyOptions as Options).excludeCredentials).toEqual([
      expect.objectContaining({ id: key.id }),
    ]);
  });

  it('refuses an answer from another origin or for another relying party, and a name missing', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, agent.email, agent.password);
    const before = await lastSeq();
    const wrongOrigin = await enrol(cookie, new SoftAuthenticator(), 'Laptop', {
      ...here,
      origin: 'https://phish.example',
    });
    expect(wrongOrigin.status).toBe(400);
    expect(await pageText(wrongOrigin)).toContain('The passkey was not accepted');
    const wrongRp = await enrol(cookie, new SoftAuthenticator(), 'Laptop', {
      ...here,
      rpId: 'phish.example',
    });
    expect(wrongRp.status).toBe(400);
    const entries = await readAudit(before);
    expect(entries.map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['auth.second_factor', 'denied', { purpose: 'enrol', reason: 'wrong_origin' }],
      ['auth.second_factor', 'denied', { purpose: 'enrol', reason: 'wrong_rp_id' }],
    ]);
    const unnamed = await postData(cookie, '/account/security', 'routes/account.security', {
      intent: 'passkey-options',
      name: '  ',
    });
    expect(unnamed.status).toBe(400);
    expect((unnamed.body.fieldErrors as Record<string, string>).name).toContain('Name the passkey');
    const [n] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.staff_factors where staff_id = ${agent.id}`;
    expect(n!.n).toBe(0);
  });

  it('an answer sent without asking for a challenge first is refused', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, agent.email, agent.password);
    const key = new SoftAuthenticator();
    const response = await postForm(cookie, '/account/security', {
      intent: 'passkey-register',
      name: 'Laptop',
      response: JSON.stringify(key.register({ challenge: 'bWFkZS11cA' }, here)),
    });
    expect(response.status).toBe(400);
    expect(await pageText(response)).toContain('add it again');
  });
});

describe('signing in with a passkey', () => {
  it('answers the second step: the session opens, the sign-in is recorded with the method, the counter moves', async () => {
    const { agent, key } = await agentWithPasskey();
    const pending = await passwordStep(agent);
    const page = await pageText(await fetchAs(pending, '/login/second-factor'));
    expect(page).toContain('A passkey or security key you enrolled');
    const options = await signInOptions(pending);
    expect(options.allowCredentials).toEqual([expect.objectContaining({ id: key.id })]);
    const before = await lastSeq();
    const done = await answer(pending, key.assert(options, here));
    expect(done.status).toBe(303);
    const session = sessionCookieOf(done)!;
    expect((await fetchAs(session, '/grants')).status).toBe(200);
    const entries = await readAudit(before);
    expect(entries.at(-1)).toMatchObject({
      action: 'auth.sign_in',
      outcome: 'allowed',
      subjectStaffId: agent.id,
      details: { factor: 'webauthn' },
    });
    const [row] = await owner<{ sign_count: string }[]>`
      select sign_count from console.staff_factors where credential_id = ${key.id}`;
    expect(row!.sign_count).toBe('1');
  });

  it('refuses another origin, another relying party and an unknown credential, each recorded', async () => {
    const { agent, key } = await agentWithPasskey();
    const pending = await passwordStep(agent);
    const before = await lastSeq();
    for (const where of [
      { ...here, origin: 'https://phish.example' },
      { ...here, rpId: 'phish.example' },
    ]) {
      const refused = await answer(pending, key.assert(await signInOptions(pending), where));
      expect(refused.status).toBe(401);
      expect(sessionCookieOf(refused)).toBeUndefined();
      expect(await pageText(refused)).toContain('The passkey was not accepted');
    }
    const stranger = new SoftAuthenticator();
    expect(
      (await answer(pending, stranger.assert(await signInOptions(pending), here))).status,
    ).toBe(401);
    const [factor] = await owner<{ id: string }[]>`
      select id from console.staff_factors where credential_id = ${key.id}`;
    expect((await readAudit(before)).map((e) => [e.action, e.subjectStaffId, e.details])).toEqual([
      [
        'auth.second_factor',
        agent.id,
        { purpose: 'sign_in', reason: 'wrong_origin', factor: factor!.id },
      ],
      [
        'auth.second_factor',
        agent.id,
        { purpose: 'sign_in', reason: 'wrong_rp_id', factor: factor!.id },
      ],
      ['auth.second_factor', agent.id, { purpose: 'sign_in', reason: 'unknown_credential' }],
    ]);
    // The right answer still opens the session afterwards (once the throttle's wait is over).
    tick(2_000);
    expect((await answer(pending, key.assert(await signInOptions(pending), here))).status).toBe(
      303,
    );
  });

  it('a challenge is answered once: a replayed answer, or one to a used challenge, is refused', async () => {
    const { agent, key } = await agentWithPasskey();
    const pending = await passwordStep(agent);
    const options = await signInOptions(pending);
    const good = key.assert(options, here);
    // A tampered answer uses the challenge up…
    const tampered = {
      ...good,
      response: { ...good.response, signature: good.response.signature.replace(/^.{4}/, 'AAAA') },
    };
    expect((await answer(pending, tampered)).status).toBe(401);
    // …so the right answer to the same challenge comes too late.
    const before = await lastSeq();
    expect((await answer(pending, good)).status).toBe(401);
    expect((await readAudit(before)).map((e) => e.details)).toEqual([
      { purpose: 'sign_in', reason: 'no_challenge' },
    ]);
    // An answer to an earlier challenge, replayed against a fresh one, names the wrong challenge.
    await signInOptions(pending);
    const replay = await answer(pending, good);
    expect(replay.status).toBe(401);
    expect((await readAudit(before)).at(-1)!.details).toMatchObject({ reason: 'wrong_challenge' });

    // After a sign-in, its answer is worthless to the next one.
    tick(2_000);
    const fresh = key.assert(await signInOptions(pending), here);
    expect((await answer(pending, fresh)).status).toBe(303);
    const next = await passwordStep(agent);
    await signInOptions(next);
    expect((await answer(next, fresh)).status).toBe(401);
  });

  it('a signature counter that goes back (a cloned key) is refused, recorded and alerted; the stored counter stays', async () => {
    const auditor = await createStaffWithRoles(['security_auditor']);
    const { agent, key } = await agentWithPasskey();
    const first = await passwordStep(agent);
    expect((await answer(first, key.assert(await signInOptions(first), here))).status).toBe(303);
    key.counter = 5;
    const second = await passwordStep(agent);
    expect((await answer(second, key.assert(await signInOptions(second), here))).status).toBe(303);
    // The clone still believes the counter is 3.
    key.counter = 2;
    const third = await passwordStep(agent);
    const before = await lastSeq();
    const refused = await answer(third, key.assert(await signInOptions(third), here));
    expect(refused.status).toBe(401);
    expect(await pageText(refused)).toContain('signature counter');
    const [factor] = await owner<{ id: string; sign_count: string }[]>`
      select id, sign_count from console.staff_factors where credential_id = ${key.id}`;
    expect(factor!.sign_count).toBe('6');
    expect((await readAudit(before)).map((e) => [e.action, e.outcome, e.details])).toEqual([
      [
        'auth.second_factor',
        'denied',
        { purpose: 'sign_in', reason: 'counter_regression', factor: factor!.id },
      ],
    ]);
    // Security reviewers are alerted, about the agent; not the agent.
    expect(await cloneAlerts(auditor.id)).toEqual([agent.id]);
    expect(await cloneAlerts(agent.id)).toEqual([]);
    // The same counter again is refused as well, with no second alert within the hour.
    key.counter = 5;
    expect((await answer(third, key.assert(await signInOptions(third), here))).status).toBe(401);
    expect(await cloneAlerts(auditor.id)).toEqual([agent.id]);
  });

  it('is throttled with the codes: the 4th refused answer waits', async () => {
    const { agent, key } = await agentWithPasskey();
    const pending = await passwordStep(agent);
    for (let i = 0; i < 3; i++) {
      const bad = key.assert(await signInOptions(pending), {
        ...here,
        origin: 'https://x.example',
      });
      expect((await answer(pending, bad)).status).toBe(401);
    }
    const blocked = await answer(pending, key.assert(await signInOptions(pending), here));
    expect(blocked.status).toBe(429);
  });

  it('a hostile answer is a 400 naming the field, never a 5xx', async () => {
    const { agent } = await agentWithPasskey();
    const pending = await passwordStep(agent);
    for (const response of ['', 'not json', '{}', '[]', '{"id":"a","rawId":"a","type":"x"}']) {
      const r = await postData(pending, '/login/second-factor', 'routes/login_.second-factor', {
        intent: 'passkey',
        response,
      });
      expect([response, r.status]).toEqual([response, 400]);
      expect(r.body.fieldErrors).toHaveProperty('response');
    }
  });
});

describe('step-up with a passkey', () => {
  it('/account/verify takes a passkey and renews the session’s factor', async () => {
    const { cookie, key } = await agentWithPasskey();
    tick(10 * 60_000);
    const asked = await postData(cookie, '/account/verify', 'routes/account.verify', {
      intent: 'passkey-options',
    });
    expect(asked.status).toBe(200);
    const options = asked.body.passkeyOptions as Options;
    const before = await lastSeq();
    const done = await postForm(cookie, '/account/verify', {
      intent: 'passkey',
      response: JSON.stringify(key.assert(options, here)),
      redirectTo: '/account/security',
    });
    expect([done.status, done.headers.get('location')]).toEqual([303, '/account/security']);
    expect((await readAudit(before)).map((e) => [e.action, e.details])).toEqual([
      ['auth.step_up', { method: 'webauthn' }],
    ]);
    // A replay of the same answer is refused (its challenge is gone).
    const replay = await postForm(cookie, '/account/verify', {
      intent: 'passkey',
      response: JSON.stringify(key.assert(options, here)),
    });
    expect(replay.status).toBe(401);
  });

  it('/account/verify refuses a cloned key’s answer and alerts security reviewers', async () => {
    const auditor = await createStaffWithRoles(['security_auditor']);
    const { agent, cookie, key } = await agentWithPasskey();
    const verify = async () => {
      const asked = await postData(cookie, '/account/verify', 'routes/account.verify', {
        intent: 'passkey-options',
      });
      return postForm(cookie, '/account/verify', {
        intent: 'passkey',
        response: JSON.stringify(key.assert(asked.body.passkeyOptions as Options, here)),
      });
    };
    key.counter = 7;
    expect((await verify()).status).toBe(303);
    key.counter = 3;
    expect((await verify()).status).toBe(401);
    expect(await cloneAlerts(auditor.id)).toEqual([agent.id]);
    // The reviewer reads it on the notifications page, with the way to the refusals in the trail.
    const reviewer = await signInAs(server.baseUrl, auditor.email, auditor.password);
    const page = await (await fetchAs(reviewer, '/notifications')).text();
    expect(page).toContain('the sign of a copied key');
    const about = `/audit?action=auth.second_factor&outcome=denied&subject=${agent.id}`;
    expect(page).toContain(`href="${about.replaceAll('&', '&amp;')}"`);
    await flushAudit(); // the refusal sequenced into the trail, as the sequencer would
    const trail = await (await fetchAs(reviewer, about)).text();
    expect(trail).toContain('counter_regression');
  });
});

describe('removing passkeys', () => {
  it('an optional factor is removed (audited); the last factor of an account that must have one is refused', async () => {
    const { agent, cookie, key } = await agentWithPasskey();
    const [factor] = await owner<{ id: string }[]>`
      select id from console.staff_factors where credential_id = ${key.id}`;
    const before = await lastSeq();
    const removed = await postForm(cookie, '/account/security', {
      intent: 'remove',
      factorId: factor!.id,
    });
    expect(removed.status).toBe(200);
    expect((await readAudit(before)).map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['auth.factor_remove', 'allowed', { kind: 'webauthn', factor: factor!.id }],
    ]);
    expect(agent.id).toBeDefined();

    // A lead must have a factor: with a passkey and an app, either may go, but not both.
    const lead = await createStaffWithRoles(['support_lead']);
    const leadCookie = await signInAs(server.baseUrl, lead.email, lead.password);
    const leadKey = new SoftAuthenticator();
    expect((await enrol(leadCookie, leadKey, 'Phone')).status).toBe(200);
    const factors = await owner<{ id: string; kind: string }[]>`
      select id, kind from console.staff_factors where staff_id = ${lead.id} order by kind`;
    expect(factors.map((f) => f.kind)).toEqual(['totp', 'webauthn']);
    expect(
      (
        await postForm(leadCookie, '/account/security', {
          intent: 'remove',
          factorId: factors[0]!.id,
        })
      ).status,
    ).toBe(200);
    const mark = await lastSeq();
    const last = await postForm(leadCookie, '/account/security', {
      intent: 'remove',
      factorId: factors[1]!.id,
    });
    expect(last.status).toBe(400);
    expect(await pageText(last)).toContain('this is your last one');
    expect((await readAudit(mark)).map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['auth.factor_remove', 'denied', { kind: 'webauthn', reason: 'last_required' }],
    ]);
    const [left] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.staff_factors where staff_id = ${lead.id}`;
    expect(left!.n).toBe(1);
  });

  it('a removed passkey no longer signs in: refused as an unknown credential, recorded', async () => {
    const { agent, cookie, key } = await agentWithPasskey();
    const spare = new SoftAuthenticator();
    expect((await enrol(cookie, spare, 'Spare key')).status).toBe(200);
    const [factor] = await owner<{ id: string }[]>`
      select id from console.staff_factors where credential_id = ${key.id}`;
    expect(
      (await postForm(cookie, '/account/security', { intent: 'remove', factorId: factor!.id }))
        .status,
    ).toBe(200);
    const pending = await passwordStep(agent);
    const options = await signInOptions(pending);
    expect(options.allowCredentials).toEqual([expect.objectContaining({ id: spare.id })]);
    const before = await lastSeq();
    const refused = await answer(pending, key.assert(options, here));
    expect(refused.status).toBe(401);
    expect(sessionCookieOf(refused)).toBeUndefined();
    expect((await readAudit(before)).map((e) => [e.action, e.outcome, e.details])).toEqual([
      ['auth.second_factor', 'denied', { purpose: 'sign_in', reason: 'unknown_credential' }],
    ]);
  });
});
