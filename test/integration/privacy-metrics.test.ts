import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { privacyMetrics } from '#app/modules/privacy/metrics.server.ts';
import { InputError } from '#app/utils/errors.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import { ownerConnection } from './users-fixtures.ts';

// Issue 12, metrics (/privacy/metrics and its CSV): received, completed and denied by type and
// month; median and mean days to complete; the share completed on or before the effective due
// day. Rows written straight into console.privacy_requests so every figure is known.

useTestDatabase();
let owner: postgres.Sql;
let server: TestServer;
let officerCookie: string;
let agentCookie: string;

async function request(r: {
  type: string;
  state: string;
  received: string;
  closed?: string;
  due: string;
}) {
  const completed = r.state === 'completed' ? r.closed : null;
  await owner`
    insert into console.privacy_requests (id, user_id, type, state, source, verified, regime,
      received_at, due_day, completed_at, closed_at, created_at, updated_at)
    values (${randomUUID()}, ${randomUUID()}, ${r.type}, ${r.state}, 'api', false, 'gdpr',
      ${r.received}, ${r.due}, ${completed ?? null}, ${r.closed ?? null}, ${r.received},
      ${r.received})`;
}

beforeAll(async () => {
  owner = ownerConnection();
  // A: access, 10 days, on time. B: access, 50 days, late (closes in March). C: access, denied
  // in February. D: erasure, 20 days, on time. E: rectification received before the range,
  // completed in January after 214 days, late. F: an open request, received in March.
  await request({
    type: 'access',
    state: 'completed',
    received: '2026-01-05T00:00:00Z',
    closed: '2026-01-15T00:00:00Z',
    due: '2026-02-05',
  });
  await request({
    type: 'access',
    state: 'completed',
    received: '2026-01-10T00:00:00Z',
    closed: '2026-03-01T00:00:00Z',
    due: '2026-02-10',
  });
  await request({
    type: 'access',
    state: 'denied',
    received: '2026-01-20T00:00:00Z',
    closed: '2026-02-01T00:00:00Z',
    due: '2026-02-20',
  });
  await request({
    type: 'erasure',
    state: 'completed',
    received: '2026-02-01T00:00:00Z',
    closed: '2026-02-21T00:00:00Z',
    due: '2026-03-02',
  });
  await request({
    type: 'rectification',
    state: 'completed',
    received: '2025-06-01T00:00:00Z',
    closed: '2026-01-01T00:00:00Z',
    due: '2025-07-01',
  });
  await request({
    type: 'objection',
    state: 'received',
    received: '2026-03-03T00:00:00Z',
    due: '2026-04-03',
  });
  // Outside the range altogether.
  await request({
    type: 'access',
    state: 'completed',
    received: '2025-02-01T00:00:00Z',
    closed: '2025-02-03T00:00:00Z',
    due: '2025-03-01',
  });
  const officer = await createStaffWithRoles(['privacy_officer']);
  const agent = await createStaffWithRoles(['support_agent']);
  server = await startTestServer();
  officerCookie = await signInAs(server.baseUrl, officer.email, officer.password);
  agentCookie = await signInAs(server.baseUrl, agent.email, agent.password);
});

afterAll(async () => {
  await server?.close();
  await owner.end();
});

const RANGE = { from: '2026-01', to: '2026-03' };

test('received by arrival month, completed and denied by closing month, days and on-time share', async () => {
  const m = await privacyMetrics(RANGE);
  expect(m.months).toEqual(['2026-01', '2026-02', '2026-03']);
  const cell = (month: string | null, type: string | null) =>
    m.cells.find((c) => c.month === month && c.type === type);
  expect(cell(null, null)).toEqual({
    month: null,
    type: null,
    received: 5,
    completed: 4,
    denied: 1,
    medianDays: 35,
    meanDays: 73.5,
    completedOnTime: 2,
    onTimeShare: 0.5,
  });
  expect(cell(null, 'access')).toMatchObject({
    received: 3,
    completed: 2,
    denied: 1,
    medianDays: 30,
    meanDays: 30,
    completedOnTime: 1,
  });
  expect(cell('2026-01', null)).toMatchObject({ received: 3, completed: 2, denied: 0 });
  expect(cell('2026-02', null)).toMatchObject({ received: 1, completed: 1, denied: 1 });
  expect(cell('2026-03', null)).toMatchObject({ received: 1, completed: 1, denied: 0 });
  expect(cell('2026-02', 'erasure')).toMatchObject({
    completed: 1,
    medianDays: 20,
    onTimeShare: 1,
  });
  expect(cell('2026-01', 'rectification')).toMatchObject({
    received: 0,
    completed: 1,
    medianDays: 214,
    onTimeShare: 0,
  });
});

test('a bad month names its field', async () => {
  for (const [params, field] of [
    [{ from: '2026-13' }, 'from'],
    [{ to: 'march' }, 'to'],
    [{ from: '2026-05', to: '2026-01' }, 'from'],
    [{ from: '2000-01', to: '2026-01' }, 'to'],
  ] as const) {
    const error = await privacyMetrics(params).catch((e: unknown) => e);
    expect(error, JSON.stringify(params)).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
  }
});

test('the page and its CSV, for privacy officers only', async () => {
  const page = await fetchAs(officerCookie, '/privacy/metrics?from=2026-01&to=2026-03');
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('Privacy request metrics');
  expect(html).toContain('data-metric="on-time">50.0%');
  const csv = await fetchAs(officerCookie, '/privacy/metrics.csv?from=2026-01&to=2026-03');
  expect(csv.status).toBe(200);
  expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
  const lines = (await csv.text()).replace(/^\uFEFF/, '').split('\r\n');
  expect(lines[0]).toBe(
    'month,type,received,completed,denied,median_days_to_complete,mean_days_to_complete,completed_on_time,on_time_share',
  );
  expect(lines).toContain('all,all,5,4,1,35,73.5,2,0.5');
  expect(lines).toContain('2026-01,access,3,1,0,10,10,1,1');
  expect((await fetchAs(officerCookie, '/privacy/metrics?from=2026-13')).status).toBe(400);
  expect((await fetchAs(agentCookie, '/privacy/metrics')).status).toBe(403);
  expect((await fetchAs(agentCookie, '/privacy/metrics.csv')).status).toBe(403);
  const queue = await fetchAs(officerCookie, '/privacy');
  expect(await queue.text()).toContain('href="/privacy/metrics"');
});
