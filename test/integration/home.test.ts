import type postgres from 'postgres';
import { job } from '#app/modules/actor.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { assignRequest, createRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { insertGrant, ownerConnection, plainUsers, seedUsers } from './users-fixtures.ts';

// Home is each role's worklist (issue 13): every card shows the true count of what waits and
// links to the filtered list behind it; a role sees only the cards of what it can do.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let userIds: string[];
let officer: TestStaff;
let officer2: TestStaff;
let agent: TestStaff;
const PRODUCT = job('api: product');

interface Card {
  key: string;
  title: string;
  more: string;
  count: number | null;
  capped: boolean;
  lines: { href: string; text: string }[];
}

async function cardsOf(staff: TestStaff): Promise<Map<string, Card>> {
  const cookie = await signInAs(server.baseUrl, staff.email, staff.password);
  const response = await fetchAs(cookie, '/?_data=routes/_index');
  expect(response.status).toBe(200);
  const data = (await response.json()) as { work: Card[] };
  return new Map(data.work.map((c) => [c.key, c]));
}

const as = (s: TestStaff) =>
  staffActor(s.id, { client: { address: '127.0.0.1', userAgent: 'vitest' } });

beforeAll(async () => {
  server = await startTestServer();
  await seedUsers();
  owner = ownerConnection();
  userIds = (await plainUsers(owner)).map((u) => u.id);
  officer = await createStaffWithRoles(['privacy_officer']);
  officer2 = await createStaffWithRoles(['privacy_officer']);
  agent = await createStaffWithRoles(['support_agent']);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await owner?.end();
});

test('the privacy officer’s card counts what is hers, what waits on her approval, and links to each list', async () => {
  const before = (await cardsOf(officer)).get('privacy')!;
  expect(before).toMatchObject({ more: '/privacy?assignee=me' });
  const mine = [];
  for (const userId of userIds.slice(0, 3)) {
    const { id } = await createRequest({ userId, type: 'access' }, PRODUCT);
    await assignRequest(id, officer.id, await as(officer));
    mine.push(id);
  }
  // Proposed by the other officer: it waits on hers.
  const { id: erasure } = await createRequest({ userId: userIds[4]!, type: 'erasure' }, PRODUCT);
  await moveRequest(
    erasure,
    { kind: 'propose', proposal: 'erasure', note: 'Asked in the app' },
    await as(officer2),
  );
  const card = (await cardsOf(officer)).get('privacy')!;
  expect(card.count).toBe(before.count! + 3);
  for (const id of mine) expect(card.lines.map((l) => l.href)).toContain(`/privacy/${id}`);
  const approval = card.lines.find((l) => l.href === '/privacy?state=awaiting_approval');
  expect(approval?.text).toMatch(/^\d+ proposals? waits? for a second officer’s approval$/);
  // The proposer is not asked to approve her own proposal.
  const theirs = (await cardsOf(officer2)).get('privacy')!;
  const theirApproval = theirs.lines.find((l) => l.href === '/privacy?state=awaiting_approval');
  const count = (text?: string) => Number(/^(\d+)/.exec(text ?? '0')?.[1] ?? 0);
  expect(count(theirApproval?.text)).toBe(count(approval?.text) - 1);
});

test('a grant waiting on the privacy officer (conversations) is on her card, with its count', async () => {
  const before = (await cardsOf(officer)).get('to_decide')!;
  expect(before.more).toBe('/grants?view=to_decide');
  const grant = await insertGrant(owner, {
    staffId: agent.id,
    userId: userIds[6]!,
    categories: ['conversations'],
    status: 'pending',
  });
  const card = (await cardsOf(officer)).get('to_decide')!;
  expect(card.count).toBe(before.count! + 1);
  expect(card.lines.map((l) => l.href)).toContain(`/grants/${grant}`);
});

test('an agent sees the cards of what an agent does, with true counts', async () => {
  const cards = await cardsOf(agent);
  expect([...cards.keys()]).toEqual(['my_grants']);
  const before = cards.get('my_grants')!.count!;
  await insertGrant(owner, { staffId: agent.id, userId: userIds[7]!, categories: ['profile'] });
  await insertGrant(owner, { staffId: agent.id, userId: userIds[8]!, categories: ['usage'] });
  // Not live: neither counts as active.
  await insertGrant(owner, {
    staffId: agent.id,
    userId: userIds[9]!,
    categories: ['profile'],
    status: 'pending',
  });
  expect((await cardsOf(agent)).get('my_grants')!.count).toBe(before + 2);
});

test('the analytics card says nothing was released, or how many releases and up to which day', async () => {
  const [counted] = await owner<
    { n: number }[]
  >`select count(*)::int as n from console.analytics_releases`;
  const n = counted!.n;
  const card = (await cardsOf(officer)).get('analytics')!;
  expect(card).toMatchObject({ more: '/analytics', count: null });
  if (n === 0) expect(card.lines).toEqual([]);
  // Two daily releases: the card counts them and names the last day covered (the end is exclusive).
  for (const day of ['2026-03-01', '2026-03-02']) {
    await owner`
      insert into console.analytics_releases
        (id, kind, dataset, period_start, period_end, epsilon_micros, min_cohort, params, released_at)
      values (gen_random_uuid(), 'daily', 'usage', ${day}::date, ${day}::date + 1, 1000, 10, '{}',
              now())`;
  }
  const after = (await cardsOf(officer)).get('analytics')!;
  const [latest] = await owner<{ last: string }[]>`
    select (max(period_end) filter (where kind = 'daily') - 1)::text as last
    from console.analytics_releases`;
  const last = latest!.last;
  expect(after.lines).toEqual([
    {
      href: '/analytics',
      text: `${(n + 2).toLocaleString('en-US')} releases published; figures up to ${last}`,
    },
  ]);
});
