import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '../support/db.ts';
import { insertAnalyticsUsers, type UserSpec } from './analytics-fixtures.ts';
import postgres from 'postgres';
import { BUILD_LOCK_KEY, runAnalyticsBuild } from '#app/modules/analytics/build.server.ts';
import {
  analyticsConfig,
  DAILY_SPLIT,
  DEFAULT_ANALYTICS_CONFIG,
  MONTHLY_SPLIT,
  splitEpsilon,
  type AnalyticsConfig,
} from '#app/modules/analytics/config.server.ts';
import {
  buildDayContributions,
  purgeWithdrawnContributions,
} from '#app/modules/analytics/contributions.server.ts';
import { addDays } from '#app/modules/analytics/periods.server.ts';
import { seededRandomSource } from '#app/modules/analytics/random.server.ts';
import {
  draftDaily,
  draftMonthly,
  draftPreferences,
  draftWeekly,
  publishRelease,
  type ReleaseDraft,
} from '#app/modules/analytics/releases.server.ts';
import type { Model, UsageKind } from '#app/modules/vocabulary.ts';

// The analytics build against a real database (law 6): contributions are bounded per user and day
// and leave out users who objected; no stored cell is below k; the budget refuses an over-spend
// under concurrency; releases are stored once and never redrawn; a day's build can be repeated.

const { sql } = useTestDatabase();

const AT = new Date('2026-03-20T05:00:00Z');
const CONFIG: AnalyticsConfig = { ...DEFAULT_ANALYTICS_CONFIG, backfillDays: 60 };
const DAY = '2026-02-10';

const addUsers = (n: number, spec?: UserSpec) => insertAnalyticsUsers(sql(), n, spec);

interface EventSpec {
  kind?: UsageKind;
  model?: Model | null;
  tokens?: number;
  country?: string;
  count?: number;
}

async function addEvents(userIds: readonly string[], day: string, spec: EventSpec = {}) {
  const rows = userIds.flatMap((userId) =>
    Array.from({ length: spec.count ?? 1 }, (_, i) => ({
      id: randomUUID(),
      user_id: userId,
      kind: spec.kind ?? 'session_start',
      model: spec.model ?? null,
      tokens: spec.tokens ?? 0,
      country: spec.country ?? 'US',
      occurred_at: new Date(Date.parse(`${day}T08:00:00Z`) + i * 1000).toISOString(),
    })),
  );
  for (let i = 0; i < rows.length; i += 5000) {
    await sql()`insert into product.usage_events ${sql()(rows.slice(i, i + 5000))}`;
  }
}

async function contributionRows(day: string) {
  return sql()`
    select c.user_id::text, c.plan::text, c.country, c.messages, c.conversations, c.tokens,
           coalesce((select json_agg(json_build_array(m.model, m.conversations) order by m.model)
                       from console.analytics_contribution_models m
                      where m.day = c.day and m.user_id = c.user_id), '[]') as models
      from console.analytics_contributions c
     where c.day = ${day}
     order by c.user_id`;
}

let heavy: string;
let objector: string;
let lateObjector: string;

beforeAll(async () => {
  // 150 users active on DAY: 120 in the US on the free plan, 20 in Germany on pro, 10 with a
  // country code that is not on the list; one heavy user far over every bound; one who objected.
  const us = await addUsers(120);
  const de = await addUsers(20, { plan: 'pro', country: 'DE' });
  const odd = await addUsers(10, { plan: 'team' });
  heavy = (await addUsers(1, { plan: 'enterprise' }))[0]!;
  objector = (await addUsers(1, { objected: true, plan: 'enterprise' }))[0]!;
  lateObjector = (await addUsers(1))[0]!;
  await addEvents(us, DAY);
  await addEvents(de, DAY, { country: 'DE' });
  await addEvents(odd, DAY, { country: 'XX' });
  await addEvents(us.slice(0, 80), DAY, { kind: 'conversation_start', model: 'orca-1' });
  await addEvents(us.slice(0, 80), DAY, { kind: 'message', tokens: 300, count: 2 });
  for (const who of [heavy, objector, lateObjector]) {
    await addEvents([who], DAY, { kind: 'message', tokens: 4_000, count: 60 });
    await addEvents([who], DAY, { kind: 'conversation_start', model: 'orca-2', count: 7 });
    await addEvents([who], DAY, { kind: 'conversation_start', model: 'orca-mini', count: 2 });
    await addEvents([who], DAY, { country: 'ZZ' });
  }
  // Activity on the other days of that week and month, so weekly and monthly releases have users.
  for (const day of ['2026-02-09', '2026-02-11', '2026-02-12', '2026-02-20']) {
    await addEvents(us.slice(0, 90), day);
  }
});

describe('contributions', () => {
  it('count each user once per day, clamp messages, tokens and conversations, and leave objectors out', async () => {
    const build = await buildDayContributions(DAY, CONFIG);
    expect(build.users).toBe(152); // 150 regular, the heavy user and the late objector
    const rows = await contributionRows(DAY);
    expect(rows.map((r) => r.user_id)).not.toContain(objector);
    const heavyRow = rows.find((r) => r.user_id === heavy)!;
    expect(heavyRow).toMatchObject({
      plan: 'enterprise',
      messages: CONFIG.maxMessagesPerDay,
      conversations: CONFIG.maxConversationsPerDay,
      tokens: CONFIG.maxTokensPerDay,
      country: 'US', // the most frequent country of the day's events
    });
    // Conversations by model are clamped together: the most used model first, to the day's bound.
    expect(heavyRow.models).toEqual([['orca-2', CONFIG.maxConversationsPerDay]]);
    for (const r of rows) {
      expect(r.messages).toBeLessThanOrEqual(CONFIG.maxMessagesPerDay);
      expect(r.conversations).toBeLessThanOrEqual(CONFIG.maxConversationsPerDay);
      expect(r.tokens).toBeLessThanOrEqual(CONFIG.maxTokensPerDay);
      const models = (r.models as [string, number][]).reduce((s, [, n]) => s + n, 0);
      expect(models).toBeLessThanOrEqual(CONFIG.maxConversationsPerDay);
    }
  });

  it('rebuilding a day is idempotent, and picks up late events', async () => {
    await buildDayContributions(DAY, CONFIG);
    const first = await contributionRows(DAY);
    await buildDayContributions(DAY, CONFIG);
    expect(await contributionRows(DAY)).toEqual(first);

    const [late] = await addUsers(1);
    await addEvents([late!], DAY, { kind: 'message', tokens: 10 });
    const again = await buildDayContributions(DAY, CONFIG);
    expect(again.users).toBe(first.length + 1);
    const rows = await contributionRows(DAY);
    expect(rows.filter((r) => r.user_id !== late)).toEqual(first);
    await sql()`delete from product.usage_events where user_id = ${late!}`;
    await buildDayContributions(DAY, CONFIG);
    expect(await contributionRows(DAY)).toEqual(first);
  });

  it('an objection made after the build removes the user from every day at the next purge', async () => {
    await buildDayContributions(DAY, CONFIG);
    expect((await contributionRows(DAY)).map((r) => r.user_id)).toContain(lateObjector);
    await sql()`update product.data_use_preferences set allowed = false
                 where user_id = ${lateObjector} and purpose = 'analytics'`;
    try {
      await purgeWithdrawnContributions();
      expect((await contributionRows(DAY)).map((r) => r.user_id)).not.toContain(lateObjector);
      const [models] = await sql()`select count(*)::int as n
        from console.analytics_contribution_models where user_id = ${lateObjector}`;
      expect(models!.n).toBe(0);
    } finally {
      await sql()`update product.data_use_preferences set allowed = true
                   where user_id = ${lateObjector} and purpose = 'analytics'`;
      await buildDayContributions(DAY, CONFIG);
    }
  });
});

describe('erasure', () => {
  it('the rows of an erased account go at the next purge', async () => {
    const [erased] = await addUsers(1);
    await addEvents([erased!], DAY, { kind: 'conversation_start', model: 'orca-1' });
    await buildDayContributions(DAY, CONFIG);
    expect((await contributionRows(DAY)).map((r) => r.user_id)).toContain(erased);
    await sql()`delete from product.usage_events where user_id = ${erased!}`;
    await sql()`delete from product.data_use_preferences where user_id = ${erased!}`;
    await sql()`delete from product.users where id = ${erased!}`;
    expect(await purgeWithdrawnContributions()).toBe(2);
    expect((await contributionRows(DAY)).map((r) => r.user_id)).not.toContain(erased);
    const [left] = await sql()`select
      (select count(*) from console.analytics_contributors where user_id = ${erased!})::int as n`;
    expect(left!.n).toBe(0);
  });
});

describe('a user who objected contributes nothing', () => {
  // With the same noise (a seeded source), a release drawn with the objector's events in the
  // database and one drawn with them deleted must be identical, cell for cell.
  async function drafts(seed: string) {
    await buildDayContributions(DAY, CONFIG);
    return {
      daily: await draftDaily(DAY, CONFIG, seededRandomSource(`${seed}/d`)),
      weekly: await draftWeekly('2026-02-09', CONFIG, seededRandomSource(`${seed}/w`)),
      monthly: await draftMonthly('2026-02-01', CONFIG, seededRandomSource(`${seed}/m`)),
    };
  }

  it('in daily, weekly and monthly releases', async () => {
    const withObjector = await drafts('objector');
    const saved = await sql()`select * from product.usage_events where user_id = ${objector}`;
    expect(saved.length).toBeGreaterThan(0);
    await sql()`delete from product.usage_events where user_id = ${objector}`;
    try {
      const without = await drafts('objector');
      expect(without).toEqual(withObjector);
      // …and the check has teeth: another heavy user's events do change the release.
      await sql()`delete from product.usage_events where user_id = ${heavy}`;
      const withoutHeavy = await drafts('objector');
      expect(withoutHeavy.daily.cells).not.toEqual(withObjector.daily.cells);
    } finally {
      await sql()`insert into product.usage_events ${sql()(saved)}`;
      await sql()`delete from product.usage_events where user_id = ${heavy}`;
      await addEvents([heavy], DAY, { kind: 'message', tokens: 4_000, count: 60 });
      await addEvents([heavy], DAY, { kind: 'conversation_start', model: 'orca-2', count: 7 });
      await addEvents([heavy], DAY, { kind: 'conversation_start', model: 'orca-mini', count: 2 });
      await addEvents([heavy], DAY, { country: 'ZZ' });
      await buildDayContributions(DAY, CONFIG);
    }
  });
});

describe('the full build', () => {
  // Fixed noise, so that which small cells pass k is the same at every run (the samplers' own
  // statistics are tested in app/modules/analytics/*.test.ts).
  const rng = seededRandomSource('analytics-build-test');
  let summary: Awaited<ReturnType<typeof runAnalyticsBuild>>;
  beforeAll(async () => {
    summary = await runAnalyticsBuild({ config: CONFIG, at: AT, rng });
  });

  it('releases every complete day, week and month of the window once, and this month’s preferences', () => {
    expect(summary.status).toBe('done');
    expect(summary.days).toBe(60);
    // 2026-01-19 .. 2026-03-19: 60 days; ISO weeks 2026-01-19 .. 2026-03-09; February.
    expect(summary.released).toEqual({ daily: 60, weekly: 8, monthly: 1, preferences: 1 });
    expect(summary.refused).toEqual([]);
  });

  it('stores no cell whose noisy distinct-user count is below k (law 6)', async () => {
    const cells = await sql()`
      select r.kind, r.period_start::text, r.min_cohort, c.metric, c.category, c.value, c.cohort
        from console.analytics_cells c join console.analytics_releases r on r.id = c.release_id`;
    expect(cells.length).toBeGreaterThan(0);
    for (const c of cells) {
      expect(Number(c.cohort)).toBeGreaterThanOrEqual(c.min_cohort);
      expect(c.min_cohort).toBe(CONFIG.minCohort);
      // Counts of users are their own cohort.
      if (!['messages', 'conversations', 'tokens', 'model_conversations'].includes(c.metric)) {
        expect(Number(c.value)).toBeGreaterThanOrEqual(CONFIG.minCohort);
      }
    }
    // The small groups never show: 20 German users, 10 users of an unlisted code, 1 enterprise
    // user, 2 users of orca-2.
    const monthly = cells.filter((c) => c.kind === 'monthly');
    const shown = (metric: string) =>
      monthly.filter((c) => c.metric === metric).map((c) => c.category);
    expect(shown('country')).toEqual(['US']);
    expect(shown('plan')).toEqual(['free']);
    expect(shown('model_users')).toEqual(['orca-1']);
    // Days with no activity have a release with no cell at all.
    const [empty] = await sql()`
      select count(*)::int as n from console.analytics_releases r
       where r.kind = 'daily' and not exists (select 1 from console.analytics_cells c where c.release_id = r.id)`;
    expect(empty!.n).toBeGreaterThan(50);
  });

  it('the database refuses a cell below its release’s k, and the app cannot change a release', async () => {
    const [release] = await sql()`select id from console.analytics_releases limit 1`;
    await expect(
      sql()`insert into console.analytics_cells (release_id, metric, category, value, half_width, low_precision, cohort)
            values (${release!.id}, 'probe', '', 3, 7, true, 3)`,
    ).rejects.toThrow(/below k/);
    await expect(sql()`update console.analytics_cells set value = value + 1`).rejects.toThrow(
      /permission denied/,
    );
    await expect(sql()`delete from console.analytics_releases`).rejects.toThrow(
      /permission denied/,
    );
    await expect(sql()`delete from console.analytics_ledger`).rejects.toThrow(/permission denied/);
  });

  it('spends per month of data, and a second run releases nothing and redraws nothing', async () => {
    const before = await sql()`
      select c.* from console.analytics_cells c order by c.release_id, c.metric, c.category`;
    const budgets = await sql()`select dataset, month, spent_micros::bigint::text as spent
                                  from console.analytics_budgets order by dataset, month`;
    // February: 28 days × 1 + 5 ISO weeks touching it × 0.5 + the month × 2 = 32.5.
    expect(budgets).toContainEqual({ dataset: 'usage', month: '2026-02', spent: '32500000' });
    expect(budgets).toContainEqual({ dataset: 'preferences', month: '2026-03', spent: '1000000' });
    const again = await runAnalyticsBuild({
      config: CONFIG,
      at: new Date(AT.getTime() + 3600_000),
      rng,
    });
    expect(again.released).toEqual({ daily: 0, weekly: 0, monthly: 0, preferences: 0 });
    expect(again.days).toBe(0);
    expect(
      await sql()`select c.* from console.analytics_cells c order by c.release_id, c.metric, c.category`,
    ).toEqual(before);
    expect(
      await sql()`select dataset, month, spent_micros::bigint::text as spent
                    from console.analytics_budgets order by dataset, month`,
    ).toEqual(budgets);
  });

  it('the next day is built and released incrementally', async () => {
    const next = new Date(AT.getTime() + 86_400_000);
    const result = await runAnalyticsBuild({ config: CONFIG, at: next, rng });
    expect(result.days).toBe(1);
    expect(result.released.daily).toBe(1);
    const [row] = await sql()`select count(*)::int as n from console.analytics_releases
                               where kind = 'daily' and period_start = '2026-03-20'`;
    expect(row!.n).toBe(1);
  });

  it('one build at a time: while another holds the build lock, a run steps aside', async () => {
    const later = new Date(AT.getTime() + 2 * 86_400_000);
    const other = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await other`select pg_advisory_lock(${BUILD_LOCK_KEY})`;
      const blocked = await runAnalyticsBuild({ config: CONFIG, at: later, rng });
      expect(blocked).toMatchObject({ status: 'busy', days: 0 });
      await other`select pg_advisory_unlock(${BUILD_LOCK_KEY})`;
      const done = await runAnalyticsBuild({ config: CONFIG, at: later, rng });
      expect(done).toMatchObject({ status: 'done', days: 1 });
    } finally {
      await other.end();
    }
  });
});

describe('the privacy budget', () => {
  const draft = (period: string, months = ['2027-01']): ReleaseDraft => ({
    kind: 'daily',
    periodStart: period,
    periodEnd: addDays(period, 1),
    months,
    epsilonMicros: 1_000_000,
    minCohort: 50,
    params: {},
    cells: [],
  });
  const tight = { ...CONFIG, usageBudgetMicros: 2_500_000 };

  it('refuses a release that would go over, allows spending exactly to the budget, and records both', async () => {
    const at = new Date('2027-02-01T01:00:00Z');
    expect((await publishRelease(draft('2027-01-01'), tight, at)).status).toBe('released');
    expect((await publishRelease(draft('2027-01-02'), tight, at)).status).toBe('released');
    const refused = await publishRelease(draft('2027-01-03'), tight, at);
    expect(refused).toEqual({
      status: 'refused',
      month: '2027-01',
      spentMicros: 2_000_000,
      budgetMicros: 2_500_000,
    });
    const exact = await publishRelease(
      { ...draft('2027-01-04'), epsilonMicros: 500_000 },
      tight,
      at,
    );
    expect(exact.status).toBe('released');
    const [budget] = await sql()`select spent_micros::text as spent from console.analytics_budgets
                                  where dataset = 'usage' and month = '2027-01'`;
    expect(budget!.spent).toBe('2500000');
    const ledger =
      await sql()`select period_start::text as period, outcome, epsilon_micros::text as eps
                                 from console.analytics_ledger where month = '2027-01' order by id`;
    expect(ledger.map((l) => `${l.period} ${l.outcome}`)).toEqual([
      '2027-01-01 spent',
      '2027-01-02 spent',
      '2027-01-03 refused',
      '2027-01-04 spent',
    ]);
    const [stored] = await sql()`select count(*)::int as n from console.analytics_releases
                                  where period_start = '2027-01-03'`;
    expect(stored!.n).toBe(0);
  });

  it('under concurrency, the row lock lets exactly as many releases through as the budget holds', async () => {
    const at = new Date('2027-04-01T01:00:00Z');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        publishRelease(draft(`2027-03-${String(i + 1).padStart(2, '0')}`, ['2027-03']), tight, at),
      ),
    );
    expect(results.filter((r) => r.status === 'released')).toHaveLength(2);
    expect(results.filter((r) => r.status === 'refused')).toHaveLength(6);
    const [budget] = await sql()`select spent_micros::text as spent from console.analytics_budgets
                                  where dataset = 'usage' and month = '2027-03'`;
    expect(budget!.spent).toBe('2000000');
  });

  it('a release over two months is charged in both, and refused if either is spent', async () => {
    const at = new Date('2027-06-10T01:00:00Z');
    const week: ReleaseDraft = {
      ...draft('2027-05-31', ['2027-05', '2027-06']),
      kind: 'weekly',
      periodEnd: '2027-06-07',
    };
    expect((await publishRelease(week, tight, at)).status).toBe('released');
    const spent =
      await sql()`select month, spent_micros::text as spent from console.analytics_budgets
                               where dataset = 'usage' and month in ('2027-05', '2027-06') order by month`;
    expect(spent).toEqual([
      { month: '2027-05', spent: '1000000' },
      { month: '2027-06', spent: '1000000' },
    ]);
    await publishRelease(draft('2027-06-01', ['2027-06']), tight, at);
    const second = await publishRelease(
      { ...week, periodStart: '2027-06-07', periodEnd: '2027-06-14' },
      tight,
      at,
    );
    expect(second).toMatchObject({ status: 'refused', month: '2027-06' });
  });

  it('a refused period is not retried under the same budget, and is released once the budget allows', async () => {
    const at = new Date('2026-03-25T05:00:00Z');
    const small = { ...CONFIG, usageBudgetMicros: 1_000_000, backfillDays: 1 };
    // 2026-03-24's daily release: March has long spent more than ε = 1.
    const first = await runAnalyticsBuild({ config: small, at });
    expect(first.refused).toEqual([{ kind: 'daily', period: '2026-03-24', month: '2026-03' }]);
    const second = await runAnalyticsBuild({ config: small, at });
    expect(second.refused).toEqual([]);
    expect(second.days).toBe(0);
    const third = await runAnalyticsBuild({ config: CONFIG, at });
    expect(third.refused).toEqual([]);
    const [row] = await sql()`select count(*)::int as n from console.analytics_releases
                               where kind = 'daily' and period_start = '2026-03-24'`;
    expect(row!.n).toBe(1);
  });

  it('the preferences release counts opt-outs of accounts that are not closed', async () => {
    const d = await draftPreferences('2026-03-01', AT, CONFIG, seededRandomSource('prefs'));
    expect(d.params.opted_out).toMatchObject({ sensitivity: 4 });
    // 1 objector of analytics: far below k, so no analytics cell; the population is shown.
    expect(d.cells.map((c) => `${c.metric}/${c.category}`)).toEqual(['population/']);
  });
});

describe('the configuration', () => {
  it('reads the environment, and names a wrong variable', () => {
    expect(analyticsConfig({})).toEqual(DEFAULT_ANALYTICS_CONFIG);
    expect(
      analyticsConfig({
        CUSTODIAN_ANALYTICS_DAILY_EPSILON: '0.25',
        CUSTODIAN_ANALYTICS_MIN_COHORT: '100',
      }),
    ).toMatchObject({ dailyEpsilonMicros: 250_000, minCohort: 100 });
    expect(() => analyticsConfig({ CUSTODIAN_ANALYTICS_DAILY_EPSILON: '1e-3' })).toThrow(
      /CUSTODIAN_ANALYTICS_DAILY_EPSILON/,
    );
    expect(() => analyticsConfig({ CUSTODIAN_ANALYTICS_USAGE_BUDGET: '0' })).toThrow(
      /CUSTODIAN_ANALYTICS_USAGE_BUDGET: must be greater than 0/,
    );
    expect(() => analyticsConfig({ CUSTODIAN_ANALYTICS_MIN_COHORT: 'many' })).toThrow(
      /CUSTODIAN_ANALYTICS_MIN_COHORT/,
    );
  });

  it('splits a release’s ε between its figures exactly', () => {
    const daily = splitEpsilon(1_000_000, DAILY_SPLIT);
    expect(daily).toEqual({
      dau: 400_000,
      messages: 300_000,
      conversations: 200_000,
      tokens: 100_000,
    });
    const odd = splitEpsilon(1_000_003, MONTHLY_SPLIT);
    expect(Object.values(odd).reduce((a, b) => a + b, 0)).toBe(1_000_003);
    expect(() => splitEpsilon(3, DAILY_SPLIT)).toThrow(/too small/);
  });
});
