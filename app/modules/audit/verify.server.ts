import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type postgres from 'postgres';
import { MerkleFrontier } from './merkle.ts';
import { openCheckpoint, type TrustedKey } from './note.ts';
import { EntryChecker, type CheckedChunk } from './verify-worker.server.ts';

// Verification recomputes everything from the entries' bytes: each leaf hash, the link to the
// previous leaf, the indexed columns, and the tree's root at every checkpoint, stored or
// published; it checks every checkpoint's signature against keys that come from outside the
// database. The first bad position is reported, as `audit verify --json` prints it.

export type ProblemKind =
  | 'missing'
  | 'order'
  | 'content'
  | 'hash'
  | 'columns'
  | 'root'
  | 'truncated'
  | 'signature'
  | 'fork';

export interface Problem {
  seq: number | null;
  kind: ProblemKind;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  checkpoints: number;
  firstBadSeq: number | null;
  problems: Problem[];
}

interface KnownCheckpoint {
  size: number;
  root: Buffer;
  source: string;
}

export const VERIFY_CHUNK = 10_000;
/** Chunks fetched or hashed ahead of the tree walk. */
export const VERIFY_DEPTH = 4;
/** Hashing threads: the cores left beside this thread (PostgreSQL usually shares the machine). */
const CHECKERS = Math.max(1, Math.min(4, os.availableParallelism() - 1));

/** A row as PostgreSQL sent it (`.raw()`): seq, leaf_hash (`\\x` and hex), body, signature. */
export type RawRow = [Buffer, Buffer, Buffer | null, Buffer | null];

/** How many chunks cover positions 0 to maxSeq. */
export const verifyChunks = (maxSeq: number, size = VERIFY_CHUNK) =>
  maxSeq < 0 ? 0 : Math.floor(maxSeq / size) + 1;

/**
 * One chunk of the log, raw. PostgreSQL joins the searchable columns into one signature string
 * (the worker builds the same from the entry's content): one column instead of nine. Rows come as
 * the bytes PostgreSQL sent: bodies are hashed as received, never decoded to strings and encoded
 * again. The join bounds the entries' side too, or the merge join would scan every entry from the
 * first on each chunk (quadratic over a long log). The benchmark reads with this same query.
 */
export function fetchVerifyChunk(
  sql: postgres.Sql,
  from: number,
  size = VERIFY_CHUNK,
): Promise<RawRow[]> {
  return sql`
    select l.seq, l.leaf_hash, e.body,
           concat_ws(chr(1),
             coalesce((extract(epoch from e.occurred_at) * 1000)::float8::text, chr(2)),
             coalesce(e.action, chr(2)), coalesce(e.outcome, chr(2)),
             coalesce(e.actor_staff_id::text, chr(2)), coalesce(e.subject_staff_id::text, chr(2)),
             coalesce(e.user_id::text, chr(2)), coalesce(e.grant_id::text, chr(2)),
             coalesce(e.privacy_request_id::text, chr(2)), coalesce(e.session_id::text, chr(2))
           ) as signature
    from console.audit_leaves l
    left join console.audit_entries e
      on e.seq = l.seq and e.seq >= ${from} and e.seq < ${from + size}
    where l.seq >= ${from} and l.seq < ${from + size}
    order by l.seq`.raw() as unknown as Promise<RawRow[]>;
}

/** The decimal digits of a raw bigint column. */
function rawInteger(digits: Buffer): number {
  let n = 0;
  for (let i = 0; i < digits.length; i++) n = n * 10 + (digits[i]! - 48);
  return n;
}
const MAX_PROBLEMS = 100;

/** Checkpoint notes published outside the database (CUSTODIAN_AUDIT_CHECKPOINT_DIR). */
export function readPublishedCheckpoints(
  dir: string | undefined,
): { note: string; source: string }[] {
  if (!dir || !fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt') && !f.startsWith('.'))
    .sort()
    .map((f) => ({ note: fs.readFileSync(path.join(dir, f), 'utf8'), source: `published ${f}` }));
}

export async function verifyAuditLog(options: {
  sql: postgres.Sql;
  trusted: TrustedKey[];
  origin: string;
  published?: { note: string; source: string }[];
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Positions per chunk (tests use small ones to cross many chunk boundaries). */
  chunkSize?: number;
}): Promise<VerifyResult> {
  const { sql } = options;
  const problems: Problem[] = [];
  const add = (p: Problem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };

  // 1. Every checkpoint, stored and published, must be signed by a trusted key.
  const stored = (await sql`
    select id, note from console.audit_checkpoints order by tree_size, id`) as unknown as {
    id: string;
    note: string;
  }[];
  const notes = [
    ...stored.map((r) => ({ note: r.note, source: `stored checkpoint ${r.id}` })),
    ...(options.published ?? []),
  ];
  const bySize = new Map<number, KnownCheckpoint>();
  for (const { note, source } of notes) {
    try {
      const { checkpoint } = openCheckpoint(note, options.trusted, { origin: options.origin });
      const known = bySize.get(checkpoint.size);
      if (known && !known.root.equals(checkpoint.rootHash)) {
        add({
          seq: null,
          kind: 'fork',
          message: `${source} and ${known.source} sign different roots for tree size ${checkpoint.size}`,
        });
      }
      bySize.set(checkpoint.size, {
        size: checkpoint.size,
        root: Buffer.from(checkpoint.rootHash),
        source,
      });
    } catch (error) {
      add({ seq: null, kind: 'signature', message: `${source}: ${(error as Error).message}` });
    }
  }
  const checkpoints = [...bySize.values()].sort((a, b) => a.size - b.size);

  // 2. Recompute the tree from the entries' bytes.
  const [{ n, max }] = (await sql`
    select count(*)::bigint as n, coalesce(max(seq), -1)::bigint as max
    from console.audit_leaves`) as unknown as [{ n: string; max: string }];
  const total = Number(n);
  const maxSeq = Number(max);
  const frontier = new MerkleFrontier();
  let expected = 0;
  let prev: Buffer | null = null;
  let lastGoodCheckpoint = 0;
  let broken = false; // after a gap the recomputed tree no longer matches any position
  let nextCheckpoint = 0;
  const checkRoots = () => {
    while (
      nextCheckpoint < checkpoints.length &&
      checkpoints[nextCheckpoint]!.size <= frontier.size
    ) {
      const cp = checkpoints[nextCheckpoint]!;
      if (cp.size === frontier.size && !broken) {
        if (frontier.root().equals(cp.root)) lastGoodCheckpoint = cp.size;
        else {
          add({
            seq: lastGoodCheckpoint,
            kind: 'root',
            message: `the root recomputed at tree size ${cp.size} differs from ${cp.source}: an entry from ${lastGoodCheckpoint} to ${cp.size - 1} was changed or rewritten`,
          });
          broken = true;
        }
      }
      nextCheckpoint++;
    }
  };
  // Chunks are ranges of positions, so several are in flight at once: PostgreSQL sends chunk k+2
  // while a worker hashes chunk k+1 and this thread walks chunk k through the tree.
  const checkers = Array.from({ length: CHECKERS }, () => new EntryChecker());
  const chunkSize = options.chunkSize ?? VERIFY_CHUNK;
  const chunks = verifyChunks(maxSeq, chunkSize);
  const inFlight = new Map<number, Promise<{ rows: RawRow[]; checked: CheckedChunk | null }>>();
  const start = (k: number) => {
    const chunk = fetchVerifyChunk(sql, k * chunkSize, chunkSize).then(async (rows) => ({
      rows,
      checked: rows.length
        ? await checkers[k % CHECKERS]!.check(
            rows.map((r) => r[2]),
            rows.map((r) => r[3]),
          )
        : null,
    }));
    chunk.catch(() => {}); // awaited in order below; this keeps a later failure from going unhandled
    inFlight.set(k, chunk);
  };
  for (let k = 0; k < Math.min(VERIFY_DEPTH, chunks); k++) start(k);
  try {
    for (let k = 0; k < chunks; k++) {
      const { rows, checked } = await inFlight.get(k)!;
      inFlight.delete(k);
      if (k + VERIFY_DEPTH < chunks) start(k + VERIFY_DEPTH);
      if (!checked) continue;
      const stored = Buffer.alloc(32 * rows.length);
      for (let i = 0; i < rows.length; i++) {
        // A stored hash of any other length stays all zeros here, so it cannot match.
        const hex = rows[i]![1];
        if (hex.length === 66) stored.write(hex.toString('latin1', 2), 32 * i, 'hex');
      }
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const seq = rawInteger(row[0]);
        if (seq !== expected) {
          add({
            seq: expected,
            kind: 'missing',
            message: `entries ${expected}–${seq - 1} are missing`,
          });
          broken = true;
          expected = seq;
        }
        if (!row[2]) {
          add({ seq, kind: 'missing', message: `entry ${seq} has a leaf hash but no content` });
          broken = true;
          expected++;
          continue;
        }
        const hash = checked.hashes.subarray(32 * i, 32 * i + 32);
        if (hash.compare(stored, 32 * i, 32 * i + 32) !== 0) {
          add({
            seq,
            kind: 'content',
            message: `entry ${seq}: its content does not hash to its stored leaf hash`,
          });
        }
        const flags = checked.flags[i]!;
        if (!(flags & 1))
          add({ seq, kind: 'content', message: `entry ${seq} is not a JSON object` });
        const claimed = checked.seqs[i]!;
        if (claimed !== seq) {
          add({
            seq,
            kind: 'order',
            message: `entry stored at ${seq} says it is entry ${Number.isNaN(claimed) ? 'nothing' : claimed}`,
          });
        } else if (checked.prevs[i] !== (prev ? prev.toString('base64') : null) && seq > 0) {
          // The previous entry's bytes no longer hash to the leaf this entry was linked to.
          add({
            seq: seq - 1,
            kind: 'hash',
            message: `entry ${seq - 1} differs from the leaf entry ${seq} was chained to`,
          });
        }
        if (flags & 1 && !(flags & 2)) {
          add({
            seq,
            kind: 'columns',
            message: `entry ${seq}: its searchable columns differ from its content`,
          });
        }
        frontier.append(hash);
        prev = hash;
        expected++;
        checkRoots();
      }
      await options.onProgress?.(expected, total);
    }
  } finally {
    await Promise.all(checkers.map((c) => c.close()));
  }

  // 3. A checkpoint (stored or published) of a larger tree than the entries: the log was cut.
  const largest = checkpoints[checkpoints.length - 1];
  if (largest && largest.size > expected) {
    add({
      seq: expected,
      kind: 'truncated',
      message: `${largest.source} covers ${largest.size} entries but the log holds ${expected}: entries from ${expected} are missing`,
    });
  }
  // An entry-level finding names the position exactly; a root or length mismatch only bounds it.
  const exact = problems.filter(
    (p) => p.seq !== null && p.kind !== 'root' && p.kind !== 'truncated',
  );
  const seqs = (exact.length ? exact : problems)
    .map((p) => p.seq)
    .filter((s): s is number => s !== null);
  return {
    ok: problems.length === 0,
    entries: expected,
    checkpoints: checkpoints.length,
    firstBadSeq: seqs.length ? Math.min(...seqs) : null,
    problems: problems.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity)),
  };
}
