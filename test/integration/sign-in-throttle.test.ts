import { readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  alertText,
  createStaffWithRoles,
  fetchAs,
  postForm,
  requestFrom,
  sessionCookieOf,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
  TEST_JOB,
} from '../support/http.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { setStaffStatus } from '#app/modules/auth/staff.server.ts';

const { sql } = useTestDatabase();

const GENERIC = 'That email and password do not match an active account.';
const T0 = new Date('2031-06-01T10:00:00.000Z');

let server: TestServer;
let restoreClock: (() => void) | undefined;
let clock = T0.getTime();

function moveClockBy(ms: number) {
  clock += ms;
  restoreClock = setClock(new Date(clock));
}

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

beforeEach(async () => {
  // Every request of this file comes from 127.0.0.1: start each test with no failure counted.
  await sql()`delete from console.sign_in_throttle`;
  clock = T0.getTime();
  restoreClock = setClock(new Date(clock));
});

afterEach(() => {
  restoreClock?.();
  restoreClock = undefined;
});

async function attempt(email: string, password: string, redirectTo?: string) {
  const fields: Record<string, string> = { email, password };
  if (redirectTo !== undefined) fields.redirectTo = redirectTo;
  const response = await postForm(null, '/login', fields);
  const html = await response.text();
  return {
    status: response.status,
    location: response.headers.get('location'),
    cookie: sessionCookieOf(response),
    message: alertText(html),
    html,
  };
}

const waitSeconds = (message: string | undefined) => {
  const match = /^Too many failed sign-ins\. Wait (\d+) seconds? and try again\.$/.exec(
    message ?? '',
  );
  if (!match) throw new Error(`not a delay message: ${message}`);
  return Number(match[1]);
};

async function eventsFor(staffId: string, action: string) {
  return (await readAudit())
    .filter((e) => e.subjectStaffId === staffId && e.action === action)
    .map((e) => ({
      outcome: e.outcome,
      actor_staff_id: e.actor?.staffId ?? null,
      details: e.details,
    }));
}

describe('a failed sign-in', () => {
  it('answers a wrong password, an unknown account and a disabled one alike', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    const disabled = await createStaffWithRoles(['support_agent']);
    await setStaffStatus(disabled.id, 'disabled', TEST_JOB);

    const wrong = await attempt(who.email, 'not-the-right-password');
    const unknown = await attempt('nobody-by-this-name@staff.test', 'not-the-right-password');
    const off = await attempt(disabled.email, disabled.password);
    for (const answer of [wrong, unknown, off]) {
      expect(answer.status).toBe(401);
      expect(answer.message).toBe(GENERIC);
      expect(answer.cookie).toBeUndefined();
    }
    // The whole page is the same, save the per-response nonce.
    const page = (html: string) => html.replace(/nonce="[^"]*"/g, '');
    expect(page(unknown.html)).toBe(page(wrong.html));
    expect(page(off.html)).toBe(page(wrong.html));
  });
});

describe('throttling per account', () => {
  it('delays the 4th attempt after 3 failures, even with the right password', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    for (let i = 0; i < 3; i++)
      expect((await attempt(who.email, 'wrong-password!')).status).toBe(401);
    const blocked = await attempt(who.email, who.password);
    expect(blocked.status).toBe(429);
    expect(waitSeconds(blocked.message)).toBe(1);
    expect(blocked.cookie).toBeUndefined();
    moveClockBy(1_001);
    const through = await attempt(who.email, who.password);
    expect(through.status).toBe(302);
    expect(through.cookie).toBeDefined();
  });

  it('grows the delay, locks after 10 failures for 15 minutes and records auth.lock', async () => {
    const who = await createStaffWithRoles(['support_lead']);
    const waits: number[] = [];
    for (let failure = 1; failure <= 10; failure++) {
      const answer = await attempt(who.email, 'wrong-password!');
      expect(answer.status, `failure ${failure}`).toBe(401);
      expect(answer.message).toBe(GENERIC);
      if (failure >= 3 && failure < 10) {
        const blocked = await attempt(who.email, who.password);
        expect(blocked.status, `after failure ${failure}`).toBe(429);
        waits.push(waitSeconds(blocked.message));
        moveClockBy(waits[waits.length - 1]! * 1000 + 1);
      }
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60]);

    const locked = await attempt(who.email, who.password);
    expect(locked.status).toBe(429);
    expect(locked.message).toBe(
      'Too many failed sign-ins. Sign-in is locked; try again in 15 minutes.',
    );
    const locks = await eventsFor(who.id, 'auth.lock');
    expect(locks).toHaveLength(1);
    expect(locks[0]!.details).toEqual({ scope: 'account' });

    moveClockBy(14 * 60_000);
    const still = await attempt(who.email, who.password);
    expect(still.status).toBe(429);
    expect(still.message).toMatch(/locked; try again in 1 minute\.$/);

    moveClockBy(60_001);
    const lifted = await attempt(who.email, who.password);
    expect(lifted.status).toBe(302);
    expect(lifted.cookie).toBeDefined();
  });

  it('a success clears the account counter', async () => {
    const who = await createStaffWithRoles(['privacy_officer']);
    for (let i = 0; i < 2; i++) await attempt(who.email, 'wrong-password!');
    expect((await attempt(who.email, who.password)).status).toBe(302);
    const rows = await sql()`select key from console.sign_in_throttle where key like 'account:%'`;
    expect(rows).toHaveLength(0);
    // Had the two failures stayed, these would make four and delay the next attempt.
    for (let i = 0; i < 2; i++)
      expect((await attempt(who.email, 'wrong-password!')).status).toBe(401);
    expect((await attempt(who.email, who.password)).status).toBe(302);
  });
});

describe('throttling per client address', () => {
  it('counts failures across different emails, delays after 10 and locks at 50', async () => {
    const who = await createStaffWithRoles(['security_auditor']);
    let n = 0;
    const failWithNewEmail = async () => {
      const answer = await attempt(`stranger-${++n}@elsewhere.test`, 'wrong-password!');
      expect(answer.status, `failure ${n}`).toBe(401);
    };
    for (let i = 0; i < 10; i++) await failWithNewEmail();

    // Not one of those emails failed more than once, yet this address must now wait…
    const blocked = await attempt(who.email, who.password);
    expect(blocked.status).toBe(429);
    expect(waitSeconds(blocked.message)).toBe(1);

    // …while another address signs the same account in at once.
    const elsewhere = await requestFrom('127.0.0.2', `${server.baseUrl}/login`, {
      method: 'POST',
      headers: { origin: server.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: who.email, password: who.password }).toString(),
    });
    expect(elsewhere.status).toBe(302);
    expect(String(elsewhere.headers['set-cookie'])).toMatch(/^custodian_session=[\w-]{43};/);

    while (n < 50) {
      moveClockBy(60_001);
      await failWithNewEmail();
    }
    const locks = (await readAudit()).filter(
      (e) => e.action === 'auth.lock' && e.details.scope === 'address',
    );
    expect(locks).toHaveLength(1);
    moveClockBy(60_001);
    const locked = await attempt(who.email, who.password);
    expect(locked.status).toBe(429);
    expect(locked.message).toMatch(/Sign-in is locked/);
  });
});

describe('sign-in events', () => {
  it('records success, failure and sign-out in the audit trail, never a password', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    const before = (await readAudit()).at(-1)?.seq ?? -1;
    const wrongPassword = 'a-wrong-password-for-the-log';
    await attempt(who.email, wrongPassword);
    await attempt('unknown-person@staff.test', wrongPassword);
    const cookie = await signInAs(server.baseUrl, who.email, who.password);
    expect((await postForm(cookie, '/logout')).status).toBe(302);

    const rows = (await readAudit(before)).map((e) => ({
      action: e.action,
      outcome: e.outcome,
      actor_staff_id: e.actor?.staffId ?? null,
      target_staff_id: e.subjectStaffId,
      client_address: e.client.address,
      details: e.details,
      row: e.raw,
    }));
    expect(rows.map((r) => [r.action, r.outcome, r.actor_staff_id, r.target_staff_id])).toEqual([
      ['auth.sign_in', 'denied', null, who.id],
      ['auth.sign_in', 'denied', null, null],
      ['auth.sign_in', 'allowed', who.id, who.id],
      ['auth.sign_out', 'allowed', who.id, who.id],
    ]);
    expect(rows[0]!.details).toEqual({ reason: 'bad_password_or_disabled' });
    expect(rows[1]!.details).toEqual({ reason: 'no_account' });
    for (const row of rows) {
      expect(row.client_address).toBe('127.0.0.1');
      expect(row.row).not.toContain(wrongPassword);
      expect(row.row).not.toContain(who.password);
    }
    const anywhere = await sql()`
      select count(*)::int as n from console.audit_entries e
      where e.body like ${'%' + who.password + '%'} or e.body like ${'%' + wrongPassword + '%'}`;
    expect(anywhere[0]!.n).toBe(0);
  });
});

describe('redirectTo', () => {
  let who: TestStaff;
  beforeAll(async () => {
    who = await createStaffWithRoles(['admin']);
  });

  it('the sign-in page carries it from the address into the form', async () => {
    const response = await fetchAs(null, '/login?redirectTo=%2Fadmin%2Fstaff%3Fsort%3Demail');
    expect(await response.text()).toContain(
      '<input type="hidden" name="redirectTo" value="/admin/staff?sort=email"/>',
    );
  });

  it('is honoured for a same-site path', async () => {
    const answer = await attempt(who.email, who.password, '/admin/staff?sort=email&dir=desc');
    expect(answer.status).toBe(302);
    expect(answer.location).toBe('/admin/staff?sort=email&dir=desc');
  });

  it.each(['//evil.example', 'https://evil.example', '/\\evil.example', 'javascript:alert(1)', ''])(
    'is ignored for %j',
    async (target) => {
      const answer = await attempt(who.email, who.password, target);
      expect(answer.status).toBe(302);
      expect(answer.location).toBe('/');
    },
  );

  it('is honoured or ignored alike when already signed in', async () => {
    const cookie = await signInAs(server.baseUrl, who.email, who.password);
    const away = await fetchAs(cookie, '/login?redirectTo=%2F%2Fevil.example');
    expect(away.headers.get('location')).toBe('/');
    const home = await fetchAs(cookie, '/login?redirectTo=%2Fadmin%2Fstaff');
    expect(home.headers.get('location')).toBe('/admin/staff');
  });
});
