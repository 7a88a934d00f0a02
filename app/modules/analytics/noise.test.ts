import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  bernoulliExp,
  bernoulliRational,
  discreteGaussian,
  discreteGaussianPmf,
  discreteLaplace,
  discreteLaplacePmf,
  discreteLaplaceTail,
  gaussianForRho,
  gaussianInterval95,
  gaussianMeanAbs,
  isqrt,
  laplaceForEpsilon,
  laplaceInterval95,
  laplaceMeanAbs,
  laplaceVariance,
  noiseHalfWidth95,
  rational,
  sampleNoise,
} from './noise.ts';
import { cryptoRandomSource, seededRandomSource, type RandomSource } from './random.server.ts';

/*
 * False-failure budget. Every statistical assertion in this file uses significance ALPHA = 2.5e-6
 * and there are at most MAX_CHECKS = 20 of them, so by the union bound the file fails by chance
 * with probability < 5e-5; release.test.ts takes the other 5e-5, so the analytics suite fails by
 * chance less than once in 10,000 runs. Critical values are computed numerically (regularized
 * incomplete gamma, below) and cross-checked against scipy.stats in the first test.
 *
 * Statistical tests draw from the deterministic AES-CTR source under a fresh random seed, printed
 * on failure; set ANALYTICS_TEST_SEED to replay a run.
 */
const ALPHA = 2.5e-6;
const MAX_CHECKS = 20;
let checks = 0;
afterAll(() => {
  expect(checks).toBeLessThanOrEqual(MAX_CHECKS);
});

const SEED = process.env.ANALYTICS_TEST_SEED ?? randomBytes(8).toString('hex');
let streams = 0;
function statRng(): { rng: RandomSource; seed: string } {
  const seed = `${SEED}/${streams++}`;
  return { rng: seededRandomSource(seed), seed };
}

describe('statistics helpers', () => {
  it('match scipy.stats critical values', () => {
    // scipy.stats.chi2.isf(2.5e-6, df) and chi2.isf(1e-4, df); norm.isf(1.25e-6)
    expect(chiSquareCritical(2.5e-6, 5)).toBeCloseTo(33.893596716341186, 6);
    expect(chiSquareCritical(2.5e-6, 20)).toBeCloseTo(62.91160281022952, 6);
    expect(chiSquareCritical(2.5e-6, 40)).toBeCloseTo(94.68343864487969, 6);
    expect(chiSquareCritical(1e-4, 10)).toBeCloseTo(35.56401394195211, 6);
    expect(normalCritical(2.5e-6)).toBeCloseTo(4.7081297157535635, 6);
  });
});

describe('random sources', () => {
  it('crypto source: uniformBelow has no modulo bias and bits are fair', () => {
    const rng = cryptoRandomSource();
    const n = 60_000;
    const counts = new Array<number>(6).fill(0);
    let ones = 0;
    for (let i = 0; i < n; i++) {
      const v = Number(rng.uniformBelow(6n));
      counts[v] = (counts[v] ?? 0) + 1;
      if (rng.bit()) ones++;
    }
    const stat = counts.reduce((s, o) => s + (o - n / 6) ** 2 / (n / 6), 0);
    checks += 2;
    expect(stat).toBeLessThan(chiSquareCritical(ALPHA, 5)); // df 5: critical ≈ 33.89
    expect(Math.abs(ones - n / 2)).toBeLessThanOrEqual(normalCritical(ALPHA) * Math.sqrt(n / 4));
  });

  it('draws every value of a range, including ranges past 2^32', () => {
    const rng = seededRandomSource('ranges');
    const big = (1n << 70n) + 3n;
    for (let i = 0; i < 2000; i++) {
      const v = rng.uniformBelow(big);
      expect(v >= 0n && v < big).toBe(true);
    }
    expect(rng.uniformBelow(1n)).toBe(0n);
    expect(() => rng.uniformBelow(0n)).toThrow(RangeError);
    const seen = new Set<bigint>();
    for (let i = 0; i < 500; i++) seen.add(rng.uniformBelow(5n));
    expect([...seen].sort()).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('the seeded source is deterministic per seed and differs across seeds', () => {
    const draw = (seed: string) => {
      const rng = seededRandomSource(seed);
      return Array.from({ length: 50 }, () => rng.uniformBelow(1_000_003n));
    };
    expect(draw('a')).toEqual(draw('a'));
    expect(draw('a')).not.toEqual(draw('b'));
  });
});

describe('Bernoulli samplers', () => {
  it('bernoulliRational and bernoulliExp hit their probabilities', () => {
    const { rng, seed } = statRng();
    const n = 100_000;
    const cases: [string, () => boolean, number][] = [
      ['rational 1/3', () => bernoulliRational(1n, 3n, rng), 1 / 3],
      ['exp(-1/2)', () => bernoulliExp(1n, 2n, rng), Math.exp(-0.5)],
      ['exp(-1)', () => bernoulliExp(1n, 1n, rng), Math.exp(-1)],
      ['exp(-27/10)', () => bernoulliExp(27n, 10n, rng), Math.exp(-2.7)],
      ['exp(-5)', () => bernoulliExp(5n, 1n, rng), Math.exp(-5)],
    ];
    const z = normalCritical(ALPHA);
    for (const [label, draw, p] of cases) {
      let hits = 0;
      for (let i = 0; i < n; i++) if (draw()) hits++;
      checks++;
      // n·p ≥ 670 in every case, so the normal approximation to the binomial is sound here.
      expect(Math.abs(hits - n * p), `${label}: ${hits}/${n}, seed ${seed}`).toBeLessThanOrEqual(
        z * Math.sqrt(n * p * (1 - p)),
      );
    }
  });

  it('edge cases are exact', () => {
    const rng = seededRandomSource('edges');
    for (let i = 0; i < 200; i++) {
      expect(bernoulliExp(0n, 7n, rng)).toBe(true);
      expect(bernoulliRational(0n, 5n, rng)).toBe(false);
      expect(bernoulliRational(5n, 5n, rng)).toBe(true);
    }
    expect(() => bernoulliRational(6n, 5n, rng)).toThrow(RangeError);
    expect(() => bernoulliExp(-1n, 5n, rng)).toThrow(RangeError);
    expect(() => bernoulliExp(1n, 0n, rng)).toThrow(RangeError);
  });
});

describe('discrete Laplace', () => {
  const cases: [bigint, bigint][] = [
    [3n, 1n],
    [7n, 3n],
    [1n, 4n],
    [20n, 1n],
  ];
  for (const [num, den] of cases) {
    it(`matches its pmf (chi-square), scale ${num}/${den}`, () => {
      const t = Number(num) / Number(den);
      const { rng, seed } = statRng();
      const samples = sampleMany(100_000, () => discreteLaplace(num, den, rng));
      const { stat, df } = chiSquare(samples, (x) => discreteLaplacePmf(x, t));
      checks++;
      expect(stat, `df ${df}, seed ${seed}`).toBeLessThan(chiSquareCritical(ALPHA, df));
    });
  }

  it('matches its pmf on the production (crypto) source too', () => {
    const rng = cryptoRandomSource();
    const samples = sampleMany(100_000, () => discreteLaplace(5n, 2n, rng));
    const { stat, df } = chiSquare(samples, (x) => discreteLaplacePmf(x, 2.5));
    checks++;
    expect(stat, `df ${df}`).toBeLessThan(chiSquareCritical(ALPHA, df));
  });

  it('the chi-square test has teeth: scale 3 is rejected against the pmf of scale 3.5', () => {
    const { rng, seed } = statRng();
    const samples = sampleMany(100_000, () => discreteLaplace(3n, 1n, rng));
    const { stat, df } = chiSquare(samples, (x) => discreteLaplacePmf(x, 3.5));
    // Non-centrality ≈ 2,000 here, so a miss would take a deviation of ~40 standard deviations.
    expect(stat, `seed ${seed}`).toBeGreaterThan(chiSquareCritical(ALPHA, df));
  });

  it('mean absolute noise matches 2q/(1 − q²)', () => {
    const t = 10;
    const { rng, seed } = statRng();
    const n = 200_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.abs(Number(discreteLaplace(10n, 1n, rng)));
    const mean = laplaceMeanAbs(t);
    const sd = Math.sqrt(laplaceVariance(t) - mean * mean);
    checks++;
    // CLT on |X| (exponential tails, n = 200,000): tolerance ≈ 0.1, about 1% of E|X| ≈ 9.98.
    expect(Math.abs(sum / n - mean), `seed ${seed}`).toBeLessThanOrEqual(
      (normalCritical(ALPHA) * sd) / Math.sqrt(n),
    );
  });

  it('pmf, tail, interval and mean agree with brute-force sums over the pmf', () => {
    for (const t of [0.25, 1, 7 / 3, 10, 123.4]) {
      const terms = Math.ceil(60 * t) + 60;
      let total = discreteLaplacePmf(0, t);
      let meanAbs = 0;
      for (let x = 1; x <= terms; x++) {
        total += 2 * discreteLaplacePmf(x, t);
        meanAbs += 2 * x * discreteLaplacePmf(x, t);
      }
      expect(total).toBeCloseTo(1, 12);
      expect(meanAbs).toBeCloseTo(laplaceMeanAbs(t), 8);
      const a = laplaceInterval95(t);
      const inside = (b: number) => {
        let p = discreteLaplacePmf(0, t);
        for (let x = 1; x <= b; x++) p += 2 * discreteLaplacePmf(x, t);
        return p;
      };
      expect(inside(a)).toBeGreaterThanOrEqual(0.95);
      if (a > 0) expect(inside(a - 1)).toBeLessThan(0.95);
      expect(1 - inside(a)).toBeCloseTo(discreteLaplaceTail(a, t), 12);
    }
    // Values from scipy.stats.dlaplace(1/t): smallest a with cdf(a) − cdf(−a−1) ≥ 0.95.
    expect(laplaceInterval95(10)).toBe(30);
    expect(laplaceInterval95(7 / 3)).toBe(7);
    expect(laplaceInterval95(1)).toBe(3);
    expect(laplaceInterval95(0.25)).toBe(0);
    expect(laplaceInterval95(1000)).toBe(2996);
  });

  it('is calibrated as t = Δ/ε: neighbouring outputs differ in probability by at most e^ε', () => {
    const mechanism = laplaceForEpsilon(250_000, 2);
    expect(mechanism).toEqual({ kind: 'discrete_laplace', scale: { num: 8n, den: 1n } });
    const t = 8;
    for (let x = -100; x <= 100; x++) {
      const ratio = discreteLaplacePmf(x, t) / discreteLaplacePmf(x - 2, t);
      expect(ratio).toBeLessThanOrEqual(Math.exp(0.25) * (1 + 1e-12));
    }
    expect(laplaceForEpsilon(300_000)).toEqual({
      kind: 'discrete_laplace',
      scale: { num: 10n, den: 3n },
    });
  });
});

describe('discrete Gaussian', () => {
  const cases: [bigint, bigint][] = [
    [4n, 1n],
    [25n, 2n],
    [1n, 3n],
  ];
  for (const [num, den] of cases) {
    it(`matches its pmf (chi-square), σ² = ${num}/${den}`, () => {
      const sigma2 = Number(num) / Number(den);
      const { rng, seed } = statRng();
      const samples = sampleMany(100_000, () => discreteGaussian(num, den, rng));
      const { stat, df } = chiSquare(samples, (x) => discreteGaussianPmf(x, sigma2));
      checks++;
      expect(stat, `df ${df}, seed ${seed}`).toBeLessThan(chiSquareCritical(ALPHA, df));
    });
  }

  it('mean absolute noise matches the pmf', () => {
    const sigma2 = 9;
    const { rng, seed } = statRng();
    const n = 200_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.abs(Number(discreteGaussian(9n, 1n, rng)));
    const mean = gaussianMeanAbs(sigma2);
    let second = 0;
    for (let x = 1; x <= 200; x++) second += 2 * x * x * discreteGaussianPmf(x, sigma2);
    const sd = Math.sqrt(second - mean * mean);
    checks++;
    expect(Math.abs(sum / n - mean), `seed ${seed}`).toBeLessThanOrEqual(
      (normalCritical(ALPHA) * sd) / Math.sqrt(n),
    );
  });

  it('pmf sums to 1 and the interval is the smallest 95% one', () => {
    for (const sigma2 of [1 / 3, 4, 12.5, 400]) {
      let total = discreteGaussianPmf(0, sigma2);
      for (let x = 1; x <= 2000; x++) total += 2 * discreteGaussianPmf(x, sigma2);
      expect(total).toBeCloseTo(1, 12);
      const a = gaussianInterval95(sigma2);
      const inside = (b: number) => {
        let p = discreteGaussianPmf(0, sigma2);
        for (let x = 1; x <= b; x++) p += 2 * discreteGaussianPmf(x, sigma2);
        return p;
      };
      expect(inside(a)).toBeGreaterThanOrEqual(0.95);
      if (a > 0) expect(inside(a - 1)).toBeLessThan(0.95);
    }
    expect(gaussianInterval95(4)).toBe(4); // numpy sum over the normalized pmf
    expect(gaussianMeanAbs(4)).toBeCloseTo(1.5620954245152752, 10);
    expect(gaussianForRho(500_000)).toEqual({
      kind: 'discrete_gaussian',
      sigma2: { num: 1n, den: 1n },
    });
  });
});

describe('exactness (no floating point in the samplers)', () => {
  it('same source, same samples; every sample is an integer', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.bigInt({ min: 0n, max: 10_000n }),
        fc.bigInt({ min: 1n, max: 1_000n }),
        (seed, num, den) => {
          const a = seededRandomSource(seed);
          const b = seededRandomSource(seed);
          for (let i = 0; i < 5; i++) {
            const x = discreteLaplace(num, den, a);
            expect(typeof x).toBe('bigint');
            expect(discreteLaplace(num, den, b)).toBe(x);
            const g = discreteGaussian(num, den, a);
            expect(typeof g).toBe('bigint');
            expect(discreteGaussian(num, den, b)).toBe(g);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never calls a floating-point transcendental or Math.random while sampling', () => {
    const names = ['exp', 'log', 'log1p', 'expm1', 'pow', 'sqrt', 'random', 'cbrt'] as const;
    const spies = names.map((name) =>
      vi.spyOn(Math, name).mockImplementation(() => {
        throw new Error(`Math.${name} called while sampling`);
      }),
    );
    try {
      const rng = seededRandomSource('no-floats');
      for (let i = 0; i < 2000; i++) {
        discreteLaplace(7n, 3n, rng);
        discreteGaussian(25n, 2n, rng);
        bernoulliExp(31n, 7n, rng);
        sampleNoise(laplaceForEpsilon(100_000), rng);
      }
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('refuses non-BigInt parameters, so a double cannot slip in', () => {
    const rng = seededRandomSource('types');
    expect(() => discreteLaplace(1.5 as unknown as bigint, 1n, rng)).toThrow(TypeError);
    expect(() => discreteGaussian(2n, 0.5 as unknown as bigint, rng)).toThrow(TypeError);
    expect(() => rational(1, 0)).toThrow(RangeError);
    expect(() => rational(1.5)).toThrow(RangeError);
  });

  it('Mironov note: outputs are integers and every integer near the value stays possible', () => {
    // Floating-point Laplace noise leaks because the set of doubles reachable from value v differs
    // from that reachable from v + 1. Here the output is v + an integer, and the discrete pmf gives
    // every integer positive probability from both neighbours.
    const rng = seededRandomSource('mironov');
    for (let i = 0; i < 5000; i++) {
      const x = sampleNoise(laplaceForEpsilon(1_000_000), rng);
      expect(Number.isSafeInteger(Number(x))).toBe(true);
      expect(BigInt(Number(x))).toBe(x);
    }
    for (let y = -60; y <= 60; y++) {
      expect(discreteLaplacePmf(y - 100, 1)).toBeGreaterThan(0);
      expect(discreteLaplacePmf(y - 101, 1)).toBeGreaterThan(0);
    }
  });

  it('isqrt is the exact integer square root', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 200n }), (n) => {
        const r = isqrt(n);
        expect(r * r <= n && (r + 1n) * (r + 1n) > n).toBe(true);
      }),
    );
  });

  it('noise half-width follows the mechanism', () => {
    expect(noiseHalfWidth95(laplaceForEpsilon(100_000))).toBe(30);
    expect(noiseHalfWidth95({ kind: 'discrete_gaussian', sigma2: rational(4) })).toBe(4);
  });
});

// ---------------------------------------------------------------------------------------------
// Test statistics

function sampleMany(n: number, draw: () => bigint): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Number(draw());
  return out;
}

/**
 * Pearson's chi-square of integer samples against a symmetric pmf on the integers. The bins are
 * the single values −B+1 … B−1 plus the two tails (−∞, −B] and [B, ∞), with B the largest value
 * whose expected count is at least 5, so every bin expects at least 5. No parameter is estimated,
 * so df = bins − 1.
 */
function chiSquare(samples: number[], pmf: (x: number) => number): { stat: number; df: number } {
  const n = samples.length;
  let b = 0;
  while (n * pmf(b + 1) >= 5) b++;
  expect(b).toBeGreaterThanOrEqual(1);
  let upperTail = 0;
  for (let x = b; ; x++) {
    const p = pmf(x);
    upperTail += p;
    if (p < 1e-18 * upperTail) break;
  }
  const observed = new Map<number, number>();
  for (const s of samples) {
    const bin = Math.max(-b, Math.min(b, s));
    observed.set(bin, (observed.get(bin) ?? 0) + 1);
  }
  let stat = 0;
  for (let x = -b; x <= b; x++) {
    const expected = n * (x === -b || x === b ? upperTail : pmf(x));
    stat += ((observed.get(x) ?? 0) - expected) ** 2 / expected;
  }
  return { stat, df: 2 * b };
}

/** The x with P(χ²_df > x) = alpha. */
function chiSquareCritical(alpha: number, df: number): number {
  return bisect((x) => gammaQ(df / 2, x / 2) - alpha, 0, 10 * df + 1000);
}

/** The z with P(|Z| > z) = alpha for a standard normal Z (P(Z² > z²) with Z² ~ χ²₁). */
function normalCritical(alpha: number): number {
  return Math.sqrt(chiSquareCritical(alpha, 1));
}

/** Finds the root of a decreasing function on [lo, hi]. */
function bisect(f: (x: number) => number, lo: number, hi: number): number {
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Regularized upper incomplete gamma Q(a, x): series below a + 1, continued fraction above. */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(logPrefix);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefix) * h;
}

/** Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let s = c[0] ?? 0;
  for (let i = 1; i < 9; i++) s += (c[i] ?? 0) / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(s);
}
