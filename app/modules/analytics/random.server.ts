import { createCipheriv, createHash, randomFillSync } from 'node:crypto';

/**
 * Uniform randomness for the exact samplers in ./noise.ts. Every draw is an integer; nothing here
 * produces or consumes a floating-point number.
 */
export interface RandomSource {
  /** A uniform integer in [0, n); n must be at least 1. */
  uniformBelow(n: bigint): bigint;
  /** A fair coin. */
  bit(): boolean;
}

const POOL_BYTES = 16 * 1024;
const TWO_32 = 1n << 32n;

/**
 * Hands out bytes from a refillable pool: one crypto call per 16 KiB instead of one per draw.
 * uniformBelow uses rejection sampling on the fewest bits that can hold n − 1, so there is no
 * modulo bias.
 */
class PooledSource implements RandomSource {
  private readonly pool = Buffer.alloc(POOL_BYTES);
  private offset = POOL_BYTES;
  private bits = 0;
  private bitsLeft = 0;

  constructor(private readonly fill: (buffer: Buffer) => void) {}

  private uint32(): number {
    if (this.offset + 4 > POOL_BYTES) {
      this.fill(this.pool);
      this.offset = 0;
    }
    const value = this.pool.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  bit(): boolean {
    if (this.bitsLeft === 0) {
      this.bits = this.uint32();
      this.bitsLeft = 32;
    }
    const b = this.bits & 1;
    this.bits >>>= 1;
    this.bitsLeft -= 1;
    return b === 1;
  }

  uniformBelow(n: bigint): bigint {
    if (n < 1n) throw new RangeError(`uniformBelow needs n ≥ 1, got ${n}`);
    if (n === 1n) return 0n;
    if (n <= TWO_32) {
      const m = Number(n);
      const shift = Math.clz32(m - 1);
      for (;;) {
        const v = this.uint32() >>> shift;
        if (v < m) return BigInt(v);
      }
    }
    const bitLength = (n - 1n).toString(2).length;
    const words = Math.ceil(bitLength / 32);
    const mask = (1n << BigInt(bitLength)) - 1n;
    for (;;) {
      let v = 0n;
      for (let i = 0; i < words; i++) v = (v << 32n) | BigInt(this.uint32());
      v &= mask;
      if (v < n) return v;
    }
  }
}

/** The production source: the operating system's CSPRNG through node:crypto. */
export function cryptoRandomSource(): RandomSource {
  return new PooledSource((buffer) => randomFillSync(buffer));
}

/**
 * Test-only: a deterministic stream (AES-256-CTR keystream keyed by SHA-256 of the seed), so a
 * failing statistical test can be replayed from its seed. Never use it for a real release: anyone
 * who knows the seed knows the noise.
 */
export function seededRandomSource(seed: string): RandomSource {
  const key = createHash('sha256').update(`custodian:analytics:test-rng|${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(POOL_BYTES);
  return new PooledSource((buffer) => {
    cipher.update(zeros).copy(buffer);
  });
}
