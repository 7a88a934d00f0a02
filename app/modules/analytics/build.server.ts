import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, getSql } from '#app/db/client.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { defineJob } from '#app/modules/jobs/queue.server.ts';
import {
  analyticsConfig,
  DATASET_OF,
  type AnalyticsConfig,
  type ReleaseKind,
} from './config.server.ts';
import { buildDayContributions, purgeWithdrawnContributions } from './contributions.server.ts';
import { addDays, dayOf, daysIn, monthStart, nextMonthStart, weekStart } from './periods.server.ts';
import { cryptoRandomSource, type RandomSource } from './random.server.ts';
import {
  draftDaily,
  draftMonthly,
  draftPreferences,
  draftWeekly,
  publishRelease,
  type PublishResult,
  type ReleaseDraft,
} from './releases.server.ts';

/**
 * The analytics build: contributions for each complete UTC day that has no release yet, then the
 * releases that have become due (days, ISO weeks and calendar months inside the build window, and
 * this month's preferences snapshot). Incremental: a run with nothing new does a few index reads.
 * One run at a time (a session advisory lock), so two workers never draw two releases of a period.
 */

export const ANALYTICS_BUILD_JOB = 'analytics.build';
// Arbitrary, fixed: the advisory lock key of the build ("analytics" in ASCII digits).
export const BUILD_LOCK_KEY = 97_110_97_108;

export interface BuildOptions {
  config?: AnalyticsConfig;
  rng?: RandomSource;
  at?: Date;
  log?: (line: string) => void;
}

export interface BuildSummary {
  status: 'done' | 'busy' | 'no-data';
  days: number;
  released: Record<ReleaseKind, number>;
  refused: { kind: ReleaseKind; period: string; month: string }[];
  purged: number;
  purgeSeconds: number;
  seconds: number;
}

/** The window of days the build looks at: [first, today). */
export function buildWindow(at: Date, config: AnalyticsConfig) {
  const today = dayOf(at);
  return { first: addDays(today, -config.backfillDays), today };
}

async function existingReleases(first: string) {
  const rows = await getDb().execute<{ kind: ReleaseKind; period_start: string }>(sql`
    select kind, period_start::text from console.analytics_releases
     where period_start >= ${monthStart(first)}`);
  return new Set(rows.map((r) => `${r.kind}/${r.period_start}`));
}

/**
 * Periods whose last attempt was refused under the same budget and ε: trying again would only be
 * refused again, so they wait until the configuration changes.
 */
async function settledRefusals(first: string, config: AnalyticsConfig) {
  const rows = await getDb().execute<{
    kind: ReleaseKind;
    period_start: string;
    budget: string;
    epsilon: string;
  }>(sql`
    select distinct on (kind, period_start) kind, period_start::text,
           budget_micros::text as budget, epsilon_micros::text as epsilon, outcome
      from console.analytics_ledger
     where period_start >= ${monthStart(first)}
     order by kind, period_start, id desc`);
  const settled = new Set<string>();
  for (const r of rows as unknown as {
    kind: ReleaseKind;
    period_start: string;
    budget: string;
    epsilon: string;
    outcome: string;
  }[]) {
    if (r.outcome !== 'refused') continue;
    const dataset = DATASET_OF[r.kind];
    const budget = dataset === 'usage' ? config.usageBudgetMicros : config.preferencesBudgetMicros;
    const epsilon = {
      daily: config.dailyEpsilonMicros,
      weekly: config.weeklyEpsilonMicros,
      monthly: config.monthlyEpsilonMicros,
      preferences: config.preferencesEpsilonMicros,
    }[r.kind];
    if (Number(r.budget) === budget && Number(r.epsilon) === epsilon) {
      settled.add(`${r.kind}/${r.period_start}`);
    }
  }
  return settled;
}

export async function runAnalyticsBuild(options: BuildOptions = {}): Promise<BuildSummary> {
  const started = performance.now();
  const config = options.config ?? analyticsConfig();
  const rng = options.rng ?? cryptoRandomSource();
  const at = options.at ?? now();
  const log = options.log ?? (() => {});
  const summary: BuildSummary = {
    status: 'done',
    days: 0,
    released: { daily: 0, weekly: 0, monthly: 0, preferences: 0 },
    refused: [],
    purged: 0,
    purgeSeconds: 0,
    seconds: 0,
  };
  const finish = (status: BuildSummary['status']) => ({
    ...summary,
    status,
    seconds: (performance.now() - started) / 1000,
  });

  // Nothing to describe before the service has any usage at all (and no budget to spend on it).
  const [any] = await getDb().execute(sql`select 1 from product.usage_events limit 1`);
  if (!any) return finish('no-data');

  const lock = await getSql().reserve();
  let locked = false;
  try {
    const [got] = await lock<{ locked: boolean }[]>`
      select pg_try_advisory_lock(${BUILD_LOCK_KEY}) as locked`;
    locked = got?.locked === true;
    if (!locked) return finish('busy');
    const { first, today } = buildWindow(at, config);
    const purgeStarted = performance.now();
    summary.purged = await purgeWithdrawnContributions();
    summary.purgeSeconds = (performance.now() - purgeStarted) / 1000;
    const released = await existingReleases(first);
    const settled = await settledRefusals(first, config);
    const due = (kind: ReleaseKind, period: string) =>
      !released.has(`${kind}/${period}`) && !settled.has(`${kind}/${period}`);
    const publish = async (draft: ReleaseDraft) => {
      const result: PublishResult = await publishRelease(draft, config, at);
      if (result.status === 'released') {
        summary.released[draft.kind] += 1;
        released.add(`${draft.kind}/${draft.periodStart}`);
      } else if (result.status === 'refused') {
        summary.refused.push({ kind: draft.kind, period: draft.periodStart, month: result.month });
        log(
          `analytics: ${draft.kind} release of ${draft.periodStart} refused: budget of ${result.month} spent`,
        );
      }
      return result;
    };

    for (const day of daysIn(first, today)) {
      if (!due('daily', day)) continue;
      await buildDayContributions(day, config);
      summary.days += 1;
      await publish(await draftDaily(day, config, rng));
    }
    // A week or month is released once every one of its days is (so its contributions exist).
    const allDaysReleased = (from: string, to: string) =>
      daysIn(from, to).every((d) => released.has(`daily/${d}`));
    for (
      let w = weekStart(first) < first ? addDays(weekStart(first), 7) : first;
      addDays(w, 7) <= today;
      w = addDays(w, 7)
    ) {
      if (due('weekly', w) && allDaysReleased(w, addDays(w, 7))) {
        await publish(await draftWeekly(w, config, rng));
      }
    }
    for (
      let m = monthStart(first) < first ? nextMonthStart(first) : first;
      nextMonthStart(m) <= today;
      m = nextMonthStart(m)
    ) {
      if (due('monthly', m) && allDaysReleased(m, nextMonthStart(m))) {
        await publish(await draftMonthly(m, config, rng));
      }
    }
    const thisMonth = monthStart(today);
    if (due('preferences', thisMonth)) {
      await publish(await draftPreferences(thisMonth, at, config, rng));
    }
    const done = finish('done');
    log(
      `analytics: built ${done.days} day(s), released ${JSON.stringify(done.released)}` +
        `${done.refused.length ? `, ${done.refused.length} refused` : ''} in ${done.seconds.toFixed(1)} s`,
    );
    return done;
  } finally {
    if (locked) await lock`select pg_advisory_unlock(${BUILD_LOCK_KEY})`;
    lock.release();
  }
}

export const analyticsBuildJob = defineJob({
  name: ANALYTICS_BUILD_JOB,
  description: 'Builds per-user-day contributions and the noisy analytics releases that are due',
  payload: z.object({}).passthrough(),
  // Hourly: the new day is released soon after midnight UTC, and a missed run catches up.
  cron: '17 * * * *',
  async run() {
    return runAnalyticsBuild({ log: (line) => process.stderr.write(`${line}\n`) });
  },
});

/** At start-up: when no release exists yet, ask for a build now rather than at the next cron. */
export async function enqueueFirstAnalyticsBuild(queue: {
  enqueue(name: string, data: object): Promise<string | null>;
}): Promise<boolean> {
  analyticsConfig(); // a wrong CUSTODIAN_ANALYTICS_* variable stops the start, naming it
  const [any] = await getDb().execute(sql`select 1 from console.analytics_releases limit 1`);
  if (any) return false;
  await queue.enqueue(ANALYTICS_BUILD_JOB, {});
  return true;
}
