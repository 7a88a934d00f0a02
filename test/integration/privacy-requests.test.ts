import type postgres from 'postgres';
import { setClock } from '#app/modules/clock.server.ts';
import {
  assignRequest,
  createRequest,
  extendRequest,
  getRequest,
  listRequests,
  moveRequest,
  requestDetails,
} from '#app/modules/privacy/requests.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { job } from '#app/modules/actor.ts';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '#app/utils/errors.ts';
import { readAudit as readAll, type LoggedEntry } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  htmlText,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { ownerConnection, plainUsers, seedUsers, type PlainUser } from './users-fixtures.ts';

// Privacy requests as the module carries them (ADR 022): intake from the product and from staff,
// moves through the lifecycle with four eyes, the clock and its pauses, the queue; each move on
// the timeline and in the audit trail, nothing written when a move is refused.

useTestDatabase();
let owner: postgres.Sql;
let users: PlainUser[];
let officer: TestStaff;
let officer2: TestStaff;
let agent: TestStaff;
let restoreClock: () => void;
let clockAt = Date.parse('2026-03-02T09:00:00Z');

const as = (s: TestStaff) =>
  staffActor(s.id, { client: { address: '127.0.0.1', userAgent: 'vitest' } });
const PRODUCT = job('api: product');

/** The trail's entries matching the filter, oldest first. */
async function readAudit(filter: { action?: string; privacyRequestId?: string }) {
  const all = await readAll();
  return all.filter(
    (e: LoggedEntry) =>
      (!filter.action || e.action === filter.action) &&
      (!filter.privacyRequestId ||
        (e as LoggedEntry & { privacyRequestId?: string }).privacyRequestId ===
          filter.privacyRequestId),
  );
}

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  await seedUsers();
  owner = ownerConnection();
  users = await plainUsers(owner);
  officer = await createStaffWithRoles(['privacy_officer']);
  officer2 = await createStaffWithRoles(['privacy_officer']);
  agent = await createStaffWithRoles(['support_agent']);
});

afterAll(async () => {
  restoreClock();
  await owner.end();
});

async function countRows() {
  const [r] = await owner<{ requests: number; events: number }[]>`
    select (select count(*)::int from console.privacy_requests) as requests,
           (select count(*)::int from console.privacy_request_events) as events`;
  return r!;
}

async function userIn(country: string): Promise<string> {
  const [row] = await owner<{ id: string }[]>`
    select id from product.users order by created_at, id limit 1`;
  await owner`update product.users set country = ${country} where id = ${row!.id}`;
  return row!.id;
}

describe('intake', () => {
  test('from the product: verified, received, due by the user’s regime, audited', async () => {
    const userId = await userIn('DE');
    const created = await createRequest({ userId, type: 'access' }, PRODUCT);
    expect(created).toMatchObject({ state: 'received', verified: true, dueDay: '2026-04-02' });
    const { request, events } = await getRequest(created.id);
    expect(request).toMatchObject({ regime: 'gdpr', source: 'api', country: 'DE' });
    // The user is told it arrived (the end-user outbox, ADR 024).
    expect(events.map((e) => [e.kind, e.toState])).toEqual([
      ['received', 'received'],
      ['message', null],
    ]);
    const [entry] = await readAudit({ action: 'privacy.request', privacyRequestId: created.id });
    expect(entry?.details).toEqual({
      type: 'access',
      source: 'api',
      verified: true,
      regime: 'gdpr',
    });
  });

  test('from staff: unverified, the clock waits, and the channel is required', async () => {
    const userId = users[1]!.id;
    await expect(
      createRequest({ userId, type: 'erasure' }, await as(officer)),
    ).rejects.toMatchObject({ field: 'channel' });
    const created = await createRequest(
      { userId, type: 'erasure', channel: 'letter' },
      await as(officer),
    );
    expect(created).toMatchObject({ state: 'verifying', verified: false });
  });

  test('bad input names the field and writes nothing', async () => {
    const before = await countRows();
    const cases: [unknown, string][] = [
      [{ userId: 'nope', type: 'access' }, 'userId'],
      [{ userId: users[0]!.id, type: 'delete-everything' }, 'type'],
      [{ userId: users[0]!.id, type: 'access', details: { extra: 1 } }, 'details.extra'],
      [
        { userId: users[0]!.id, type: 'restriction', details: { purposes: [] } },
        'details.purposes',
      ],
      [
        { userId: users[0]!.id, type: 'restriction', details: { purposes: ['spying'] } },
        'details.purposes.0',
      ],
      [
        { userId: users[0]!.id, type: 'rectification', details: { changes: {} } },
        'details.changes',
      ],
      [
        { userId: users[0]!.id, type: 'rectification', details: { changes: { password: 'x' } } },
        'details.changes.password',
      ],
      [
        { userId: users[0]!.id, type: 'objection', details: { purposes: ['training'] } },
        'details.grounds',
      ],
    ];
    for (const [input, field] of cases) {
      const error = await createRequest(input as never, PRODUCT).catch((e: unknown) => e);
      expect(error, JSON.stringify(input)).toBeInstanceOf(InputError);
      expect((error as InputError).field, JSON.stringify(input)).toBe(field);
    }
    await expect(
      createRequest({ userId: '00000000-0000-4000-8000-000000000000', type: 'access' }, PRODUCT),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await countRows()).toEqual(before);
  });

  test('a rectification’s new values are sealed under the user’s key; the trail names fields only', async () => {
    const userId = users[2]!.id;
    const created = await createRequest(
      {
        userId,
        type: 'rectification',
        details: { changes: { display_name: 'Zoë <script>x</script>', phone: '+44 7700 900123' } },
      },
      PRODUCT,
    );
    const [row] = await owner<{ details_enc: Buffer }[]>`
      select details_enc from console.privacy_requests where id = ${created.id}`;
    expect(row!.details_enc.toString('latin1')).not.toContain('Zoë');
    expect(await requestDetails(created.id)).toEqual({
      display_name: 'Zoë <script>x</script>',
      phone: '+44 7700 900123',
    });
    const [entry] = await readAudit({ action: 'privacy.request', privacyRequestId: created.id });
    expect(entry?.details).toMatchObject({ fields: ['display_name', 'phone'] });
    expect(JSON.stringify(entry)).not.toContain('7700');
  });

  test('a role without privacy:process cannot enter a request', async () => {
    await expect(
      createRequest({ userId: users[0]!.id, type: 'access', channel: 'email' }, await as(agent)),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('moves', () => {
  test('an erasure: verified by evidence, proposed, approved by a second officer, processed', async () => {
    const userId = users[3]!.id;
    const me = await as(officer);
    const other = await as(officer2);
    const { id } = await createRequest({ userId, type: 'erasure', channel: 'email' }, me);
    // Two days pass before the user's identity is confirmed: the deadline moves by two days.
    const before = (await getRequest(id)).request.dueDay;
    clockAt += 2 * 86_400_000;
    await moveRequest(
      id,
      { kind: 'verify', evidence: 'Signed-in confirmation, ticket PRIV-12' },
      me,
    );
    const after = (await getRequest(id)).request;
    expect(after).toMatchObject({ state: 'received', verified: true, pausedDays: 2 });
    expect(after.dueDay > before).toBe(true);

    await expect(moveRequest(id, { kind: 'start' }, me)).rejects.toBeInstanceOf(ConflictError);
    await moveRequest(
      id,
      { kind: 'propose', proposal: 'erasure', note: 'No hold, no open dispute' },
      me,
    );
    await expect(moveRequest(id, { kind: 'approve' }, me)).rejects.toBeInstanceOf(ForbiddenError);
    await moveRequest(id, { kind: 'approve' }, other);
    await moveRequest(id, { kind: 'start' }, me);
    await moveRequest(id, { kind: 'complete' }, job('privacy.erase'));
    const done = await getRequest(id);
    expect(done.request).toMatchObject({ state: 'completed' });
    expect(done.request.completedAt).not.toBeNull();
    expect(done.events.map((e) => `${e.kind}:${e.toState}`)).toEqual([
      'received:verifying',
      'message:null',
      'verify:received',
      'propose:awaiting_approval',
      'approve:approved',
      'start:processing',
      'complete:completed',
    ]);
    const trail = await readAudit({ action: 'privacy.transition', privacyRequestId: id });
    expect(trail.map((e) => `${String(e.details.from)}>${String(e.details.to)}`)).toEqual([
      'verifying>received',
      'received>awaiting_approval',
      'awaiting_approval>approved',
      'approved>processing',
      'processing>completed',
    ]);
    expect(trail[2]!.actor?.staffId).toBe(officer2.id);
  });

  test('a refused move writes nothing: no timeline event, no audit entry, no change', async () => {
    const { id } = await createRequest({ userId: users[4]!.id, type: 'access' }, PRODUCT);
    const before = await countRows();
    const entries = (await readAudit({ privacyRequestId: id })).length;
    await expect(moveRequest(id, { kind: 'complete' }, await as(officer))).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(
      moveRequest(id, { kind: 'cancel', note: '   ' }, await as(officer)),
    ).rejects.toMatchObject({ field: 'note' });
    await expect(moveRequest(id, { kind: 'approve' }, await as(agent))).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    expect(await countRows()).toEqual(before);
    expect((await readAudit({ privacyRequestId: id })).length).toBe(entries);
    expect((await getRequest(id)).request.state).toBe('received');
  });

  test('a denial ends a request only with a second officer’s approval', async () => {
    const { id } = await createRequest({ userId: users[5]!.id, type: 'access' }, PRODUCT);
    await moveRequest(
      id,
      { kind: 'propose', proposal: 'denial', note: 'Manifestly unfounded' },
      await as(officer),
    );
    await expect(moveRequest(id, { kind: 'approve' }, await as(officer))).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await moveRequest(id, { kind: 'approve' }, await as(officer2));
    expect((await getRequest(id)).request).toMatchObject({ state: 'denied' });
    expect((await getRequest(id)).request.closedAt).not.toBeNull();
  });

  test('awaiting information pauses the clock; a legal hold does not', async () => {
    const me = await as(officer);
    const a = await createRequest({ userId: users[6]!.id, type: 'access' }, PRODUCT);
    const b = await createRequest({ userId: users[7]!.id, type: 'erasure' }, PRODUCT);
    await moveRequest(
      a.id,
      { kind: 'hold', reason: 'awaiting_information', note: 'Which account?' },
      me,
    );
    await moveRequest(
      b.id,
      { kind: 'hold', reason: 'legal_hold', note: 'Litigation hold L-7' },
      me,
    );
    clockAt += 3 * 86_400_000;
    await moveRequest(a.id, { kind: 'resume' }, me);
    await moveRequest(b.id, { kind: 'resume' }, me);
    expect((await getRequest(a.id)).request).toMatchObject({ state: 'received', pausedDays: 3 });
    expect((await getRequest(b.id)).request).toMatchObject({ state: 'received', pausedDays: 0 });
  });

  test('the one extension, with its reason, before the deadline', async () => {
    const userId = await userIn('US');
    const me = await as(officer);
    const { id, dueDay } = await createRequest({ userId, type: 'portability' }, PRODUCT);
    await expect(extendRequest(id, '  ', me)).rejects.toMatchObject({ field: 'reason' });
    const extended = await extendRequest(id, 'Large history across two systems', me);
    expect(extended.dueDay > dueDay).toBe(true);
    await expect(extendRequest(id, 'Again', me)).rejects.toBeInstanceOf(ConflictError);
    const [entry] = await readAudit({ action: 'privacy.extend', privacyRequestId: id });
    expect(entry?.details).toEqual({ from: dueDay, to: extended.dueDay });
    // A later move keeps the extended deadline: the queue sorts and flags by it.
    await moveRequest(id, { kind: 'hold', reason: 'legal_hold', note: 'Litigation hold L-8' }, me);
    await moveRequest(id, { kind: 'resume' }, me);
    expect((await getRequest(id)).request).toMatchObject({ dueDay: extended.dueDay });
  });

  test('an unknown or malformed request id is not found', async () => {
    const me = await as(officer);
    await expect(moveRequest('x', { kind: 'start' }, me)).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      moveRequest('00000000-0000-4000-8000-000000000000', { kind: 'start' }, me),
    ).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('the queue', () => {
  test('by deadline, keyset-paged, filtered, with due-soon, overdue and duplicates flagged', async () => {
    const me = await as(officer);
    const userId = users[8]!.id;
    const first = await createRequest(
      { userId, type: 'restriction', details: { purposes: ['training'] } },
      PRODUCT,
    );
    clockAt += 60_000;
    const second = await createRequest(
      { userId, type: 'restriction', details: { purposes: ['training', 'marketing'] } },
      PRODUCT,
    );
    await assignRequest(second.id, officer.id, me);
    // Six weeks on: everything received so far is overdue.
    clockAt += 42 * 86_400_000;
    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await listRequests({ state: 'all', ...(after ? { after } : {}) }, me, 3);
      all.push(...page.rows.map((r) => r.dueDay));
      if (!page.next) break;
      after = page.next;
    }
    expect(all).toEqual([...all].sort());
    const { rows } = await listRequests({ type: 'restriction' }, me);
    const dup = rows.find((r) => r.id === second.id)!;
    expect(dup.duplicateOf).toBe(first.id);
    expect(rows.find((r) => r.id === first.id)!.duplicateOf).toBeNull();
    expect(dup).toMatchObject({ overdue: true, assigneeName: expect.any(String) });
    const mine = await listRequests({ assignee: 'me' }, me);
    expect(mine.rows.map((r) => r.id)).toEqual([second.id]);
    const overdue = await listRequests({ due: 'overdue' }, me);
    expect(overdue.rows.every((r) => r.overdue)).toBe(true);
    await expect(listRequests({ state: 'nonsense' }, me)).rejects.toMatchObject({ field: 'state' });
    await expect(listRequests({ after: 'garbage' }, me)).rejects.toMatchObject({ field: 'after' });
  });
});

describe('the pages', () => {
  let server: TestServer;
  let one: string;
  let two: string;
  let agentCookie: string;

  beforeAll(async () => {
    server = await startTestServer();
    one = await signInAs(server.baseUrl, officer.email, officer.password);
    two = await signInAs(server.baseUrl, officer2.email, officer2.password);
    agentCookie = await signInAs(server.baseUrl, agent.email, agent.password);
  });

  afterAll(async () => {
    await server?.close();
  });

  test('the queue lists open requests by deadline, filters them, and names a bad filter', async () => {
    const { id } = await createRequest({ userId: users[9]!.id, type: 'portability' }, PRODUCT);
    const page = await fetchAs(one, '/privacy?type=portability');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain(`/privacy/${id}`);
    const bad = await fetchAs(one, '/privacy?due=yesterday');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/due/);
    expect((await fetchAs(agentCookie, '/privacy')).status).toBe(403);
  });

  test('an erasure worked through the request page, with the second officer’s approval', async () => {
    const { id } = await createRequest({ userId: users[10]!.id, type: 'erasure' }, PRODUCT);
    const path = `/privacy/${id}`;
    const proposeWithoutNote = await postForm(one, path, {
      intent: 'propose',
      proposal: 'erasure',
    });
    expect(proposeWithoutNote.status).toBe(400);
    expect(htmlText(await proposeWithoutNote.text())).toContain('note: Say why');
    const proposed = await postForm(one, path, {
      intent: 'propose',
      proposal: 'erasure',
      note: 'No hold; account closed by the user',
    });
    expect(proposed.status).toBe(200);
    // The proposer is offered no approval, and is refused one.
    expect(htmlText(await (await fetchAs(one, path)).text())).toContain(
      'You proposed it: a second officer decides.',
    );
    expect((await postForm(one, path, { intent: 'approve' })).status).toBe(403);
    const page = htmlText(await (await fetchAs(two, path)).text());
    expect(page).toContain('Approve the erasure');
    expect((await postForm(two, path, { intent: 'approve' })).status).toBe(200);
    expect((await postForm(two, path, { intent: 'approve' })).status).toBe(409);
    expect((await postForm(one, path, { intent: 'start' })).status).toBe(200);
    const after = htmlText(await (await fetchAs(one, path)).text());
    expect(after).toContain('Processing');
    expect(after).toMatch(/Awaiting approval → Approved/);
    expect((await postForm(one, path, { intent: 'launch' })).status).toBe(400);
    expect((await fetchAs(one, '/privacy/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
