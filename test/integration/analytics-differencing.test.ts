import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '../support/db.ts';
import { insertAnalyticsUsers } from './analytics-fixtures.ts';
import {
  DAILY_SPLIT,
  DEFAULT_ANALYTICS_CONFIG,
  splitEpsilon,
  type AnalyticsConfig,
} from '#app/modules/analytics/config.server.ts';
import { buildDayContributions } from '#app/modules/analytics/contributions.server.ts';
import { seededRandomSource } from '#app/modules/analytics/random.server.ts';
import { draftDaily, type ReleaseDraft } from '#app/modules/analytics/releases.server.ts';

// The differencing check of law 6, end to end: two datasets that differ by one user go through the
// real build (events → bounded contributions → release draft with its noise), many times each. For
// every output event S that both sides hit often enough to measure, P[S | with] ≤ e^ε·P[S | without]
// and the reverse, within the sampling error of the trials. The one user is a heavy one, far over
// every per-day bound, so a missing bound or noise calibrated to the wrong sensitivity shows up as a
// ratio far above e^ε. The streams are seeded, so the test is deterministic; the margins are set
// (4.5 standard errors on each side, a few hundred comparisons) so that a correct mechanism would
// fail for fewer than one fresh seed in a thousand. Checked to fail when the noise of one figure is
// calibrated to sensitivity 1 instead of its bound, or drawn at 4ε.

const { sql } = useTestDatabase();

const CONFIG: AnalyticsConfig = { ...DEFAULT_ANALYTICS_CONFIG };
const TRIALS = 1200;
/** Standard errors allowed between an empirical probability and its bound. */
const Z = 4.5;
/** Events rarer than this on either side are too noisy to compare. */
const MIN_P = 0.05;

// Four days: the big pair (300 users, every figure released) and the small pair (k users, where
// whether the day is released at all depends on the noisy count).
const WITH = '2026-02-10';
const WITHOUT = '2026-02-11';
const SMALL_WITH = '2026-02-12';
const SMALL_WITHOUT = '2026-02-13';

const addUsers = (n: number) => insertAnalyticsUsers(sql(), n);

async function addActivity(users: readonly string[], day: string, messages: number) {
  const kinds = [
    { kind: 'session_start', tokens: 0, count: 1 },
    { kind: 'conversation_start', tokens: 0, count: Math.ceil(messages / 4) },
    { kind: 'message', tokens: 450, count: messages },
  ];
  const rows = users.flatMap((userId) =>
    kinds.flatMap(({ kind, tokens, count }) =>
      Array.from({ length: count }, (_, i) => ({
        id: randomUUID(),
        user_id: userId,
        kind,
        model: kind === 'session_start' ? null : 'orca-1',
        tokens,
        country: 'US',
        occurred_at: new Date(Date.parse(`${day}T08:00:00Z`) + i * 1000).toISOString(),
      })),
    ),
  );
  for (let i = 0; i < rows.length; i += 5000) {
    await sql()`insert into product.usage_events ${sql()(rows.slice(i, i + 5000))}`;
  }
}

/** Each figure of `TRIALS` independent drafts of one day; a day below k yields no figures. */
async function trials(day: string, seed: string) {
  const rng = seededRandomSource(seed);
  const figures = new Map<string, number[]>();
  let released = 0;
  for (let t = 0; t < TRIALS; t++) {
    const draft: ReleaseDraft = await draftDaily(day, CONFIG, rng);
    if (draft.cells.length) released++;
    for (const c of draft.cells) {
      if (!figures.has(c.metric)) figures.set(c.metric, []);
      figures.get(c.metric)!.push(c.value);
    }
  }
  return { figures, released };
}

/** The sampling error of an empirical probability over n trials. */
const error = (p: number, n: number) => Z * Math.sqrt(Math.max(p * (1 - p), 1e-4) / n);

/**
 * The worst violation over half-lines {x ≥ t} and {x ≤ t}: how far p̂_a(S) exceeds e^ε·p̂_b(S) once
 * both are moved by their sampling errors in the bound's favour. Positive means the bound is broken.
 */
function worstExcess(a: number[], b: number[], epsilon: number, n: number) {
  const thresholds = [...new Set([...a, ...b])].sort((x, y) => x - y);
  let worst = -Infinity;
  let compared = 0;
  for (const t of thresholds) {
    for (const side of [(x: number) => x >= t, (x: number) => x <= t]) {
      const pa = a.filter(side).length / n;
      const pb = b.filter(side).length / n;
      if (Math.min(pa, pb) < MIN_P || Math.max(pa, pb) > 1 - MIN_P) continue;
      compared++;
      for (const [p, q] of [
        [pa, pb],
        [pb, pa],
      ] as const) {
        worst = Math.max(worst, p - error(p, n) - Math.exp(epsilon) * (q + error(q, n)));
      }
    }
  }
  return { worst, compared };
}

const eps = splitEpsilon(CONFIG.dailyEpsilonMicros, DAILY_SPLIT);
const EPSILON = {
  dau: eps.dau / 1e6,
  messages: eps.messages / 1e6,
  conversations: eps.conversations / 1e6,
  tokens: eps.tokens / 1e6,
};

let big: { with: Awaited<ReturnType<typeof trials>>; without: Awaited<ReturnType<typeof trials>> };
let small: typeof big;

beforeAll(async () => {
  const crowd = await addUsers(300);
  const [heavy] = await addUsers(1);
  // The one user: 60 messages, 15 conversations and 27,000 tokens, each far over its daily bound.
  for (const day of [WITH, WITHOUT]) await addActivity(crowd, day, 2);
  await addActivity([heavy!], WITH, 60);
  const few = crowd.slice(0, CONFIG.minCohort);
  for (const day of [SMALL_WITH, SMALL_WITHOUT]) await addActivity(few, day, 2);
  await addActivity([heavy!], SMALL_WITH, 60);
  for (const day of [WITH, WITHOUT, SMALL_WITH, SMALL_WITHOUT]) {
    await buildDayContributions(day, CONFIG);
  }
  big = { with: await trials(WITH, 'big-with'), without: await trials(WITHOUT, 'big-without') };
  small = {
    with: await trials(SMALL_WITH, 'small-with'),
    without: await trials(SMALL_WITHOUT, 'small-without'),
  };
}, 120_000);

describe('differencing through the release build: two datasets one user apart', () => {
  it('the user is bounded in the contributions: the true sums differ by at most each bound', async () => {
    const rows = await sql()<{ day: string; users: number; messages: number; tokens: number }[]>`
      select day::text, count(*)::int as users, sum(messages)::int as messages,
             sum(tokens)::int as tokens
        from console.analytics_contributions group by day order by day`;
    const by = Object.fromEntries(rows.map((r) => [r.day, r]));
    expect(by[WITH]!.users - by[WITHOUT]!.users).toBe(1);
    expect(by[WITH]!.messages - by[WITHOUT]!.messages).toBe(CONFIG.maxMessagesPerDay);
    expect(by[WITH]!.tokens - by[WITHOUT]!.tokens).toBe(CONFIG.maxTokensPerDay);
  });

  it.each(Object.keys(EPSILON) as (keyof typeof EPSILON)[])(
    'every measurable event of the %s figure moves by at most a factor e^ε',
    (metric) => {
      const a = big.with.figures.get(metric)!;
      const b = big.without.figures.get(metric)!;
      expect(a).toHaveLength(TRIALS);
      expect(b).toHaveLength(TRIALS);
      const { worst, compared } = worstExcess(a, b, EPSILON[metric], TRIALS);
      expect(compared).toBeGreaterThan(10); // the noise spreads the outputs: there is something to compare
      expect(worst).toBeLessThanOrEqual(0);
    },
  );

  it('the figures differ on average by what the user added, no more', () => {
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const shift = (metric: string) =>
      mean(big.with.figures.get(metric)!) - mean(big.without.figures.get(metric)!);
    // Discrete Laplace with ε and sensitivity Δ has standard deviation about √2·Δ/ε.
    const sd = (metric: keyof typeof EPSILON, delta: number) =>
      (Math.SQRT2 * delta) / EPSILON[metric] / Math.sqrt(TRIALS / 2);
    expect(Math.abs(shift('dau') - 1)).toBeLessThan(Z * sd('dau', 1));
    expect(Math.abs(shift('messages') - CONFIG.maxMessagesPerDay)).toBeLessThan(
      Z * sd('messages', CONFIG.maxMessagesPerDay),
    );
  });

  it('whether a day near k is released at all moves by at most a factor e^ε', () => {
    const p = small.with.released / TRIALS;
    const q = small.without.released / TRIALS;
    // Near k the decision is a coin toss on both sides: there is something to measure.
    expect(Math.min(p, q)).toBeGreaterThan(MIN_P);
    expect(Math.max(p, q)).toBeLessThan(1 - MIN_P);
    const e = Math.exp(EPSILON.dau);
    expect(p - error(p, TRIALS)).toBeLessThanOrEqual(e * (q + error(q, TRIALS)));
    expect(q - error(q, TRIALS)).toBeLessThanOrEqual(e * (p + error(p, TRIALS)));
  });
});
