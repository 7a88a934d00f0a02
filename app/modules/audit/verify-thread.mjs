// A verification worker thread (verify-worker.server.ts): hashes and parses one chunk of entries
// and checks each against the catalogue, off the thread that walks the tree. It loads the
// catalogue's TypeScript through tsx, as the sequencer's thread does, so both judge entries with
// the writer's own schemas.
import crypto from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { checkLoggedEntry } = await import('./entry.server.ts');

const ZERO = Buffer.from([0]);
const EMPTY = '\u0002';
const field = (v) => (v === null || v === undefined ? EMPTY : String(v));
const NO_COLUMNS = Array(9).fill(EMPTY).join('\u0001');

parentPort.on('message', ({ id, bodies, offsets, signatures, signatureOffsets }) => {
  const all = Buffer.from(bodies);
  const sigs = Buffer.from(signatures);
  const n = offsets.length - 1;
  const hashes = Buffer.alloc(32 * n);
  const seqs = new Float64Array(n).fill(NaN);
  const prevs = new Array(n);
  const flags = new Uint8Array(n);
  const reasons = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    const body = all.subarray(offsets[i], offsets[i + 1]);
    crypto
      .createHash('sha256')
      .update(ZERO)
      .update(body)
      .digest()
      .copy(hashes, 32 * i);
    const stored = sigs.toString('utf8', signatureOffsets[i], signatureOffsets[i + 1]);
    if (stored === NO_COLUMNS) flags[i] |= 8;
    let e;
    try {
      e = JSON.parse(body.toString('utf8'));
    } catch {
      reasons[i] = 'not JSON';
      continue;
    }
    if (e === null || typeof e !== 'object') {
      reasons[i] = 'not a JSON object';
      continue;
    }
    flags[i] |= 1;
    if (typeof e.seq === 'number') seqs[i] = e.seq;
    prevs[i] = e.prev;
    const signature = [
      Date.parse(e.time),
      e.action,
      e.outcome,
      e.actor && e.actor.staffId,
      e.subjectStaffId,
      e.userId,
      e.grantId,
      e.privacyRequestId,
      e.sessionId,
    ]
      .map(field)
      .join('\u0001');
    if (signature === stored) flags[i] |= 2;
    const checked = checkLoggedEntry(e);
    if (checked.ok) flags[i] |= 4;
    else reasons[i] = checked.reason;
  }
  parentPort.postMessage({ id, hashes, seqs, prevs, flags, reasons }, [
    hashes.buffer,
    seqs.buffer,
    flags.buffer,
  ]);
});
