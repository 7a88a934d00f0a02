import { z } from 'zod';
import { ConfigError } from '#app/config.server.ts';
import { DEFAULT_MIN_COHORT, parseEpsilonMicros } from './release.ts';
import { DATASETS, RELEASE_KINDS, type Dataset, type ReleaseKind } from './vocabulary.ts';

/**
 * The knobs of the analytics releases (docs/decisions/012-analytics-releases.md). Every value is
 * public: it goes into each release's stored parameters and onto the page. The environment
 * variables are listed in the README; a wrong one stops the build job with a line naming it.
 */
export interface AnalyticsConfig {
  /** A cell is shown only when its noisy distinct-user count is at least this. */
  minCohort: number;
  /** Contribution bounds per user and UTC day. */
  maxMessagesPerDay: number;
  maxConversationsPerDay: number;
  maxTokensPerDay: number;
  /** Per user and calendar month, for conversations by model. */
  maxModelsPerMonth: number;
  maxConversationsPerMonth: number;
  /** How far back the first build goes, in days before today (UTC). */
  backfillDays: number;
  /** ε in millionths, per release. */
  dailyEpsilonMicros: number;
  weeklyEpsilonMicros: number;
  monthlyEpsilonMicros: number;
  preferencesEpsilonMicros: number;
  /** Monthly budgets in millionths, per dataset. */
  usageBudgetMicros: number;
  preferencesBudgetMicros: number;
  /** δ of the partition selection of country codes that are not on the public list. */
  delta: number;
}

export { DATASETS, RELEASE_KINDS, type Dataset, type ReleaseKind };

export const DATASET_OF: Record<ReleaseKind, Dataset> = {
  daily: 'usage',
  weekly: 'usage',
  monthly: 'usage',
  preferences: 'preferences',
};

// Defaults. A daily release costs ε = 1 (the issue's example). In the worst month (31 days touched
// by 6 ISO weeks) the usage dataset spends 31 × 1 + 6 × 0.5 + 2 = 36, so the default budget holds
// exactly one release of each period and refuses anything more.
export const DEFAULT_ANALYTICS_CONFIG: AnalyticsConfig = {
  minCohort: DEFAULT_MIN_COHORT,
  maxMessagesPerDay: 10,
  maxConversationsPerDay: 3,
  maxTokensPerDay: 5_000,
  maxModelsPerMonth: 2,
  maxConversationsPerMonth: 20,
  backfillDays: 190,
  dailyEpsilonMicros: 1_000_000,
  weeklyEpsilonMicros: 500_000,
  monthlyEpsilonMicros: 2_000_000,
  preferencesEpsilonMicros: 1_000_000,
  usageBudgetMicros: 36_000_000,
  preferencesBudgetMicros: 1_000_000,
  delta: 1e-6,
};

const whole = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const epsilon = z
  .string()
  .transform((text, ctx) => {
    try {
      return parseEpsilonMicros(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  })
  .refine((micros) => micros > 0, 'must be greater than 0');

const ENV = {
  CUSTODIAN_ANALYTICS_MIN_COHORT: ['minCohort', whole(1, 1_000_000)],
  CUSTODIAN_ANALYTICS_MAX_MESSAGES_PER_DAY: ['maxMessagesPerDay', whole(1, 100_000)],
  CUSTODIAN_ANALYTICS_MAX_CONVERSATIONS_PER_DAY: ['maxConversationsPerDay', whole(1, 10_000)],
  CUSTODIAN_ANALYTICS_MAX_TOKENS_PER_DAY: ['maxTokensPerDay', whole(1, 100_000_000)],
  CUSTODIAN_ANALYTICS_MAX_MODELS_PER_MONTH: ['maxModelsPerMonth', whole(1, 100)],
  CUSTODIAN_ANALYTICS_MAX_CONVERSATIONS_PER_MONTH: ['maxConversationsPerMonth', whole(1, 100_000)],
  CUSTODIAN_ANALYTICS_BACKFILL_DAYS: ['backfillDays', whole(1, 3660)],
  CUSTODIAN_ANALYTICS_DAILY_EPSILON: ['dailyEpsilonMicros', epsilon],
  CUSTODIAN_ANALYTICS_WEEKLY_EPSILON: ['weeklyEpsilonMicros', epsilon],
  CUSTODIAN_ANALYTICS_MONTHLY_EPSILON: ['monthlyEpsilonMicros', epsilon],
  CUSTODIAN_ANALYTICS_PREFERENCES_EPSILON: ['preferencesEpsilonMicros', epsilon],
  CUSTODIAN_ANALYTICS_USAGE_BUDGET: ['usageBudgetMicros', epsilon],
  CUSTODIAN_ANALYTICS_PREFERENCES_BUDGET: ['preferencesBudgetMicros', epsilon],
  CUSTODIAN_ANALYTICS_DELTA: ['delta', z.coerce.number().gt(0).lt(0.01)],
} as const satisfies Record<string, readonly [keyof AnalyticsConfig, z.ZodType]>;

export class AnalyticsConfigError extends ConfigError {}

/** The configuration from the environment; an invalid variable is named in the error. */
export function analyticsConfig(
  source: Record<string, string | undefined> = process.env,
): AnalyticsConfig {
  const config: AnalyticsConfig = { ...DEFAULT_ANALYTICS_CONFIG };
  for (const [name, [key, schema]] of Object.entries(ENV)) {
    const raw = source[name];
    if (raw === undefined || raw === '') continue;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new AnalyticsConfigError(
        `Invalid environment variable ${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
    }
    (config as unknown as Record<string, number>)[key] = parsed.data;
  }
  return config;
}

/**
 * Splits a release's ε between its figures by integer weights, in millionths, so that the parts add
 * up to the whole exactly (the remainder goes to the first part).
 */
export function splitEpsilon<K extends string>(
  totalMicros: number,
  weights: Record<K, number>,
): Record<K, number> {
  const keys = Object.keys(weights) as K[];
  const sum = keys.reduce((s, k) => s + weights[k], 0);
  const parts = {} as Record<K, number>;
  let given = 0;
  for (const k of keys) {
    parts[k] = Math.floor((totalMicros * weights[k]) / sum);
    given += parts[k];
  }
  parts[keys[0]!] += totalMicros - given;
  for (const k of keys) {
    if (parts[k] <= 0) throw new RangeError(`ε ${totalMicros}µ is too small to split`);
  }
  return parts;
}

// How each release divides its ε between its figures.
export const DAILY_SPLIT = { dau: 4, messages: 3, conversations: 2, tokens: 1 } as const;
export const MONTHLY_SPLIT = {
  mau: 1,
  plan: 1,
  country: 1,
  model_users: 1,
  model_conversations: 1,
} as const;
export const PREFERENCES_SPLIT = { opted_out: 4, population: 1 } as const;
