import { Worker } from 'node:worker_threads';

// Hashing and parsing entries is most of verification's CPU; a worker thread does it for one chunk
// while the main thread receives the next from PostgreSQL. The worker is plain JavaScript given as
// source, so it runs the same from the TypeScript sources and from the Remix server build.

const SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const ZERO = Buffer.from([0]);
const field = (v) => (v === null || v === undefined ? '\\u0002' : String(v));
parentPort.on('message', ({ id, bodies, offsets, signatures, signatureOffsets }) => {
  const all = Buffer.from(bodies);
  const sigs = Buffer.from(signatures);
  const n = offsets.length - 1;
  const hashes = Buffer.alloc(32 * n);
  const seqs = new Float64Array(n).fill(NaN);
  const prevs = new Array(n);
  const flags = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const body = all.subarray(offsets[i], offsets[i + 1]);
    crypto.createHash('sha256').update(ZERO).update(body).digest().copy(hashes, 32 * i);
    let e;
    try {
      e = JSON.parse(body.toString('utf8'));
    } catch {
      continue;
    }
    if (e === null || typeof e !== 'object') continue;
    flags[i] |= 1;
    if (typeof e.seq === 'number') seqs[i] = e.seq;
    prevs[i] = e.prev;
    const signature = [Date.parse(e.time), e.action, e.outcome, e.actor && e.actor.staffId,
      e.subjectStaffId, e.userId, e.grantId, e.privacyRequestId, e.sessionId].map(field).join('\\u0001');
    if (signature === sigs.toString('utf8', signatureOffsets[i], signatureOffsets[i + 1])) flags[i] |= 2;
  }
  parentPort.postMessage({ id, hashes, seqs, prevs, flags }, [hashes.buffer, seqs.buffer, flags.buffer]);
});
`;

export interface CheckedChunk {
  /** SHA-256(0x00 ‖ body) of each row, 32 bytes each. */
  hashes: Buffer;
  /** The `seq` the body claims, NaN when it has none. */
  seqs: Float64Array;
  /** The `prev` the body claims. */
  prevs: unknown[];
  /** Bit 1: the body is a JSON object; bit 2: its searchable columns match the row's. */
  flags: Uint8Array;
}

export class EntryChecker {
  #worker = new Worker(SOURCE, { eval: true });
  #next = 0;
  #waiting = new Map<
    number,
    { resolve: (chunk: CheckedChunk) => void; reject: (error: Error) => void }
  >();

  constructor() {
    this.#worker.on('message', (m: CheckedChunk & { id: number }) => {
      // Structured cloning delivers a Uint8Array, not a Buffer.
      const hashes = Buffer.from(m.hashes.buffer, m.hashes.byteOffset, m.hashes.byteLength);
      this.#waiting.get(m.id)?.resolve({ ...m, hashes });
      this.#waiting.delete(m.id);
    });
    this.#worker.on('error', (error) => {
      for (const w of this.#waiting.values()) w.reject(error);
      this.#waiting.clear();
    });
    this.#worker.unref();
  }

  /**
   * Hashes and parses the bodies off the main thread. Bodies and signatures are the exact bytes
   * PostgreSQL sent (a missing body counts as empty), copied into one transferable buffer each.
   */
  check(bodies: (Buffer | null)[], signatures: (Buffer | null)[]): Promise<CheckedChunk> {
    const pack = (values: (Buffer | null)[]) => {
      const offsets = new Uint32Array(values.length + 1);
      let total = 0;
      for (let i = 0; i < values.length; i++) {
        total += values[i]?.length ?? 0;
        offsets[i + 1] = total;
      }
      const packed = Buffer.allocUnsafeSlow(total);
      for (let i = 0; i < values.length; i++) values[i]?.copy(packed, offsets[i]);
      return { packed, offsets };
    };
    const b = pack(bodies);
    const s = pack(signatures);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage(
        {
          id,
          bodies: b.packed.buffer,
          offsets: b.offsets,
          signatures: s.packed.buffer,
          signatureOffsets: s.offsets,
        },
        [b.packed.buffer, s.packed.buffer],
      );
    });
  }

  async close() {
    await this.#worker.terminate();
  }
}
