// A small, fast, seedable PRNG (sfc32) and the draws the seed needs. Every generated value comes
// from one of these streams, so a seed reproduces the same plaintext data on any machine, with any
// number of worker threads.

/** Mixes 32-bit words into one (murmur3's finaliser over a running hash). */
export function mix32(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const word of words) {
    let k = Math.imul(word | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string. */
export function hashString(text: string, basis = 0x811c9dc5): number {
  let h = basis;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(word: number, shift: number): string {
  return HEX[(word >>> shift) & 0xff]!;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A stream keyed by any number of 32-bit words (seed, salt, ordinal, purpose, ...). */
  constructor(...key: number[]) {
    this.a = mix32(0xa0761d65, ...key);
    this.b = mix32(0xe7037ed1, ...key);
    this.c = mix32(0x8ebc6af0, ...key);
    this.d = mix32(0x589965cc, ...key);
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  /** Standard normal (Box–Muller; one of the pair is dropped to keep the stream simple). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given mean (sigma is the spread of the underlying normal). */
  logNormal(mean: number, sigma: number): number {
    return mean * Math.exp(sigma * this.normal() - (sigma * sigma) / 2);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  /** A version-4 UUID whose random bits come from this stream. */
  uuid(): string {
    const w0 = this.next();
    const w1 = this.next();
    const w2 = this.next();
    const w3 = this.next();
    const b6 = ((w1 >>> 8) & 0x0f) | 0x40;
    const b8 = ((w2 >>> 24) & 0x3f) | 0x80;
    return (
      hex8(w0, 24) +
      hex8(w0, 16) +
      hex8(w0, 8) +
      hex8(w0, 0) +
      '-' +
      hex8(w1, 24) +
      hex8(w1, 16) +
      '-' +
      HEX[b6]! +
      hex8(w1, 0) +
      '-' +
      HEX[b8]! +
      hex8(w2, 16) +
      '-' +
      hex8(w2, 8) +
      hex8(w2, 0) +
      hex8(w3, 24) +
      hex8(w3, 16) +
      hex8(w3, 8) +
      hex8(w3, 0)
    );
  }
}

/** A fixed weighted choice, drawn in O(log n). */
export class Weighted<T> {
  private readonly values: T[];
  private readonly cumulative: number[];
  private readonly total: number;

  constructor(entries: Iterable<readonly [T, number]>) {
    this.values = [];
    this.cumulative = [];
    let total = 0;
    for (const [value, weight] of entries) {
      if (!(weight > 0)) continue;
      total += weight;
      this.values.push(value);
      this.cumulative.push(total);
    }
    if (this.values.length === 0) throw new Error('Weighted: no positive weight');
    this.total = total;
  }

  static of<K extends string>(weights: Partial<Record<K, number>>): Weighted<K> {
    return new Weighted(Object.entries(weights) as [K, number][]);
  }

  pick(rng: Rng): T {
    const x = rng.float() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo]!;
  }
}

/**
 * Splits `total` into integer parts proportional to `weights` (largest remainder), after giving
 * each part its minimum. Exact: the parts always sum to `total` when any weight is positive.
 */
export function apportion(total: number, weights: number[], minimums?: number[]): number[] {
  const parts = weights.map((_, i) => minimums?.[i] ?? 0);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (left <= 0 || sum <= 0) return parts;
  const remainders: { i: number; r: number }[] = [];
  let given = 0;
  for (let i = 0; i < weights.length; i++) {
    const share = (left * weights[i]!) / sum;
    const whole = Math.floor(share);
    parts[i]! += whole;
    given += whole;
    remainders.push({ i, r: share - whole });
  }
  left -= given;
  remainders.sort((x, y) => y.r - x.r || x.i - y.i);
  for (let k = 0; k < left; k++) parts[remainders[k % remainders.length]!.i]! += 1;
  return parts;
}
