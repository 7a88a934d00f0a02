import {
  discreteLaplaceTail,
  laplaceForEpsilon,
  MICROS_PER_UNIT,
  noiseHalfWidth95,
  sampleNoise,
  type Mechanism,
} from './noise.ts';
import type { RandomSource } from './random.server.ts';

/**
 * Turning true counts into releasable figures (law 6): every figure carries calibrated noise, no
 * cell whose noisy distinct-user count is below k is shown, and every release spends from a
 * monthly privacy budget. Pure: randomness comes in as a RandomSource, time as a Date.
 *
 * ε is handled in integer millionths ("micros") everywhere, so a budget of 1 holds exactly ten
 * releases at 0.1 (in doubles, 0.1 + 0.2 > 0.3).
 */

export const DEFAULT_MIN_COHORT = 50;

export function noisyCount(trueCount: number, mechanism: Mechanism, rng: RandomSource): number {
  if (!Number.isSafeInteger(trueCount) || trueCount < 0) {
    throw new RangeError(`trueCount must be a non-negative integer, got ${trueCount}`);
  }
  const value = BigInt(trueCount) + sampleNoise(mechanism, rng);
  const result = Number(value);
  if (!Number.isSafeInteger(result)) throw new RangeError('noisy count out of range');
  return result;
}

/** Keeps only the cells whose NOISY distinct-user count is at least k; never the true count. */
export function thresholdCells<C extends { readonly noisyUsers: number }>(
  cells: readonly C[],
  k: number = DEFAULT_MIN_COHORT,
): C[] {
  requireNonNegativeInteger('k', k);
  return cells.filter((cell) => cell.noisyUsers >= k);
}

export interface Interval95 {
  readonly low: number;
  readonly high: number;
  readonly halfWidth: number;
}

/**
 * value ± a, where a is the smallest integer with P(|noise| ≤ a) ≥ 0.95. It depends only on the
 * mechanism, never on the data, so publishing it leaks nothing.
 */
export function interval95(value: number, mechanism: Mechanism): Interval95 {
  const halfWidth = noiseHalfWidth95(mechanism);
  return { low: value - halfWidth, high: value + halfWidth, halfWidth };
}

/** Low precision when the half-width exceeds 5% of the value (and always when the value is ≤ 0). */
export function isLowPrecision(value: number, halfWidth: number): boolean {
  if (value <= 0) return true;
  return 20 * halfWidth > value;
}

export interface CountCell<K> {
  readonly key: K;
  /** Distinct users in the cell; never leaves this function. */
  readonly users: number;
}

export interface ReleasedCell<K> {
  readonly key: K;
  readonly noisyUsers: number;
  readonly interval: Interval95;
  readonly lowPrecision: boolean;
}

/**
 * Noise every cell of a public-category breakdown, then suppress those whose noisy count is
 * below k. Only the noisy figures come out. The caller charges the mechanism's ε to the ledger
 * once per breakdown when each user belongs to one cell (parallel composition).
 */
export function releaseCounts<K>(
  cells: readonly CountCell<K>[],
  mechanism: Mechanism,
  rng: RandomSource,
  k: number = DEFAULT_MIN_COHORT,
): ReleasedCell<K>[] {
  const halfWidth = noiseHalfWidth95(mechanism);
  const noisy = cells.map((cell) => {
    const noisyUsers = noisyCount(cell.users, mechanism, rng);
    return {
      key: cell.key,
      noisyUsers,
      interval: { low: noisyUsers - halfWidth, high: noisyUsers + halfWidth, halfWidth },
      lowPrecision: isLowPrecision(noisyUsers, halfWidth),
    };
  });
  return thresholdCells(noisy, k);
}

// ---------------------------------------------------------------------------------------------
// Partition selection for categories that are not on a fixed public list

export interface PartitionSelectionOptions {
  /** ε of the whole selection, in millionths. */
  readonly epsilonMicros: number;
  /** δ of the whole selection: the chance a partition only one user could have created appears. */
  readonly delta: number;
  readonly k?: number;
  /** Contribution bound: the caller keeps at most this many partitions per user. */
  readonly maxPartitionsPerUser?: number;
}

export interface PartitionPlan {
  readonly mechanism: Mechanism;
  /** A partition is kept when its noisy user count is at least this. */
  readonly threshold: number;
}

/**
 * Laplace thresholding (Korolova et al. 2009; Desfontaines, Voss, Gipson, Mandayam, "Differentially
 * private partition selection", PoPETs 2022; Google's DP library). Each user touches at most
 * Δ₀ = maxPartitionsPerUser partitions, so the vector of counts has L1 sensitivity Δ₀ and the
 * counts get discrete Laplace noise of scale t = Δ₀/ε. A partition that one user alone brings into
 * existence has count 1; it must appear with probability at most δ' = δ/Δ₀. With q = e^{−1/t},
 * P(X ≥ m) = q^m/(1 + q) for the discrete Laplace, so we need m ≥ t·ln(1/(δ'(1 + q))) and keep a
 * partition when noisy ≥ τ = 1 + m, with
 *
 *     τ = max(k, 1 + ⌈t·ln(1/(δ'(1 + q)))⌉).
 *
 * The released value is the same noisy count, so selection and count together are (ε, δ)-DP.
 */
export function partitionSelectionPlan(options: PartitionSelectionOptions): PartitionPlan {
  const { epsilonMicros, delta } = options;
  const k = options.k ?? DEFAULT_MIN_COHORT;
  const maxPartitions = options.maxPartitionsPerUser ?? 1;
  requireNonNegativeInteger('k', k);
  if (!Number.isSafeInteger(maxPartitions) || maxPartitions < 1) {
    throw new RangeError(`maxPartitionsPerUser must be a positive integer, got ${maxPartitions}`);
  }
  if (!(delta > 0 && delta < 1)) throw new RangeError(`delta must be in (0, 1), got ${delta}`);
  const mechanism = laplaceForEpsilon(epsilonMicros, maxPartitions);
  const t = (maxPartitions * MICROS_PER_UNIT) / epsilonMicros;
  const perPartitionDelta = delta / maxPartitions;
  const q = Math.exp(-1 / t);
  let m = Math.max(1, Math.ceil(t * Math.log(1 / (perPartitionDelta * (1 + q)))));
  // Guard against rounding in the logarithm: the exact tail decides.
  while (discreteLaplaceTail(m - 1, t) / 2 > perPartitionDelta) m += 1;
  return { mechanism, threshold: Math.max(k, 1 + m) };
}

export function partitionSelection<K>(
  partitions: readonly CountCell<K>[],
  options: PartitionSelectionOptions,
  rng: RandomSource,
): ReleasedCell<K>[] {
  const { mechanism, threshold } = partitionSelectionPlan(options);
  return releaseCounts(
    partitions.filter((p) => p.users > 0),
    mechanism,
    rng,
    threshold,
  );
}

// ---------------------------------------------------------------------------------------------
// Privacy budget ledger (pure part)

/** Parses a decimal ε such as "0.25" into millionths without passing through a double. */
export function parseEpsilonMicros(text: string): number {
  const match = /^\s*(\d+)(?:\.(\d{1,6}))?\s*$/.exec(text);
  if (!match)
    throw new RangeError(`epsilon must be a decimal with at most 6 places, got "${text}"`);
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '').padEnd(6, '0');
  const micros = Number(whole) * MICROS_PER_UNIT + Number(fraction);
  if (!Number.isSafeInteger(micros)) throw new RangeError(`epsilon out of range: "${text}"`);
  return micros;
}

export function formatEpsilonMicros(micros: number): string {
  requireNonNegativeInteger('micros', micros);
  const whole = Math.floor(micros / MICROS_PER_UNIT);
  const fraction = String(micros % MICROS_PER_UNIT)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** True when spending ε on top of this month's spending stays within the budget (inclusive). */
export function canSpend(
  spentMicros: number,
  budgetMicros: number,
  epsilonMicros: number,
): boolean {
  requireNonNegativeInteger('spentMicros', spentMicros);
  requireNonNegativeInteger('budgetMicros', budgetMicros);
  requireNonNegativeInteger('epsilonMicros', epsilonMicros);
  if (epsilonMicros === 0) throw new RangeError('a release must spend some epsilon');
  return spentMicros + epsilonMicros <= budgetMicros;
}

export type SpendResult =
  | { readonly ok: true; readonly spentMicros: number; readonly remainingMicros: number }
  | { readonly ok: false; readonly spentMicros: number; readonly remainingMicros: number };

export function spend(
  spentMicros: number,
  budgetMicros: number,
  epsilonMicros: number,
): SpendResult {
  if (!canSpend(spentMicros, budgetMicros, epsilonMicros)) {
    return { ok: false, spentMicros, remainingMicros: Math.max(0, budgetMicros - spentMicros) };
  }
  const after = spentMicros + epsilonMicros;
  return { ok: true, spentMicros: after, remainingMicros: budgetMicros - after };
}

/** The budget period a release at `at` belongs to: its UTC calendar month, "YYYY-MM". */
export function budgetMonth(at: Date): string {
  return at.toISOString().slice(0, 7);
}

function requireNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}
