import { createHash, randomBytes } from 'node:crypto';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  sessionCookieOf,
  signInAs,
  startTestServer,
  tokenOf,
  type TestServer,
  type TestStaff,
  TEST_JOB,
} from '../support/http.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { runRetention } from '#app/modules/retention/engine.server.ts';
import { setStaffStatus } from '#app/modules/auth/staff.server.ts';

const { sql } = useTestDatabase();

const MINUTE = 60_000;
const T0 = new Date('2031-03-04T08:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * MINUTE);

let server: TestServer;
let agent: TestStaff;
let restoreClock: (() => void) | undefined;

beforeAll(async () => {
  server = await startTestServer();
  agent = await createStaffWithRoles(['support_agent']);
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  restoreClock?.();
  restoreClock = undefined;
});

function moveClockTo(date: Date) {
  restoreClock = setClock(date);
}

const signIn = (who: TestStaff, opts: { cookie?: string } = {}) =>
  signInAs(server.baseUrl, who.email, who.password, opts);

/** 'in' when the cookie opens the home page, 'out' when it is sent to sign in. */
async function state(cookie: string) {
  const response = await fetchAs(cookie, '/');
  await response.arrayBuffer();
  if (response.status === 200) return 'in';
  if (response.status === 302 && response.headers.get('location') === '/login?redirectTo=%2F') {
    return 'out';
  }
  throw new Error(`unexpected answer ${response.status} ${response.headers.get('location')}`);
}

async function sessionsOf(staffId: string) {
  return sql()<{ id: string; token_hash: string; row: string }[]>`
    select id, encode(token_hash, 'hex') as token_hash, s::text as row
    from console.sessions s where staff_id = ${staffId}`;
}

function cookieAttributes(setCookie: string) {
  const [pair, ...attributes] = setCookie.split(';').map((p) => p.trim());
  return { pair: pair!, attributes: attributes.map((a) => a.toLowerCase()) };
}

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Lax, Path=/, lives 12 hours and is not Secure over HTTP', async () => {
    const response = await postForm(null, '/login', {
      email: agent.email,
      password: agent.password,
    });
    expect(response.status).toBe(302);
    const lines = response.headers.getSetCookie();
    expect(lines).toHaveLength(1);
    const { pair, attributes } = cookieAttributes(lines[0]!);
    expect(pair).toMatch(/^custodian_session=[A-Za-z0-9_-]{43}$/);
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=lax');
    expect(attributes).toContain('path=/');
    expect(attributes).toContain('max-age=43200');
    expect(attributes).not.toContain('secure');
  });

  it('is Secure when the app runs behind TLS (secure: true), and so is its clearing', async () => {
    const secure = await startTestServer({ secure: true });
    try {
      const response = await postForm(
        null,
        `${secure.baseUrl}/login`,
        { email: agent.email, password: agent.password },
        { origin: secure.origin },
      );
      expect(response.status).toBe(302);
      const { attributes } = cookieAttributes(response.headers.getSetCookie()[0]!);
      expect(attributes).toContain('secure');
      expect(attributes).toContain('httponly');
      const cookie = sessionCookieOf(response)!;
      const out = await postForm(cookie, `${secure.baseUrl}/logout`, {}, { origin: secure.origin });
      expect(out.status).toBe(302);
      const cleared = cookieAttributes(out.headers.getSetCookie()[0]!);
      expect(cleared.pair).toBe('custodian_session=');
      expect(cleared.attributes).toContain('secure');
      expect(cleared.attributes).toContain('max-age=0');
    } finally {
      await secure.close();
    }
  });

  it('carries a random token that the database holds only as its SHA-256', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    const token = tokenOf(await signIn(who));
    const rows = await sessionsOf(who.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(rows[0]!.row).not.toContain(token);
    const anywhere = await sql()`
      select count(*)::int as n from console.sessions s where s::text like ${'%' + token + '%'}`;
    expect(anywhere[0]!.n).toBe(0);
  });
});

describe('session rotation and sign-out', () => {
  it('makes a new session at each sign-in, even over an existing one', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    const first = await signIn(who);
    const second = await signIn(who, { cookie: first });
    expect(second).not.toBe(first);
    expect(await sessionsOf(who.id)).toHaveLength(2);
    // Not signed out, the first one stays valid…
    expect(await state(first)).toBe('in');
    expect(await state(second)).toBe('in');
    // …until it signs out; the other session is left alone.
    expect((await postForm(first, '/logout')).status).toBe(302);
    expect(await state(first)).toBe('out');
    expect(await state(second)).toBe('in');
  });

  it('never adopts a cookie value planted before sign-in (session fixation)', async () => {
    const planted = `custodian_session=${randomBytes(32).toString('base64url')}`;
    const cookie = await signIn(agent, { cookie: planted });
    expect(cookie).not.toBe(planted);
    expect(await state(planted)).toBe('out');
    expect(await state(cookie)).toBe('in');
  });

  it('POST /logout deletes the session, clears the cookie and sends to sign in', async () => {
    const who = await createStaffWithRoles(['support_lead']);
    const cookie = await signIn(who);
    expect(await sessionsOf(who.id)).toHaveLength(1);
    const response = await postForm(cookie, '/logout');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/login');
    const cleared = cookieAttributes(response.headers.getSetCookie()[0]!);
    expect(cleared.pair).toBe('custodian_session=');
    expect(cleared.attributes).toContain('max-age=0');
    expect(await sessionsOf(who.id)).toHaveLength(0);
    // The old cookie, replayed, is signed out.
    expect(await state(cookie)).toBe('out');
  });

  it('a GET of /logout signs nobody out (a link or prefetch must not)', async () => {
    const cookie = await signIn(agent);
    const response = await fetchAs(cookie, '/logout');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/');
    expect(await state(cookie)).toBe('in');
  });
});

describe('session lifetime', () => {
  it('ends after 30 idle minutes', async () => {
    moveClockTo(T0);
    const cookie = await signIn(agent);
    const [row] = await sql()<{ id: string }[]>`
      select id from console.sessions where token_hash = sha256(${tokenOf(cookie)}::bytea)`;
    expect(row).toBeDefined();
    moveClockTo(at(31));
    expect(await state(cookie)).toBe('out');
    const left = await sql()`select 1 from console.sessions where id = ${row!.id}`;
    expect(left).toHaveLength(0);
  });

  it('survives 29 idle minutes, and each request extends it', async () => {
    moveClockTo(T0);
    const cookie = await signIn(agent);
    moveClockTo(at(29));
    expect(await state(cookie)).toBe('in');
    moveClockTo(at(58)); // 58 minutes after sign-in, 29 after the last request
    expect(await state(cookie)).toBe('in');
    moveClockTo(at(87));
    expect(await state(cookie)).toBe('in');
    moveClockTo(at(87 + 31));
    expect(await state(cookie)).toBe('out');
  });

  it('ends 12 hours after sign-in however active it is', async () => {
    moveClockTo(T0);
    const cookie = await signIn(agent);
    for (let minutes = 29; minutes < 12 * 60; minutes += 29) {
      moveClockTo(at(minutes));
      expect(await state(cookie), `at +${minutes} min`).toBe('in');
    }
    moveClockTo(at(12 * 60 - 1));
    expect(await state(cookie)).toBe('in');
    moveClockTo(at(12 * 60));
    expect(await state(cookie)).toBe('out');
  });

  it('the staff_sessions retention policy deletes idle and expired sessions, and only those', async () => {
    const who = await createStaffWithRoles(['support_lead']);
    moveClockTo(T0);
    const busy = await signIn(who);
    for (let minutes = 29; minutes < 12 * 60; minutes += 29) {
      moveClockTo(at(minutes));
      expect(await state(busy)).toBe('in');
      if (minutes === 58) await signIn(who); // then left idle, hours short of its 12
    }
    moveClockTo(at(12 * 60 - 15));
    const fresh = await signIn(who);
    // Now the idle one is long idle, the busy one (active 24 minutes ago) has reached 12 hours.
    moveClockTo(at(12 * 60));
    expect(await sessionsOf(who.id)).toHaveLength(3);
    const run = await runRetention({
      trigger: 'command',
      actor: TEST_JOB,
      only: ['staff_sessions'],
    });
    expect(run.status === 'done' && run.categories[0]!.removed).toBeGreaterThanOrEqual(2);
    const left = await sessionsOf(who.id);
    expect(left).toHaveLength(1);
    expect(left[0]!.token_hash).toBe(createHash('sha256').update(tokenOf(fresh)).digest('hex'));
  });
});

describe('ending sessions from outside', () => {
  let victim: TestStaff;
  beforeAll(async () => {
    victim = await createStaffWithRoles(['privacy_officer']);
  });

  it('disabling an account ends all its sessions at once', async () => {
    const one = await signIn(victim);
    const two = await signIn(victim);
    expect(await state(one)).toBe('in');
    await setStaffStatus(victim.id, 'disabled', TEST_JOB);
    expect(await sessionsOf(victim.id)).toHaveLength(0);
    expect(await state(one)).toBe('out');
    expect(await state(two)).toBe('out');
    const again = await postForm(null, '/login', {
      email: victim.email,
      password: victim.password,
    });
    expect(again.status).toBe(401);
    expect(sessionCookieOf(again)).toBeUndefined();
    await setStaffStatus(victim.id, 'active', TEST_JOB);
  });

  it('a disabled account is signed out even if a session row were left behind', async () => {
    const cookie = await signIn(victim);
    await sql()`update console.staff set status = 'disabled' where id = ${victim.id}`;
    try {
      expect(await state(cookie)).toBe('out');
    } finally {
      await sql()`update console.staff set status = 'active' where id = ${victim.id}`;
    }
  });

  it('a tampered, unknown or malformed cookie is treated as signed out', async () => {
    const cookie = await signIn(agent);
    const token = tokenOf(cookie);
    const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
    const variants = [
      `custodian_session=${flipped}`,
      `custodian_session=${randomBytes(32).toString('base64url')}`,
      `custodian_session=${token}x`,
      `custodian_session=${token.slice(0, 42)}`,
      `custodian_session='%20or%201=1--`,
      `custodian_session=${'A'.repeat(5000)}`,
      `other_cookie=${token}`,
    ];
    for (const variant of variants) expect(await state(variant), variant).toBe('out');
    expect(await state(cookie)).toBe('in');
  });
});

describe('a password change that is due', () => {
  it('sends everywhere to /account/password until changed through the form', async () => {
    const fresh = await createStaffWithRoles(['admin'], { mustChangePassword: true });
    const cookie = await signIn(fresh);
    const other = await signIn(fresh);

    for (const path of ['/', '/admin/staff', '/admin/staff/new']) {
      const response = await fetchAs(cookie, path);
      expect(response.status, path).toBe(302);
      expect(response.headers.get('location'), path).toBe('/account/password');
    }
    const page = await fetchAs(cookie, '/account/password');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('temporary password');

    const newPassword = `new-${randomBytes(9).toString('hex')}`;
    const attempts: [Record<string, string>, string, string][] = [
      [
        { current: 'not-my-password', password: newPassword, confirm: newPassword },
        'current',
        'The current password is not right',
      ],
      [
        { current: fresh.password, password: newPassword, confirm: `${newPassword}x` },
        'confirm',
        'The two new passwords differ',
      ],
      [
        { current: fresh.password, password: 'short', confirm: 'short' },
        'password',
        'at least 12 characters',
      ],
      [
        { current: fresh.password, password: fresh.password, confirm: fresh.password },
        'password',
        'different from the current one',
      ],
    ];
    for (const [fields, field, message] of attempts) {
      const response = await postForm(cookie, '/account/password', fields);
      expect(response.status, field).toBe(400);
      const html = await response.text();
      expect(html).toMatch(new RegExp(`id="field-${field}-error"[^>]*>[^<]*${message}`));
    }
    expect((await fetchAs(cookie, '/')).headers.get('location')).toBe('/account/password');

    const done = await postForm(cookie, '/account/password', {
      current: fresh.password,
      password: newPassword,
      confirm: newPassword,
    });
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/');

    expect(await state(cookie)).toBe('in');
    expect((await fetchAs(cookie, '/admin/staff')).status).toBe(200);
    // The other session ended with the change; the old password no longer opens one.
    expect(await state(other)).toBe('out');
    const [row] = await sql()<{ must_change_password: boolean }[]>`
      select must_change_password from console.staff where id = ${fresh.id}`;
    expect(row!.must_change_password).toBe(false);
    const old = await postForm(null, '/login', { email: fresh.email, password: fresh.password });
    expect(old.status).toBe(401);
    expect(await state(await signInAs(server.baseUrl, fresh.email, newPassword))).toBe('in');
  });

  it('a signed-in staff member can change the password at will, ending other sessions', async () => {
    const who = await createStaffWithRoles(['security_auditor']);
    const cookie = await signIn(who);
    const other = await signIn(who);
    const newPassword = `changed-${randomBytes(9).toString('hex')}`;
    const response = await postForm(cookie, '/account/password', {
      current: who.password,
      password: newPassword,
      confirm: newPassword,
    });
    expect(response.status).toBe(302);
    expect(await state(cookie)).toBe('in');
    expect(await state(other)).toBe('out');
  });
});
