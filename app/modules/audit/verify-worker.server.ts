import { Worker } from 'node:worker_threads';

// Hashing, parsing and checking entries against the catalogue is most of verification's CPU; a
// worker thread (verify-thread.mjs) does it for one chunk while the main thread receives the next
// from PostgreSQL. The thread loads the catalogue through tsx, so verification runs from the
// TypeScript sources (the command line and the job runner), as the sequencer's thread does.

export interface CheckedChunk {
  /** SHA-256(0x00 ‖ body) of each row, 32 bytes each. */
  hashes: Buffer;
  /** The `seq` the body claims, NaN when it has none. */
  seqs: Float64Array;
  /** The `prev` the body claims. */
  prevs: unknown[];
  /**
   * Bit 1: the body is a JSON object; bit 2: its searchable columns match the row's; bit 4: it is
   * a valid entry of the catalogue; bit 8: the row's searchable columns are all empty.
   */
  flags: Uint8Array;
  /** Why an entry is not valid, else null. */
  reasons: (string | null)[];
}

export class EntryChecker {
  #worker = new Worker(new URL('./verify-thread.mjs', import.meta.url));
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
