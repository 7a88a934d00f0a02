import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { COUNTRIES, MODELS, PLANS, PURPOSES } from '#app/modules/vocabulary.ts';
import { lockAndCheck, recordRefusal, recordSpend, type Charge } from './budget.server.ts';
import { OBJECTED } from './contributions.server.ts';
import {
  DAILY_SPLIT,
  DATASET_OF,
  MONTHLY_SPLIT,
  PREFERENCES_SPLIT,
  splitEpsilon,
  type AnalyticsConfig,
  type ReleaseKind,
} from './config.server.ts';
import { laplaceForEpsilon, noiseHalfWidth95, type Mechanism } from './noise.ts';
import { addDays, monthsTouched, nextMonthStart } from './periods.server.ts';
import type { RandomSource } from './random.server.ts';
import { job } from '#app/modules/actor.ts';
import {
  isLowPrecision,
  noisyCount,
  partitionSelection,
  partitionSelectionPlan,
  releaseCounts,
  type ReleasedCell,
} from './release.ts';

/** Releases are published by the analytics build job. */
const RELEASER = job('analytics.build');

/**
 * Releases: the true aggregates of one period, read from the contributions, turned into noisy
 * figures (noise drawn here, once) and suppressed below k, then stored together with their budget
 * spend in one transaction. Only the stored noisy figures ever leave; a release is never redrawn.
 */

export interface DraftCell {
  metric: string;
  category: string;
  value: number;
  halfWidth: number;
  lowPrecision: boolean;
  /** The noisy distinct-user count that let the cell through. */
  cohort: number;
}

export interface ReleaseDraft {
  kind: ReleaseKind;
  periodStart: string;
  periodEnd: string;
  /** The budget months of the data read. */
  months: string[];
  epsilonMicros: number;
  minCohort: number;
  params: Record<string, unknown>;
  cells: DraftCell[];
}

interface Figure {
  value: number;
  halfWidth: number;
  lowPrecision: boolean;
}

function noisyFigure(trueValue: number, mechanism: Mechanism, rng: RandomSource): Figure {
  const value = noisyCount(trueValue, mechanism, rng);
  const halfWidth = noiseHalfWidth95(mechanism);
  return { value, halfWidth, lowPrecision: isLowPrecision(value, halfWidth) };
}

function cell(metric: string, category: string, figure: Figure, cohort: number): DraftCell {
  return { metric, category, ...figure, cohort };
}

const mechanismParams = (epsilonMicros: number, sensitivity: number) => ({
  epsilonMicros,
  sensitivity,
  mechanism: 'discrete_laplace',
  halfWidth95: noiseHalfWidth95(laplaceForEpsilon(epsilonMicros, sensitivity)),
});

/** Contributions that may count: not from an objector, not from an erased account. */
const live = (alias: string): SQL => {
  const a = sql.raw(alias);
  return sql`${a}.user_id not in ${OBJECTED}
    and exists (select 1 from product.users u where u.id = ${a}.user_id)`;
};

// ---------------------------------------------------------------------------------------------
// Daily: DAU, messages, conversations and tokens of one UTC day. The cell of a day is its active
// users; the sums are over the same users, so the noisy DAU gates all four.

export async function draftDaily(
  day: string,
  config: AnalyticsConfig,
  rng: RandomSource,
): Promise<ReleaseDraft> {
  const eps = splitEpsilon(config.dailyEpsilonMicros, DAILY_SPLIT);
  const bounds = {
    messages: config.maxMessagesPerDay,
    conversations: config.maxConversationsPerDay,
    tokens: config.maxTokensPerDay,
  };
  // The bounds are applied again here: the sensitivities below hold whatever bounds built the rows.
  const [row] = await getDb().execute<{
    users: number;
    messages: string;
    conversations: string;
    tokens: string;
  }>(sql`
    select count(*)::int as users,
           coalesce(sum(least(c.messages, ${bounds.messages})), 0)::text as messages,
           coalesce(sum(least(c.conversations, ${bounds.conversations})), 0)::text as conversations,
           coalesce(sum(least(c.tokens, ${bounds.tokens})), 0)::text as tokens
      from console.analytics_contributions c
     where c.day = ${day} and ${live('c')}`);
  const truth = row!;
  const k = config.minCohort;
  const dau = noisyFigure(truth.users, laplaceForEpsilon(eps.dau, 1), rng);
  const cells: DraftCell[] = [];
  if (dau.value >= k) {
    cells.push(cell('dau', '', dau, dau.value));
    for (const metric of ['messages', 'conversations', 'tokens'] as const) {
      const mechanism = laplaceForEpsilon(eps[metric], bounds[metric]);
      cells.push(cell(metric, '', noisyFigure(Number(truth[metric]), mechanism, rng), dau.value));
    }
  }
  return {
    kind: 'daily',
    periodStart: day,
    periodEnd: addDays(day, 1),
    months: monthsTouched(day, addDays(day, 1)),
    epsilonMicros: config.dailyEpsilonMicros,
    minCohort: k,
    params: {
      dau: mechanismParams(eps.dau, 1),
      messages: mechanismParams(eps.messages, bounds.messages),
      conversations: mechanismParams(eps.conversations, bounds.conversations),
      tokens: mechanismParams(eps.tokens, bounds.tokens),
      bounds: { perUserDay: bounds },
    },
    cells,
  };
}

// ---------------------------------------------------------------------------------------------
// Weekly: distinct active users of an ISO week (Monday to Sunday).

export async function draftWeekly(
  weekStart: string,
  config: AnalyticsConfig,
  rng: RandomSource,
): Promise<ReleaseDraft> {
  const end = addDays(weekStart, 7);
  const [row] = await getDb().execute<{ users: number }>(sql`
    select count(distinct c.user_id)::int as users
      from console.analytics_contributions c
     where c.day >= ${weekStart} and c.day < ${end} and ${live('c')}`);
  const wau = noisyFigure(row!.users, laplaceForEpsilon(config.weeklyEpsilonMicros, 1), rng);
  return {
    kind: 'weekly',
    periodStart: weekStart,
    periodEnd: end,
    months: monthsTouched(weekStart, end),
    epsilonMicros: config.weeklyEpsilonMicros,
    minCohort: config.minCohort,
    params: { wau: mechanismParams(config.weeklyEpsilonMicros, 1) },
    cells: wau.value >= config.minCohort ? [cell('wau', '', wau, wau.value)] : [],
  };
}

// ---------------------------------------------------------------------------------------------
// Monthly: distinct active users, and how they split by plan, by country and by model. Each user
// falls in one plan and one country (those of their last active day in the month); for models,
// each user keeps their most used `maxModelsPerMonth` models and at most `maxConversationsPerMonth`
// conversations across them.

function countCells(metric: string, released: readonly ReleasedCell<string>[]): DraftCell[] {
  return released.map((c) =>
    cell(
      metric,
      c.key,
      { value: c.noisyUsers, halfWidth: c.interval.halfWidth, lowPrecision: c.lowPrecision },
      c.noisyUsers,
    ),
  );
}

export async function draftMonthly(
  monthStart: string,
  config: AnalyticsConfig,
  rng: RandomSource,
): Promise<ReleaseDraft> {
  const end = nextMonthStart(monthStart);
  const eps = splitEpsilon(config.monthlyEpsilonMicros, MONTHLY_SPLIT);
  const k = config.minCohort;
  const db = getDb();
  const groups = await db.execute<{ metric: string; category: string; users: number }>(sql`
    with latest as (
      select distinct on (c.user_id) c.user_id, c.plan::text as plan, c.country
        from console.analytics_contributions c
       where c.day >= ${monthStart} and c.day < ${end} and ${live('c')}
       order by c.user_id, c.day desc
    )
    select 'mau' as metric, '' as category, count(*)::int as users from latest
    union all
    select 'plan', l.plan, count(*)::int from latest l group by l.plan
    union all
    select 'country', l.country, count(*)::int from latest l group by l.country`);
  const models = await db.execute<{ model: string; users: number; conversations: string }>(sql`
    with per_model as (
      select m.user_id, m.model, sum(m.conversations) as n
        from console.analytics_contribution_models m
       where m.day >= ${monthStart} and m.day < ${end} and ${live('m')}
       group by m.user_id, m.model
    ),
    kept as (
      select pm.*, row_number() over (partition by pm.user_id order by pm.n desc, pm.model) as rank
        from per_model pm
    ),
    clamped as (
      select kp.model,
             least(kp.n, ${config.maxConversationsPerMonth} - coalesce(sum(kp.n) over (
               partition by kp.user_id order by kp.n desc, kp.model
               rows between unbounded preceding and 1 preceding), 0)) as n
        from kept kp
       where kp.rank <= ${config.maxModelsPerMonth}
    )
    select cl.model::text as model, count(*)::int as users, sum(cl.n)::text as conversations
      from clamped cl
     where cl.n > 0
     group by cl.model`);

  const count = (metric: string, category = '') =>
    groups.find((g) => g.metric === metric && g.category === category)?.users ?? 0;
  const cells: DraftCell[] = [];

  const mau = noisyFigure(count('mau'), laplaceForEpsilon(eps.mau, 1), rng);
  if (mau.value >= k) cells.push(cell('mau', '', mau, mau.value));

  const planCells = PLANS.map((plan) => ({ key: plan, users: count('plan', plan) }));
  cells.push(
    ...countCells('plan', releaseCounts(planCells, laplaceForEpsilon(eps.plan, 1), rng, k)),
  );

  // Countries on the public list are all noised; any other code a client reported goes through
  // partition selection, so that a code only a few users share never appears. Each user is in one
  // country, so both parts together are (ε, δ)-DP at the same ε (parallel composition).
  const listed = new Set<string>(COUNTRIES);
  const known = COUNTRIES.map((c) => ({ key: c, users: count('country', c) }));
  const unknown = groups
    .filter((g) => g.metric === 'country' && !listed.has(g.category))
    .map((g) => ({ key: g.category, users: g.users }));
  const selection = { epsilonMicros: eps.country, delta: config.delta, k, maxPartitionsPerUser: 1 };
  cells.push(
    ...countCells('country', releaseCounts(known, laplaceForEpsilon(eps.country, 1), rng, k)),
    ...countCells('country', partitionSelection(unknown, selection, rng)),
  );

  const modelRows = MODELS.map((m) => {
    const r = models.find((x) => x.model === m);
    return { key: m, users: r?.users ?? 0, conversations: Number(r?.conversations ?? 0) };
  });
  const userMechanism = laplaceForEpsilon(eps.model_users, config.maxModelsPerMonth);
  const conversationMechanism = laplaceForEpsilon(
    eps.model_conversations,
    config.maxConversationsPerMonth,
  );
  for (const users of releaseCounts(modelRows, userMechanism, rng, k)) {
    const truth = modelRows.find((m) => m.key === users.key)!;
    cells.push(...countCells('model_users', [users]));
    cells.push(
      cell(
        'model_conversations',
        users.key,
        noisyFigure(truth.conversations, conversationMechanism, rng),
        users.noisyUsers,
      ),
    );
  }

  return {
    kind: 'monthly',
    periodStart: monthStart,
    periodEnd: end,
    months: monthsTouched(monthStart, end),
    epsilonMicros: config.monthlyEpsilonMicros,
    minCohort: k,
    params: {
      mau: mechanismParams(eps.mau, 1),
      plan: mechanismParams(eps.plan, 1),
      country: {
        ...mechanismParams(eps.country, 1),
        delta: config.delta,
        unlistedThreshold: partitionSelectionPlan(selection).threshold,
      },
      model_users: mechanismParams(eps.model_users, config.maxModelsPerMonth),
      model_conversations: mechanismParams(
        eps.model_conversations,
        config.maxConversationsPerMonth,
      ),
      bounds: {
        perUserMonth: {
          models: config.maxModelsPerMonth,
          conversations: config.maxConversationsPerMonth,
        },
      },
    },
    cells,
  };
}

// ---------------------------------------------------------------------------------------------
// Preferences: how many accounts (not closed) have opted out of each purpose, as of the release.
// A user may have opted out of every purpose, so the opted-out counts together have sensitivity
// |PURPOSES|. These come from the preference flags themselves (see ADR 012 for why objections to
// analytics are counted here).

export async function draftPreferences(
  monthStart: string,
  at: Date,
  config: AnalyticsConfig,
  rng: RandomSource,
): Promise<ReleaseDraft> {
  const eps = splitEpsilon(config.preferencesEpsilonMicros, PREFERENCES_SPLIT);
  const k = config.minCohort;
  const rows = await getDb().execute<{ purpose: string; users: number }>(sql`
    select '' as purpose, count(*)::int as users from product.users u where u.status <> 'closed'
    union all
    select p.purpose::text, count(*)::int
      from product.data_use_preferences p
      join product.users u on u.id = p.user_id
     where not p.allowed and u.status <> 'closed'
     group by p.purpose`);
  const users = (purpose: string) => rows.find((r) => r.purpose === purpose)?.users ?? 0;
  const cells: DraftCell[] = [];
  const population = noisyFigure(users(''), laplaceForEpsilon(eps.population, 1), rng);
  if (population.value >= k) cells.push(cell('population', '', population, population.value));
  const optedOut = PURPOSES.map((p) => ({ key: p, users: users(p) }));
  const mechanism = laplaceForEpsilon(eps.opted_out, PURPOSES.length);
  cells.push(...countCells('opted_out', releaseCounts(optedOut, mechanism, rng, k)));
  const end = nextMonthStart(monthStart);
  return {
    kind: 'preferences',
    periodStart: monthStart,
    periodEnd: end,
    months: monthsTouched(monthStart, end),
    epsilonMicros: config.preferencesEpsilonMicros,
    minCohort: k,
    params: {
      snapshotAt: at.toISOString(),
      population: mechanismParams(eps.population, 1),
      opted_out: mechanismParams(eps.opted_out, PURPOSES.length),
    },
    cells,
  };
}

// ---------------------------------------------------------------------------------------------

export type PublishResult =
  | { status: 'released'; releaseId: string; cells: number }
  | { status: 'refused'; month: string; spentMicros: number; budgetMicros: number }
  | { status: 'exists' };

/**
 * Stores a release with its spend, or records the refusal: one transaction, the budget rows
 * locked. A release of the same period that got there first wins and nothing is spent twice.
 */
export async function publishRelease(
  draft: ReleaseDraft,
  config: AnalyticsConfig,
  at: Date,
): Promise<PublishResult> {
  for (const c of draft.cells) {
    if (c.cohort < draft.minCohort) throw new Error(`law 6: ${c.metric} cell below k`);
  }
  const dataset = DATASET_OF[draft.kind];
  const charge: Charge = {
    dataset,
    months: draft.months,
    epsilonMicros: draft.epsilonMicros,
    budgetMicros: dataset === 'usage' ? config.usageBudgetMicros : config.preferencesBudgetMicros,
    kind: draft.kind,
    periodStart: draft.periodStart,
    at,
  };
  const audit = (outcome: 'allowed' | 'denied', cells: number) => ({
    action: 'analytics.release' as const,
    outcome,
    details: {
      kind: draft.kind,
      dataset,
      period: draft.periodStart,
      epsilonMicros: draft.epsilonMicros,
      cells,
      ...(outcome === 'denied' ? { reason: 'budget_exhausted' } : {}),
    },
  });
  return getDb().transaction(async (tx): Promise<PublishResult> => {
    const check = await lockAndCheck(tx, charge);
    const [existing] = await tx.execute(sql`
      select 1 from console.analytics_releases
       where kind = ${draft.kind} and period_start = ${draft.periodStart}`);
    if (existing) return { status: 'exists' };
    if (!check.ok) {
      await recordRefusal(tx, charge, check);
      await recordAudit(RELEASER, audit('denied', 0), tx);
      return { status: 'refused', ...check.refusedMonth };
    }
    const releaseId = randomUUID();
    await tx.execute(sql`
      insert into console.analytics_releases
        (id, kind, dataset, period_start, period_end, epsilon_micros, min_cohort, params, released_at)
      values (${releaseId}, ${draft.kind}, ${dataset}, ${draft.periodStart}, ${draft.periodEnd},
              ${draft.epsilonMicros}, ${draft.minCohort}, ${JSON.stringify(draft.params)}::jsonb,
              ${at.toISOString()})`);
    if (draft.cells.length) {
      const values = draft.cells.map(
        (c) =>
          sql`(${releaseId}, ${c.metric}, ${c.category}, ${c.value}, ${c.halfWidth}, ${c.lowPrecision}, ${c.cohort})`,
      );
      await tx.execute(sql`
        insert into console.analytics_cells
          (release_id, metric, category, value, half_width, low_precision, cohort)
        values ${sql.join(values, sql`, `)}`);
    }
    await recordSpend(tx, charge, check, releaseId);
    await recordAudit(RELEASER, audit('allowed', draft.cells.length), tx);
    return { status: 'released', releaseId, cells: draft.cells.length };
  });
}
