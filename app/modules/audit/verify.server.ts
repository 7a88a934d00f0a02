import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type postgres from 'postgres';
import { openCheckpoint, type TrustedKey } from './note.ts';
import { storedCheckpointMismatch, type StoredCheckpointRow } from './stored-checkpoint.server.ts';
import { MerkleFrontier, sameFrontier } from './merkle.ts';
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
  | 'fork'
  /** An entry that is not one of the catalogue (ADR 018): logged as queued, never derived. */
  | 'invalid_entry'
  /** A stored checkpoint row whose columns are not what its signed note says. */
  | 'checkpoint'
  /** A stored tree head that is not the recomputed tree at its size (or lies beyond the log). */
  | 'tree_head'
  /** The oldest queued entry waited longer than allowed (only with maxIntakeAgeSeconds). */
  | 'intake'
  /**
   * An entry emptied by a purge run that the log does not record: no `audit.contents_purged`
   * entry names that run and range (ADR 033). Contents removed some other way are `missing`.
   */
  | 'purge';

export interface Problem {
  seq: number | null;
  kind: ProblemKind;
  message: string;
}

/** Entries queued but not yet in the log: a liveness figure, not an integrity one. */
export interface IntakeStatus {
  depth: number;
  /** How long the oldest queued entry has waited, in whole seconds; null when none waits. */
  oldestSeconds: number | null;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  /**
   * Entries whose contents the retention policy removed (ADR 033), verified by their leaf hash
   * and the purge's record in the log; counted apart from entries missing or altered.
   */
  purged: number;
  checkpoints: number;
  firstBadSeq: number | null;
  problems: Problem[];
  intake: IntakeStatus;
}

/** The intake's depth and age, through the one function the app's role may call on it. */
export async function intakeStatus(sql: postgres.Sql): Promise<IntakeStatus> {
  const [row] = (await sql`
    select depth::text as depth,
           floor(extract(epoch from (now() - oldest)))::text as age
    from console.audit_intake_status()`) as unknown as { depth: string; age: string | null }[];
  return {
    depth: Number(row?.depth ?? 0),
    oldestSeconds:
      row?.age === null || row?.age === undefined ? null : Math.max(0, Number(row.age)),
  };
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

/**
 * A row as PostgreSQL sent it (`.raw()`): seq, leaf_hash (`\\x` and hex), body, signature, for
 * an invalid entry its bytes (`\\x` and hex) and whether it is marked invalid (`t`/`f`), and for
 * an entry emptied by the retention purge the run that emptied it (ADR 033).
 */
export type RawRow = [
  Buffer,
  Buffer,
  Buffer | null,
  Buffer | null,
  Buffer | null,
  Buffer | null,
  Buffer | null,
];

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
           ) as signature,
           e.raw, e.invalid is not null as marked, e.purged_by
    from console.audit_leaves l
    left join console.audit_entries e
      on e.seq = l.seq and e.seq >= ${from} and e.seq < ${from + size}
    where l.seq >= ${from} and l.seq < ${from + size}
    order by l.seq`.raw() as unknown as Promise<RawRow[]>;
}

interface HeadRow {
  root: Buffer;
  frontier: unknown;
}

/** The stored tree heads of sizes from+1 to from+size (the sizes a chunk's entries reach). */
async function fetchHeads(sql: postgres.Sql, from: number, size: number) {
  const rows = (await sql`
    select tree_size::text as size, root, frontier from console.audit_tree_heads
    where tree_size > ${from} and tree_size <= ${from + size}`) as unknown as {
    size: string;
    root: Buffer;
    frontier: unknown;
  }[];
  return new Map(rows.map((r) => [Number(r.size), { root: r.root, frontier: r.frontier }]));
}

/** A raw bytea column (`\\x` and hex) as its bytes. */
const rawBytea = (hex: Buffer) => Buffer.from(hex.toString('latin1', 2), 'hex');

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
  /** A queued entry older than this is a problem (`intake`); without it the intake is reported only. */
  maxIntakeAgeSeconds?: number;
}): Promise<VerifyResult> {
  const { sql } = options;
  const problems: Problem[] = [];
  const add = (p: Problem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };

  // 0. The intake: measured first, as verification itself takes a while.
  const intake = await intakeStatus(sql);
  const maxAge = options.maxIntakeAgeSeconds;
  if (maxAge !== undefined && intake.oldestSeconds !== null && intake.oldestSeconds > maxAge) {
    add({
      seq: null,
      kind: 'intake',
      message: `the oldest of ${intake.depth} queued entries has waited ${intake.oldestSeconds} s, more than ${maxAge} s: the sequencer is stuck or not running`,
    });
  }

  // 1. Every checkpoint, stored and published, must be signed by a trusted key.
  const stored = (await sql`
    select id, tree_size, root, note, key_name, created_at
    from console.audit_checkpoints order by tree_size, id`) as unknown as StoredCheckpointRow[];
  const notes = [
    ...stored.map((r) => ({ note: r.note, source: `stored checkpoint ${r.id}`, row: r })),
    ...(options.published ?? []).map((p) => ({ ...p, row: undefined })),
  ];
  const bySize = new Map<number, KnownCheckpoint>();
  for (const { note, source, row } of notes) {
    let opened: ReturnType<typeof openCheckpoint>;
    try {
      opened = openCheckpoint(note, options.trusted, { origin: options.origin });
    } catch (error) {
      add({ seq: null, kind: 'signature', message: `${source}: ${(error as Error).message}` });
      continue;
    }
    const { checkpoint } = opened;
    // The note is what was signed; a row's columns must say the same, or the row is not a
    // checkpoint (a tree size nobody signed would stop the sequencer signing: ADR 018).
    const mismatch = row ? storedCheckpointMismatch(row, opened) : null;
    if (mismatch) add({ seq: null, kind: 'checkpoint', message: `${source}: ${mismatch}` });
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
  }
  const checkpoints = [...bySize.values()].sort((a, b) => a.size - b.size);

  // Purge runs as recorded beside the log (ADR 033): an emptied entry must name one whose range
  // holds it, and the log itself must record the run (checked after the walk).
  const runs = new Map(
    (
      (await sql`
        select id::text as id, from_seq::text as from_seq, to_seq::text as to_seq, emptied
        from console.trail_purges`) as unknown as {
        id: string;
        from_seq: string;
        to_seq: string;
        emptied: number;
      }[]
    ).map((r) => [
      r.id,
      { from: Number(r.from_seq), to: Number(r.to_seq), emptied: r.emptied, seen: false },
    ]),
  );
  let purged = 0;

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
  // Tree heads: each one must be the recomputed tree at its size. Once one differs, the ones after
  // it differ too until one matches again: only the first of such a run is reported.
  let heads = new Map<number, HeadRow>();
  let headDiverged = false;
  const checkHead = () => {
    const head = heads.get(frontier.size);
    if (!head || broken) return;
    const agrees = head.root.equals(frontier.root()) && sameFrontier(head.frontier, frontier);
    if (!agrees && !headDiverged) {
      add({
        seq: null,
        kind: 'tree_head',
        message: `stored tree head ${frontier.size}: its root or frontier is not the tree recomputed from the entries`,
      });
    }
    headDiverged = !agrees;
  };
  const checkRoots = () => {
    checkHead();
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
  const inFlight = new Map<
    number,
    Promise<{ rows: RawRow[]; checked: CheckedChunk | null; heads: Map<number, HeadRow> }>
  >();
  const start = (k: number) => {
    const heads = fetchHeads(sql, k * chunkSize, chunkSize);
    heads.catch(() => {});
    const chunk = fetchVerifyChunk(sql, k * chunkSize, chunkSize).then(async (rows) => ({
      rows,
      heads: await heads,
      checked: rows.length
        ? await checkers[k % CHECKERS]!.check(
            rows.map((r) => r[2] ?? (r[4] ? rawBytea(r[4]) : null)),
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
      const { rows, checked, heads: chunkHeads } = await inFlight.get(k)!;
      inFlight.delete(k);
      heads = chunkHeads;
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
        if (!row[2] && !row[4] && row[6]) {
          // Emptied by the retention purge: its stored leaf hash stands for it (the signed roots
          // and the next entry's link vouch for that hash), and its run must hold it.
          const run = runs.get(row[6].toString('latin1'));
          if (run && seq >= run.from && seq <= run.to) {
            run.seen = true;
            purged++;
            const leaf = Buffer.from(stored.subarray(32 * i, 32 * i + 32));
            frontier.append(leaf);
            prev = leaf;
            expected++;
            checkRoots();
            continue;
          }
          add({
            seq,
            kind: 'missing',
            message: `entry ${seq} has no content, and no recorded purge run covers it`,
          });
          broken = true;
          expected++;
          continue;
        }
        if (!row[2] && !row[4]) {
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
        const marked = row[5]?.[0] === 116; // 't'
        if (!(flags & 4)) {
          // Logged as it was queued: it claims no position, and its columns stay empty (an entry
          // logged before ADR 018 may still carry columns derived from it).
          add({
            seq,
            kind: 'invalid_entry',
            message: `entry ${seq} is not a valid audit entry: ${checked.reasons[i] ?? 'unknown'}`,
          });
          if (!(flags & 8) && !(flags & 2)) {
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
          continue;
        }
        if (marked || row[2] === null) {
          add({
            seq,
            kind: 'columns',
            message: `entry ${seq} is marked invalid but is a valid entry`,
          });
        }
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

  // Each purge run that emptied an entry must be recorded in the log by the entry the purge queued
  // in its own transaction (it may still wait in the intake for a moment after the run).
  const usedRuns = [...runs].filter(([, r]) => r.seen);
  if (usedRuns.length) {
    const recorded = (await sql`
      select seq::text as seq, body::jsonb -> 'details' as details from console.audit_entries
      where action = 'audit.contents_purged'`) as unknown as {
      seq: string;
      details: { run?: unknown; fromSeq?: unknown; toSeq?: unknown; emptied?: unknown };
    }[];
    const byRun = new Map(recorded.map((r) => [String(r.details.run), r]));
    for (const [id, run] of usedRuns) {
      const entry = byRun.get(id);
      const same =
        entry &&
        entry.details.fromSeq === run.from &&
        entry.details.toSeq === run.to &&
        entry.details.emptied === run.emptied &&
        Number(entry.seq) > run.to;
      if (same || (!entry && intake.depth > 0)) continue;
      add({
        seq: run.from,
        kind: 'purge',
        message: entry
          ? `purge run ${id} (entries ${run.from}–${run.to}) is not what the log's entry ${entry.seq} records`
          : `entries ${run.from}–${run.to} were emptied by purge run ${id}, which the log does not record`,
      });
    }
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
  // A tree head of a size the entries do not reach (or of no entries at all) is not the log's. The
  // log may have grown since the walk began: one statement compares heads and leaves as of now.
  const stray = (await sql`
    select h.tree_size::text as size, n.size::text as held
    from console.audit_tree_heads h,
         (select coalesce(max(seq) + 1, 0) as size from console.audit_leaves) n
    where h.tree_size > n.size or h.tree_size < 1 order by h.tree_size limit 10`) as unknown as {
    size: string;
    held: string;
  }[];
  for (const { size, held } of stray) {
    add({
      seq: null,
      kind: 'tree_head',
      message: `stored tree head ${size}: the log holds ${held} entries`,
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
    purged,
    checkpoints: checkpoints.length,
    firstBadSeq: seqs.length ? Math.min(...seqs) : null,
    problems: problems.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity)),
    intake,
  };
}
