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

// The password step alone: these accounts have no second factor yet, so a right password opens
// a session at once (held to /account/security until they enrol; ADR 035).
const PASSWORD_ONLY = { secondFactor: false };

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
    const who = await createStaffWithRoles(['support_lead'], PASSWORD_ONLY);
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
    const who = await createStaffWithRoles(['privacy_officer'], PASSWORD_ONLY);
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
    const who = await createStaffWithRoles(['security_auditor'], PASSWORD_ONLY);
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
    who = await createStaffWithRoles(['admin'], PASSWORD_ONLY);
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

describe('redirectTo that leaves the console', () => {
  let who: TestStaff;
  beforeAll(async () => {
    who = await createStaffWithRoles(['admin'], PASSWORD_ONLY);
  });

  // Browsers drop tabs and newlines from a URL and read a backslash as a slash: each of these
  // would take the staff member to another site (or, with a control character, fail the answer).
  const OFF_SITE = [
    '/\t/evil.example/',
    '/\n/evil.example/',
    '/\r/evil.example/',
    '/\v/evil.example/',
    '/\f/evil.example/',
    '/ /evil.example/',
    '/\u00a0/evil.example/',
    '/\u2028/evil.example/',
    '/\u202e/evil.example/',
    '/\\evil.example',
    '/\\/evil.example',
    '\\\\evil.example',
    '//evil.example',
    '//evil\u3002example',
    '/\u0000/evil.example',
    '/\t\\evil.example',
    'http://evil.example/',
    'https:evil.example',
    ' /admin',
    'admin/staff',
    '',
  ];

  it.each(OFF_SITE)('a POST sign-in ignores %j and goes home, with its cookie', async (target) => {
    const answer = await attempt(who.email, who.password, target);
    expect(answer.status).not.toBe(500);
    // A NUL is refused as bad input (400 naming the field); everything else signs in and goes home.
    if (target.includes('\u0000')) {
      expect(answer.status).toBe(400);
      expect(answer.html).toContain('redirectTo');
      expect(answer.cookie).toBeUndefined();
      return;
    }
    expect(answer.status).toBe(302);
    expect(answer.location).toBe('/');
    expect(answer.cookie).toBeDefined();
  });

  it.each(OFF_SITE)('a signed-in GET /login ignores %j', async (target) => {
    const cookie = await signInAs(server.baseUrl, who.email, who.password);
    const response = await fetchAs(cookie, `/login?redirectTo=${encodeURIComponent(target)}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/');
  });

  it('the raw %09 of the report is refused both ways', async () => {
    const cookie = await signInAs(server.baseUrl, who.email, who.password);
    const response = await fetchAs(cookie, '/login?redirectTo=/%09/evil.example/');
    expect(response.headers.get('location')).toBe('/');
  });

  it.each([
    ['/grants/new?user=abc&category=profile', '/grants/new?user=abc&category=profile'],
    ['/admin/staff#top', '/admin/staff#top'],
    ['/audit/../admin/staff', '/admin/staff'],
    // Characters outside ASCII are sent percent-encoded: a Location header is bytes.
    ['/\u3002', '/%E3%80%82'],
    ['/users?q=\u00e9', '/users?q=%C3%A9'],
  ])('a same-site %j is kept, as %j', async (target, location) => {
    const answer = await attempt(who.email, who.password, target);
    expect(answer.status).toBe(302);
    expect(answer.location).toBe(location);
    expect(answer.cookie).toBeDefined();
    const cookie = await signInAs(server.baseUrl, who.email, who.password);
    const response = await fetchAs(cookie, `/login?redirectTo=${encodeURIComponent(target)}`);
    expect(response.headers.get('location')).toBe(location);
  });

  it('every session opened is sent (no Location that cannot be a header)', async () => {
    const before = await sql()`select count(*)::int as n from console.sessions`;
    for (const target of ['/\n', '/\r', '/\v', '/\u3002']) {
      const answer = await attempt(who.email, who.password, target);
      expect(answer.status).toBe(302);
      expect(answer.cookie).toBeDefined();
    }
    const after = await sql()`select count(*)::int as n from console.sessions`;
    expect(after[0]!.n - before[0]!.n).toBe(4);
  });
});

describe('a burst of parallel sign-ins', () => {
  // Each request comes from its own address (127.0.0.2, .3, …), as a distributed guesser's would.
  function fromAddress(i: number, email: string, password: string) {
    return requestFrom(`127.0.0.${i + 2}`, `${server.baseUrl}/login`, {
      method: 'POST',
      headers: { origin: server.baseUrl, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, password }).toString(),
    });
  }

  async function passwordChecks(staffId: string, since: number) {
    return (await readAudit(since)).filter(
      (e) =>
        e.action === 'auth.sign_in' &&
        e.subjectStaffId === staffId &&
        (e.outcome === 'allowed' || e.details.reason === 'bad_password_or_disabled'),
    ).length;
  }

  it('checks at most 3 passwords of one account, then refuses even the right one', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    const before = (await readAudit()).at(-1)?.seq ?? -1;
    const burst = await Promise.all(
      Array.from({ length: 24 }, (_, i) => fromAddress(i, who.email, `wrong-password-${i}`)),
    );
    const statuses = burst.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(21);
    expect(await passwordChecks(who.id, before)).toBe(3);

    // The limit is reached: a second burst, the right password inside it, signs nobody in.
    const second = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        fromAddress(i, who.email, i === 11 ? who.password : `wrong-password-${i}`),
      ),
    );
    expect(second.map((r) => r.status)).toEqual(Array(24).fill(429));
    expect(second.every((r) => r.headers['set-cookie'] === undefined)).toBe(true);
    expect(await passwordChecks(who.id, before)).toBe(3);
  });

  it('checks at most 10 passwords from one address, across accounts', async () => {
    const burst = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        requestFrom('127.0.0.99', `${server.baseUrl}/login`, {
          method: 'POST',
          headers: {
            origin: server.baseUrl,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({
            email: `guess-${i}@elsewhere.test`,
            password: 'wrong-password!',
          }).toString(),
        }),
      ),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(14);
  });

  it('a success does not count against its address', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    for (let i = 0; i < 12; i++) expect((await attempt(who.email, who.password)).status).toBe(302);
    // Ten failures are still free for this address: the successes did not use them up.
    for (let i = 0; i < 10; i++) {
      expect((await attempt(`nobody-${i}@elsewhere.test`, 'wrong-password!')).status).toBe(401);
    }
  });
});
