import { readAudit, lastSeq } from '../support/audit.ts';
import {
  ownerUrl,
  restoreDatabaseState,
  saveDatabaseState,
  testKeyRing,
  useTestDatabase,
} from '../support/db.ts';
import {
  createStaffWithRoles,
  decodeEntities,
  fetchAs,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import { runAnalyticsBuild, type BuildSummary } from '#app/modules/analytics/build.server.ts';
import { DEFAULT_ANALYTICS_CONFIG } from '#app/modules/analytics/config.server.ts';
import { addDays, dayOf } from '#app/modules/analytics/periods.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';

// The analytics pages over HTTP, on the demo data set: an empty state before the first build, then
// pages that read the stored releases only (the same numbers at every load, and the numbers in the
// database), a CSV of the released figures that is audited, bad ranges named, refusals shown.
// Each test starts from a copy of one of two saved states, whatever the others did or failed to:
// the demo data before any release, or the same after the first analytics build. An analytics
// build takes seconds on a quiet machine, minutes on an overloaded one: the tests that run one
// allow SLOW, the set-up (seed, build, two copies) ten minutes.

const { sql } = useTestDatabase();
const SLOW = { timeout: 300_000 };

let server: TestServer;
let lead: string;
let seeded: string;
let released: string;
let firstBuild: BuildSummary;
const DATA = '_data=routes%2Fanalytics._index';

interface PageData {
  exists: boolean;
  range: { from: string; to: string };
  fieldErrors: Record<string, string> | null;
  daily: {
    day: string;
    dau: { value: number; low: number; high: number; lowPrecision: boolean } | null;
  }[];
  budgets: { dataset: string; month: string; spent: string; budget: string }[];
  refusals: { kind: string; period: string }[];
}

async function pageData(query = ''): Promise<PageData> {
  const response = await fetchAs(lead, `/analytics?${query}${query ? '&' : ''}${DATA}`);
  expect(response.status).toBe(200);
  return (await response.json()) as PageData;
}

beforeAll(async () => {
  await seedProductData(ownerUrl(), testKeyRing, {
    users: 2000,
    messagesPerUser: 10,
    eventsPerUser: 30,
    seed: 1,
    append: false,
  });
  server = await startTestServer();
  const staff = await createStaffWithRoles(['support_lead']);
  lead = await signInAs(server.baseUrl, staff.email, staff.password);
  seeded = await saveDatabaseState();
  firstBuild = await runAnalyticsBuild();
  released = await saveDatabaseState();
}, 600_000);

afterAll(async () => {
  await server?.close();
});

describe('/analytics before the first release', () => {
  beforeEach(() => restoreDatabaseState(seeded));

  it('shows an empty state', async () => {
    const response = await fetchAs(lead, '/analytics');
    expect(response.status).toBe(200);
    const html = decodeEntities(await response.text());
    expect(html).toContain('No release yet');
    expect(html).not.toContain('Download the released figures');
  });
});

describe('/analytics', SLOW, () => {
  beforeEach(() => restoreDatabaseState(released));

  it('after the build, reads the stored releases: the same numbers at every load', async () => {
    expect(firstBuild.released.daily).toBe(DEFAULT_ANALYTICS_CONFIG.backfillDays);

    const response = await fetchAs(lead, '/analytics');
    expect(response.status).toBe(200);
    const html = decodeEntities(await response.text());
    for (const title of [
      'Daily active users',
      'Weekly active users',
      'Monthly active users',
      'Messages per day',
      'Conversations per day',
      'Conversations by model',
      'Plan mix',
      'Countries above the threshold',
      'Opt-out rates per purpose',
      'Privacy budget',
    ]) {
      expect(html).toContain(title);
    }

    const first = await pageData();
    const second = await pageData();
    expect(second).toEqual(first);
    expect(first.exists).toBe(true);
    expect(first.daily).toHaveLength(90);
    expect(first.range.to).toBe(addDays(dayOf(now()), -1));

    // The page's figures are the stored cells, untouched.
    const stored = await sql()`
      select r.period_start::text as day, c.value::int as value, c.half_width as hw
        from console.analytics_cells c join console.analytics_releases r on r.id = c.release_id
       where r.kind = 'daily' and c.metric = 'dau' and r.period_start >= ${first.range.from}`;
    const shown = first.daily.filter((d) => d.dau);
    expect(shown.length).toBe(stored.length);
    for (const s of stored) {
      const d = first.daily.find((x) => x.day === s.day)!;
      expect(d.dau).toMatchObject({ value: s.value, low: s.value - s.hw, high: s.value + s.hw });
      expect(d.dau!.value).toBeGreaterThanOrEqual(DEFAULT_ANALYTICS_CONFIG.minCohort);
    }

    // A second build changes nothing the page shows.
    await runAnalyticsBuild();
    expect(await pageData()).toEqual(first);
  });

  it('answers fast, whatever the number of events: it reads releases only', async () => {
    // Beside each load, the same server's lightest signed-in answer (the root loader: session and
    // staff member): on an overloaded machine both slow down, and the bar moves with them.
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const times: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < 10; i++) {
      let t = performance.now();
      await pageData();
      times.push(performance.now() - t);
      t = performance.now();
      expect((await fetchAs(lead, '/?_data=root')).status).toBe(200);
      reference.push(performance.now() - t);
    }
    expect(median(times)).toBeLessThan(Math.max(200, 5 * median(reference)));
  });

  it('names a bad date range and answers 400, showing the default range', async () => {
    const response = await fetchAs(lead, `/analytics?from=2026-02-30&${DATA}`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as PageData;
    expect(body.fieldErrors).toEqual({ from: 'From: must be a date written YYYY-MM-DD' });
    const reversed = await fetchAs(lead, `/analytics?from=2026-05-02&to=2026-05-01&${DATA}`);
    expect(reversed.status).toBe(400);
    expect(((await reversed.json()) as PageData).fieldErrors).toEqual({
      to: 'To: must not be before the start date',
    });
    const csv = await fetchAs(lead, '/analytics/csv?to=soon');
    expect(csv.status).toBe(400);
    expect(await csv.text()).toContain('To: must be a date written YYYY-MM-DD');
  });

  it('a custom range shows exactly its days', async () => {
    const to = addDays(dayOf(now()), -10);
    const from = addDays(to, -29);
    const data = await pageData(`from=${from}&to=${to}`);
    expect(data.range).toEqual({ from, to });
    expect(data.daily.map((d) => d.day)).toEqual(
      Array.from({ length: 30 }, (_, i) => addDays(from, i)),
    );
  });
});

describe('/analytics/csv', () => {
  beforeEach(() => restoreDatabaseState(released));

  it('holds the released figures only, through the one CSV writer, and is audited first', async () => {
    const before = await lastSeq();
    const data = await pageData();
    const response = await fetchAs(lead, '/analytics/csv');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = (await response.text()).replace(/^\uFEFF/, '');
    const [header, ...lines] = text.trimEnd().split('\r\n');
    expect(header).toBe(
      'release,period_start,period_end,figure,category,value,ci95_low,ci95_high,low_precision,release_epsilon,min_cohort_k,released_at',
    );
    expect(lines.length).toBe(Number(response.headers.get('x-custodian-rows')));
    // Every DAU on the page is a row of the CSV with the same value and interval.
    for (const d of data.daily.filter((x) => x.dau)) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^daily,${d.day},${addDays(d.day, 1)},dau,,${d.dau!.value},${d.dau!.low},${d.dau!.high},${d.dau!.lowPrecision},1,50,`,
          ),
        ),
      );
    }
    // No user ids or raw rows: nothing that looks like a UUID.
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);

    const entries = (await readAudit(before)).filter((e) => e.action === 'analytics.export');
    expect(entries).toHaveLength(1);
    expect(entries[0]!.details).toEqual({
      from: data.range.from,
      to: data.range.to,
      releases: expect.any(Number),
      rows: lines.length,
    });
  });
});

describe('the budget on the page', SLOW, () => {
  beforeEach(() => restoreDatabaseState(released));

  it('shows what was spent, and a release the budget refused', async () => {
    const today = dayOf(now());
    const data = await pageData();
    const month = data.range.to.slice(0, 7);
    expect(data.budgets).toContainEqual(
      expect.objectContaining({ dataset: 'usage', month, budget: '36' }),
    );
    // Tomorrow, with a budget already spent: today's release is refused.
    const tomorrow = new Date(now().getTime() + 86_400_000);
    const result = await runAnalyticsBuild({
      at: tomorrow,
      config: { ...DEFAULT_ANALYTICS_CONFIG, usageBudgetMicros: 1_000_000 },
    });
    expect(result.refused).toContainEqual({
      kind: 'daily',
      period: today,
      month: today.slice(0, 7),
    });
    const after = await pageData(`from=${addDays(today, -6)}&to=${today}`);
    expect(after.refusals).toContainEqual(
      expect.objectContaining({ kind: 'daily', period: today }),
    );
    const html = decodeEntities(
      await (await fetchAs(lead, `/analytics?from=${addDays(today, -6)}&to=${today}`)).text(),
    ).replaceAll('<!-- -->', '');
    expect(html).toContain('refused: the budget is spent');
    expect(html).toContain(`The daily release of ${today} needs ε = 1`);
  });
});
