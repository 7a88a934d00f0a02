import type postgres from 'postgres';
import { setClock } from '#app/modules/clock.server.ts';
import { readAudit, lastSeq, type LoggedEntry } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  decodeEntities,
  fetchAs,
  signInAs,
  startTestServer,
  type TestServer,
  pageText,
} from '../support/http.ts';
import {
  ownerConnection,
  plainUsers,
  seedUsers,
  someUuid,
  withAuditWritesBroken,
  type PlainUser,
} from './users-fixtures.ts';

// Finding a user (/users?q=…): exact id or exact email only, every lookup audited (fail closed),
// and a daily limit of distinct users per staff member.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let users: PlainUser[];

beforeAll(async () => {
  await seedUsers();
  owner = ownerConnection();
  users = await plainUsers(owner);
  server = await startTestServer();
});
afterAll(async () => {
  await owner?.end();
  await server?.close();
});

async function agent() {
  const who = await createStaffWithRoles(['support_agent']);
  return { ...who, cookie: await signInAs(server.baseUrl, who.email, who.password) };
}

const find = (cookie: string, q: string) =>
  fetchAs(cookie, `/users?${new URLSearchParams({ q }).toString()}`);

function lookupsBy(entries: LoggedEntry[], staffId: string) {
  return entries.filter((e) => e.actor?.staffId === staffId);
}

describe('finding a user', () => {
  it('by exact id shows the card, nothing decrypted, and is audited', async () => {
    const me = await agent();
    const user = users[10]!;
    const before = await lastSeq();
    const response = await find(me.cookie, user.id);
    expect(response.status).toBe(200);
    const html = decodeEntities(await response.text());
    expect(html).toContain('data-testid="user-card"');
    expect(html).toContain(user.id);
    expect(html).toContain(user.emailMasked);
    expect(html).not.toContain(user.email);
    expect(html).not.toContain(user.displayName);
    expect(html).toContain(`href="/users/${user.id}"`);
    // The count comes back from the statement that counted this lookup.
    expect(html).toMatch(/looked up (<!-- -->)?1(<!-- -->)? of at most/);
    const again = decodeEntities(await (await find(me.cookie, users[11]!.id)).text());
    expect(again).toMatch(/looked up (<!-- -->)?2(<!-- -->)? of at most/);
    const entries = lookupsBy(await readAudit(before), me.id);
    expect(entries).toHaveLength(2); // one per lookup
    expect(entries[0]).toMatchObject({
      action: 'user.lookup',
      outcome: 'allowed',
      userId: user.id,
      details: { by: 'id', found: true },
    });
  });

  it('by exact email, whatever its case and surrounding spaces', async () => {
    const me = await agent();
    const user = users[12]!;
    const before = await lastSeq();
    const response = await find(me.cookie, `  ${user.email.toUpperCase()} `);
    expect(response.status).toBe(200);
    expect(decodeEntities(await response.text())).toContain(user.id);
    const entries = lookupsBy(await readAudit(before), me.id);
    expect(entries.map((e) => [e.action, e.userId, e.details])).toEqual([
      ['user.lookup', user.id, { by: 'email', found: true }],
    ]);
  });

  it('not by a partial email: nobody found, and the miss is audited', async () => {
    const me = await agent();
    const user = users[12]!;
    const [local, domain] = [
      user.email.slice(0, user.email.lastIndexOf('@')),
      user.email.split('@').pop()!,
    ];
    const before = await lastSeq();
    // Shaped like an email, but not the whole of it.
    const partial = `${local.slice(1)}@${domain}`;
    const response = await find(me.cookie, partial);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('data-testid="not-found"');
    expect(html).not.toContain(user.id);
    const entries = lookupsBy(await readAudit(before), me.id);
    expect(entries.map((e) => [e.action, e.userId, e.details])).toEqual([
      ['user.lookup', null, { by: 'email', found: false }],
    ]);
  });

  it.each([
    ['a name', 'name'],
    ['the local part alone', 'local'],
    ['the domain alone', '@domain'],
    ['a prefix of an id', 'id prefix'],
  ])('refuses %s with a 400 naming the field q', async (_what, kind) => {
    const me = await agent();
    const user = users[12]!;
    const local = user.email.slice(0, user.email.lastIndexOf('@'));
    const q =
      kind === 'local'
        ? local
        : kind === '@domain'
          ? `@${user.email.split('@').pop()}`
          : kind === 'id prefix'
            ? user.id.slice(0, 13)
            : user.displayName;
    const before = await lastSeq();
    const response = await find(me.cookie, q);
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toMatch(/<input[^>]*id="q"[^>]*aria-invalid="true"/);
    expect(html).toMatch(
      /<p id="q-error" role="alert" class="field-error[^"]*"[^>]*>[^<]*neither a user id nor a whole email/,
    );
    expect(html).not.toContain('data-testid="user-card"');
    // Bad input reaches no lookup: nothing to audit, nothing counted.
    expect(lookupsBy(await readAudit(before), me.id)).toEqual([]);
  });

  it('shows an empty state with a labelled, keyboard-usable form', async () => {
    const me = await agent();
    const html = await (await fetchAs(me.cookie, '/users')).text();
    expect(html).toContain('<label for="q">');
    expect(html).toMatch(/<form[^>]*method="get"[^>]*role="search"/);
    expect(html).toContain('<button type="submit">Find</button>');
    expect(html).toContain('class="empty"');
  });

  it('is refused to roles without users:lookup', async () => {
    const admin = await createStaffWithRoles(['admin']);
    const cookie = await signInAs(server.baseUrl, admin.email, admin.password);
    expect((await find(cookie, users[0]!.id)).status).toBe(403);
  });
});

describe('the daily limit of distinct users', () => {
  it('counts distinct users, refuses the one past the limit, alerts security and resets next UTC day', async () => {
    const restore = setClock(new Date('2031-03-10T23:30:00Z'));
    try {
      const auditors = await Promise.all([
        createStaffWithRoles(['security_auditor']),
        createStaffWithRoles(['security_auditor']),
      ]);
      const me = await agent();
      const before = await lastSeq();
      // 30 users by id, the same 30 again by email (no new ones), then 20 misses: 50 distinct.
      for (const u of users) expect((await find(me.cookie, u.id)).status).toBe(200);
      for (const u of users.slice(0, 5)) expect((await find(me.cookie, u.email)).status).toBe(200);
      const misses = Array.from({ length: 20 }, someUuid);
      for (const id of misses) expect((await find(me.cookie, id)).status).toBe(200);
      const today = await pageText(await fetchAs(me.cookie, '/users'));
      expect(today).toMatch(/looked up 50 of at most 50 different users/);

      // The 51st distinct user is refused with a clear message and audited as denied.
      const refused = await find(me.cookie, someUuid());
      expect(refused.status).toBe(429);
      const text = await pageText(refused);
      expect(text).toContain('Lookup refused: you have looked up 50 different users today');
      expect(text).toContain('2031-03-11 00:00 UTC');
      // Someone already looked up today is still available.
      expect((await find(me.cookie, users[3]!.email)).status).toBe(200);

      const entries = lookupsBy(await readAudit(before), me.id);
      const lookups = entries.filter((e) => e.action === 'user.lookup');
      expect(lookups).toHaveLength(30 + 5 + 20 + 1);
      expect(lookups.every((e) => e.outcome === 'allowed')).toBe(true);
      const denied = entries.filter((e) => e.action === 'access.denied');
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({
        outcome: 'denied',
        userId: null,
        details: { reason: 'lookup_daily_limit', permission: 'users:lookup' },
      });

      // Each security reviewer is alerted once, however many refusals follow.
      expect((await find(me.cookie, someUuid())).status).toBe(429);
      const alerts = await owner<{ recipient_id: string }[]>`
        select recipient_id from console.notifications
        where kind = 'lookup.limit' and subject_staff_id = ${me.id}`;
      expect(alerts.map((a) => a.recipient_id).sort()).toEqual(
        expect.arrayContaining(auditors.map((a) => a.id).sort()),
      );
      expect(new Set(alerts.map((a) => a.recipient_id)).size).toBe(alerts.length);
      const [day] = await owner<{ distinct_targets: number; refused: number }[]>`
        select distinct_targets, refused from console.user_lookup_days
        where staff_id = ${me.id} and day = '2031-03-10'`;
      expect(day).toEqual({ distinct_targets: 50, refused: 2 });
      // The refused users were not counted as looked up.
      const [targets] = await owner<{ n: number }[]>`
        select count(*)::int as n from console.user_lookup_targets
        where staff_id = ${me.id} and day = '2031-03-10'`;
      expect(targets!.n).toBe(50);

      // The next UTC day starts a new count.
      setClock(new Date('2031-03-11T00:00:30Z'));
      const cookie = await signInAs(server.baseUrl, me.email, me.password);
      expect((await find(cookie, someUuid())).status).toBe(200);
      expect((await find(cookie, users[20]!.id)).status).toBe(200);
      const next = await pageText(await fetchAs(cookie, '/users'));
      expect(next).toMatch(/looked up 2 of at most 50 different users/);
    } finally {
      restore();
    }
  });

  it('under concurrency, exactly the limit of distinct users goes through', async () => {
    const me = await agent();
    const before = await lastSeq();
    const statuses = await Promise.all(
      Array.from({ length: 60 }, () => find(me.cookie, someUuid()).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const [counts] = await owner<{ days: number; targets: number }[]>`
      select (select sum(distinct_targets)::int from console.user_lookup_days
               where staff_id = ${me.id}) as days,
             (select count(*)::int from console.user_lookup_targets
               where staff_id = ${me.id}) as targets`;
    expect(counts).toEqual({ days: 50, targets: 50 });
    const entries = lookupsBy(await readAudit(before), me.id);
    expect(entries.filter((e) => e.action === 'user.lookup')).toHaveLength(50);
    expect(entries.filter((e) => e.action === 'access.denied')).toHaveLength(10);
  });

  it('in a burst of lookups by two staff members, each page shows its own day count', async () => {
    // Concurrent lookups share one counting statement (ADR 014): each answer must go back to
    // the lookup it belongs to.
    const [a, b] = await Promise.all([agent(), agent()]);
    for (let i = 0; i < 20; i++) expect((await find(a.cookie, someUuid())).status).toBe(200);
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b)).map(async (who) => {
        const html = await pageText(await find(who.cookie, someUuid()));
        const used = /looked up (\d+) of at most 50 different users/.exec(html)?.[1];
        return { who: who.id, used: Number(used) };
      }),
    );
    const countsOf = (id: string) =>
      burst
        .filter((r) => r.who === id)
        .map((r) => r.used)
        .sort((x, y) => x - y);
    expect(countsOf(a.id)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(countsOf(b.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('opening /users/:id is a lookup too, and counts against the same limit', async () => {
    const me = await agent();
    const before = await lastSeq();
    const response = await fetchAs(me.cookie, `/users/${users[5]!.id}`);
    expect(response.status).toBe(200);
    expect((await fetchAs(me.cookie, `/users/${someUuid()}`)).status).toBe(404);
    const entries = lookupsBy(await readAudit(before), me.id);
    expect(entries.map((e) => [e.action, e.details])).toEqual([
      ['user.lookup', { by: 'id', found: true }],
      ['user.lookup', { by: 'id', found: false }],
    ]);
    const [day] = await owner<{ distinct_targets: number }[]>`
      select distinct_targets from console.user_lookup_days where staff_id = ${me.id}`;
    expect(day?.distinct_targets).toBe(2);
  });
});

describe('when the audit trail cannot be written', () => {
  it('the lookup fails, shows nothing and counts nothing', async () => {
    const me = await agent();
    const user = users[7]!;
    const response = await withAuditWritesBroken(owner, () => find(me.cookie, user.email));
    expect(response.status).toBe(500);
    const html = await response.text();
    expect(html).toContain('Something went wrong');
    expect(html).not.toContain(user.id);
    expect(html).not.toContain(user.emailMasked);
    const days = await owner`select 1 from console.user_lookup_days where staff_id = ${me.id}`;
    expect(days).toHaveLength(0);
  });
});
