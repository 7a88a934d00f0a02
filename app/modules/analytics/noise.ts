import type { RandomSource } from './random.server.ts';

/**
 * Exact discrete noise, after Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential
 * Privacy" (CKS20, arXiv:2004.00010), Algorithms 1–3, in the form OpenDP implements them.
 *
 * The samplers use only integer arithmetic (BigInt) on rational parameters and uniform integers
 * from a RandomSource. They never touch floating point: the textbook inverse-CDF Laplace
 * (−b·sign(u)·ln(1 − 2|u|)) on doubles leaks the true value through the pattern of representable
 * outputs (Mironov, "On significance of the least significant bits for differential privacy",
 * CCS 2012).
 *
 * Calibration for a counting query of L1 sensitivity Δ (Δ = 1 when each user adds at most one to
 * the count): discrete Laplace with scale t = Δ/ε is ε-differentially private, because
 * pmf(x)/pmf(x ± Δ) ≤ e^{Δ/t} = e^ε. The discrete Gaussian with variance parameter σ² is
 * ρ-zCDP with ρ = Δ²/(2σ²) (CKS20, Theorem 4).
 *
 * The analysis helpers further down (pmf, intervals, mean absolute noise) do use floating point:
 * they describe public noise parameters and never see data.
 */

export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

export type Mechanism =
  | { readonly kind: 'discrete_laplace'; readonly scale: Rational }
  | { readonly kind: 'discrete_gaussian'; readonly sigma2: Rational };

/** ε and ρ are carried as integer millionths so that budgets add up exactly. */
export const MICROS_PER_UNIT = 1_000_000;

export function rational(num: bigint | number, den: bigint | number = 1n): Rational {
  const n = BigInt(num);
  const d = BigInt(den);
  if (d <= 0n) throw new RangeError(`denominator must be positive, got ${d}`);
  if (n < 0n) throw new RangeError(`numerator must not be negative, got ${n}`);
  const g = gcd(n, d);
  return { num: n / g, den: d / g };
}

/** Discrete Laplace calibrated for ε-DP: scale t = Δ/ε with ε = epsilonMicros / 10⁶. */
export function laplaceForEpsilon(epsilonMicros: number, sensitivity = 1): Mechanism {
  requirePositiveSafeInteger('epsilonMicros', epsilonMicros);
  requirePositiveSafeInteger('sensitivity', sensitivity);
  return {
    kind: 'discrete_laplace',
    scale: rational(BigInt(sensitivity) * BigInt(MICROS_PER_UNIT), epsilonMicros),
  };
}

/** Discrete Gaussian calibrated for ρ-zCDP: σ² = Δ²/(2ρ) with ρ = rhoMicros / 10⁶. */
export function gaussianForRho(rhoMicros: number, sensitivity = 1): Mechanism {
  requirePositiveSafeInteger('rhoMicros', rhoMicros);
  requirePositiveSafeInteger('sensitivity', sensitivity);
  const d = BigInt(sensitivity);
  return {
    kind: 'discrete_gaussian',
    sigma2: rational(d * d * BigInt(MICROS_PER_UNIT), 2n * BigInt(rhoMicros)),
  };
}

export function sampleNoise(mechanism: Mechanism, rng: RandomSource): bigint {
  return mechanism.kind === 'discrete_laplace'
    ? discreteLaplace(mechanism.scale.num, mechanism.scale.den, rng)
    : discreteGaussian(mechanism.sigma2.num, mechanism.sigma2.den, rng);
}

// ---------------------------------------------------------------------------------------------
// Exact samplers (integers only)

/** Bernoulli(num/den), 0 ≤ num ≤ den. */
export function bernoulliRational(num: bigint, den: bigint, rng: RandomSource): boolean {
  checkRational(num, den);
  if (num > den) throw new RangeError(`probability ${num}/${den} exceeds 1`);
  return rng.uniformBelow(den) < num;
}

/** Bernoulli(exp(−γ)) for γ = num/den ∈ [0, 1]: CKS20 Algorithm 1, first case. */
function bernoulliExpAtMostOne(num: bigint, den: bigint, rng: RandomSource): boolean {
  let k = 1n;
  while (rng.uniformBelow(den * k) < num) k += 1n;
  return (k & 1n) === 1n;
}

/**
 * Bernoulli(exp(−γ)) for rational γ = num/den ≥ 0 (CKS20 Algorithm 1): exp(−γ) is the product of
 * ⌊γ⌋ draws of Bernoulli(e^{−1}) and one of Bernoulli(exp(−(γ − ⌊γ⌋))), stopping at the first
 * failure.
 */
export function bernoulliExp(num: bigint, den: bigint, rng: RandomSource): boolean {
  checkRational(num, den);
  let rest = num;
  while (rest > den) {
    if (!bernoulliExpAtMostOne(1n, 1n, rng)) return false;
    rest -= den;
  }
  return bernoulliExpAtMostOne(rest, den, rng);
}

/** Number of successes of Bernoulli(e^{−1}) before the first failure: Geometric(1 − e^{−1}). */
function geometricExpMinusOne(rng: RandomSource): bigint {
  let v = 0n;
  while (bernoulliExpAtMostOne(1n, 1n, rng)) v += 1n;
  return v;
}

/**
 * Discrete Laplace with scale t = scaleNum/scaleDen: P(X = x) ∝ exp(−|x|/t) on the integers
 * (CKS20 Algorithm 2 with its t = scaleNum and s = scaleDen). A scale of 0 means no noise.
 */
export function discreteLaplace(scaleNum: bigint, scaleDen: bigint, rng: RandomSource): bigint {
  checkRational(scaleNum, scaleDen);
  if (scaleNum === 0n) return 0n;
  const g = gcd(scaleNum, scaleDen);
  const t = scaleNum / g;
  const s = scaleDen / g;
  for (;;) {
    const u = rng.uniformBelow(t);
    if (!bernoulliExp(u, t, rng)) continue;
    const v = geometricExpMinusOne(rng);
    const y = (u + t * v) / s;
    const negative = rng.bit();
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/**
 * Discrete Gaussian with variance parameter σ² = sigma2Num/sigma2Den:
 * P(X = x) ∝ exp(−x²/(2σ²)) on the integers (CKS20 Algorithm 3). Rejection sampling from a
 * discrete Laplace of scale t = ⌊σ⌋ + 1, accepting Y with probability
 * exp(−(|Y| − σ²/t)²/(2σ²)).
 */
export function discreteGaussian(sigma2Num: bigint, sigma2Den: bigint, rng: RandomSource): bigint {
  checkRational(sigma2Num, sigma2Den);
  if (sigma2Num === 0n) return 0n;
  const g = gcd(sigma2Num, sigma2Den);
  const num = sigma2Num / g;
  const den = sigma2Den / g;
  // ⌊σ⌋ = ⌊√⌊σ²⌋⌋, so t needs no real square root.
  const t = isqrt(num / den) + 1n;
  // γ = (|Y| − σ²/t)² / (2σ²) = (|Y|·t·den − num)² / (2·num·den·t²)
  const gammaDen = 2n * num * den * t * t;
  for (;;) {
    const y = discreteLaplace(t, 1n, rng);
    const magnitude = y < 0n ? -y : y;
    const diff = magnitude * t * den - num;
    if (bernoulliExp(diff * diff, gammaDen, rng)) return y;
  }
}

// ---------------------------------------------------------------------------------------------
// Analysis of the noise (floating point; public parameters only)

export function rationalToNumber(r: Rational): number {
  return Number(r.num) / Number(r.den);
}

/** P(X = x) for the discrete Laplace of scale t: ((1 − q)/(1 + q))·q^{|x|}, q = e^{−1/t}. */
export function discreteLaplacePmf(x: number, t: number): number {
  requireScale(t);
  const q = Math.exp(-1 / t);
  return (-Math.expm1(-1 / t) / (1 + q)) * Math.exp(-Math.abs(x) / t);
}

/** P(|X| > a) for integer a ≥ 0: the geometric tail sum 2·Σ_{x > a} pmf(x) = 2q^{a+1}/(1 + q). */
export function discreteLaplaceTail(a: number, t: number): number {
  requireScale(t);
  if (a < 0) return 1;
  const q = Math.exp(-1 / t);
  return (2 * Math.exp(-(Math.floor(a) + 1) / t)) / (1 + q);
}

/** The smallest integer a with P(|X| ≤ a) ≥ 0.95 for the discrete Laplace of scale t. */
export function laplaceInterval95(t: number): number {
  requireScale(t);
  const q = Math.exp(-1 / t);
  // The closed form gives a starting point; the discrete tail decides.
  let a = Math.max(0, Math.ceil(t * Math.log(40 / (1 + q))) - 1);
  while (a > 0 && discreteLaplaceTail(a - 1, t) <= 0.05) a -= 1;
  while (discreteLaplaceTail(a, t) > 0.05) a += 1;
  return a;
}

/** E|X| = 2q/(1 − q²) for the discrete Laplace of scale t. */
export function laplaceMeanAbs(t: number): number {
  requireScale(t);
  const q = Math.exp(-1 / t);
  return (2 * q) / ((1 - q) * (1 + q));
}

/** E[X²] = 2q/(1 − q)² for the discrete Laplace of scale t. */
export function laplaceVariance(t: number): number {
  requireScale(t);
  const q = Math.exp(-1 / t);
  const oneMinusQ = -Math.expm1(-1 / t);
  return (2 * q) / (oneMinusQ * oneMinusQ);
}

/** Terms beyond 40σ are below e^{−800}, under the smallest double. */
function gaussianSupport(sigma2: number): number {
  return Math.ceil(40 * Math.sqrt(sigma2)) + 1;
}

function gaussianNormalizer(sigma2: number): number {
  let z = 1;
  for (let x = gaussianSupport(sigma2); x >= 1; x--) z += 2 * Math.exp((-x * x) / (2 * sigma2));
  return z;
}

/** P(X = x) for the discrete Gaussian with variance parameter σ², by a numeric normalizing sum. */
export function discreteGaussianPmf(x: number, sigma2: number): number {
  requireScale(sigma2);
  return Math.exp((-x * x) / (2 * sigma2)) / gaussianNormalizer(sigma2);
}

/** The smallest integer a with P(|X| ≤ a) ≥ 0.95 for the discrete Gaussian with parameter σ². */
export function gaussianInterval95(sigma2: number): number {
  requireScale(sigma2);
  const z = gaussianNormalizer(sigma2);
  // Summing the outer tail (small terms first) keeps the rounding error far below the 5% margin.
  const support = gaussianSupport(sigma2);
  let tail = 0;
  let a = support;
  while (a > 0) {
    const next = tail + (2 * Math.exp((-a * a) / (2 * sigma2))) / z;
    if (next > 0.05) break;
    tail = next;
    a -= 1;
  }
  return a;
}

/** E|X| for the discrete Gaussian with parameter σ². */
export function gaussianMeanAbs(sigma2: number): number {
  requireScale(sigma2);
  const z = gaussianNormalizer(sigma2);
  let sum = 0;
  for (let x = gaussianSupport(sigma2); x >= 1; x--) sum += x * Math.exp((-x * x) / (2 * sigma2));
  return (2 * sum) / z;
}

/** Half-width of the 95% interval of the mechanism's noise (the same for every released value). */
export function noiseHalfWidth95(mechanism: Mechanism): number {
  return mechanism.kind === 'discrete_laplace'
    ? laplaceInterval95(rationalToNumber(mechanism.scale))
    : gaussianInterval95(rationalToNumber(mechanism.sigma2));
}

// ---------------------------------------------------------------------------------------------

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a === 0n ? 1n : a;
}

/** ⌊√n⌋ for n ≥ 0, by Newton's method on integers. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number');
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const next = (x + n / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

function checkRational(num: bigint, den: bigint): void {
  if (typeof num !== 'bigint' || typeof den !== 'bigint') {
    throw new TypeError('sampler parameters must be BigInt');
  }
  if (den <= 0n) throw new RangeError(`denominator must be positive, got ${den}`);
  if (num < 0n) throw new RangeError(`parameter must not be negative, got ${num}/${den}`);
}

function requireScale(t: number): void {
  if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`scale must be positive, got ${t}`);
}

function requirePositiveSafeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}
