import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { canonicalBytes } from './canonical.ts';
import { checkIntakeBody } from './entry.server.ts';
import { leafHash, sameFrontier } from './merkle.ts';
import {
  formatCheckpoint,
  signNote,
  verifierKeyFor,
  type Signer,
  type TrustedKey,
} from './note.ts';
import { frontierAt, rootAt } from './proofs.server.ts';
import { openStoredCheckpoint, type StoredCheckpointRow } from './stored-checkpoint.server.ts';

// The sequencer moves queued entries into the log: it gives each its position (seq, from 0, no
// gaps), links it to the previous leaf, extends the Merkle tree and records the new tree head, all
// in one transaction per batch. A transaction-scoped advisory lock lets any number of processes
// run it while only one extends the log at a time; the primary keys on seq and tree size make a
// fork impossible even so. It runs as the custodian_sequencer role, the only one that may delete
// from the intake queue.

const LOCK = 727_275;
const INSERT_CHUNK = 2_000;

export type SequencerSql = postgres.Sql;

export function sequencerConnection(url: string, max = 2): SequencerSql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connection: { application_name: 'custodian-sequencer', role: 'custodian_sequencer' },
  });
}

interface IntakeRow {
  id: string;
  body: Buffer;
}

interface EntryColumns {
  seq: number;
  body: string | null;
  occurred_at: string | null;
  action: string | null;
  outcome: string | null;
  actor_staff_id: string | null;
  subject_staff_id: string | null;
  user_id: string | null;
  grant_id: string | null;
  privacy_request_id: string | null;
  session_id: string | null;
  raw: Buffer | null;
  invalid: string | null;
}

/** The indexed columns of an entry, read from its bytes (verification re-derives them too). */
export function entryColumns(seq: number, body: string, parsed?: unknown): EntryColumns {
  const e = (parsed ?? JSON.parse(body)) as {
    time: string;
    action: string;
    outcome: string;
    actor: { staffId: string } | null;
    subjectStaffId: string | null;
    userId: string | null;
    grantId: string | null;
    privacyRequestId: string | null;
    sessionId: string | null;
  };
  return {
    seq,
    body,
    occurred_at: e.time,
    action: e.action,
    outcome: e.outcome,
    actor_staff_id: e.actor?.staffId ?? null,
    subject_staff_id: e.subjectStaffId,
    user_id: e.userId,
    grant_id: e.grantId,
    privacy_request_id: e.privacyRequestId,
    session_id: e.sessionId,
    raw: null,
    invalid: null,
  };
}

/** An entry that is not one of the catalogue: its bytes as committed, nothing derived (ADR 018). */
function invalidColumns(seq: number, bytes: Buffer, reason: string): EntryColumns {
  return {
    seq,
    body: null,
    occurred_at: null,
    action: null,
    outcome: null,
    actor_staff_id: null,
    subject_staff_id: null,
    user_id: null,
    grant_id: null,
    privacy_request_id: null,
    session_id: null,
    raw: bytes,
    invalid: reason,
  };
}

export interface TreeHead {
  treeSize: number;
  root: Buffer;
}

/**
 * Says a problem once per process (the loop runs ten times a second): `reported` remembers what
 * was said; without it every call says it again.
 */
function sayOnce(log: (line: string) => void, reported: Set<string> | undefined, key: string) {
  return (line: string) => {
    if (reported?.has(key)) return;
    reported?.add(key);
    log(line);
  };
}

/**
 * The tree the log holds: its size from the stored leaves, its frontier from the stored
 * perfect-subtree hashes. A stored tree head is only a record of it; one that disagrees (or lies
 * beyond the log) is refused, said loudly, and never built on.
 */
async function storedTree(
  tx: postgres.TransactionSql,
  log: (line: string) => void,
  reported?: Set<string>,
) {
  const [last] = (await tx`
    select seq, leaf_hash from console.audit_leaves order by seq desc limit 1`) as unknown as {
    seq: string;
    leaf_hash: Buffer;
  }[];
  const size = last ? Number(last.seq) + 1 : 0;
  const frontier = await frontierAt(tx as unknown as postgres.Sql, size);
  const heads = (await tx`
    select tree_size, root, frontier from console.audit_tree_heads
    where tree_size >= ${size} order by tree_size limit 10`) as unknown as {
    tree_size: string;
    root: Buffer;
    frontier: unknown;
  }[];
  for (const head of heads) {
    const at = Number(head.tree_size);
    const say = sayOnce(log, reported, `head:${at}:${head.root.toString('hex')}`);
    if (at > size) {
      say(
        `audit sequencer: REFUSING stored tree head ${at}: the log holds ${size} entries; sequencing from ${size}`,
      );
    } else if (!head.root.equals(frontier.root()) || !sameFrontier(head.frontier, frontier)) {
      say(
        `audit sequencer: REFUSING stored tree head ${at}: its root or frontier is not the stored tree's; sequencing from the stored leaves and subtree hashes`,
      );
    }
  }
  return { frontier, prev: last?.leaf_hash ?? null };
}

/** Moves up to `limit` queued entries into the log. Returns how many, and the new head. */
export async function sequenceBatch(
  sql: SequencerSql,
  options: {
    limit?: number;
    now?: () => Date;
    log?: (line: string) => void;
    /** Problems already said (see sayOnce). */
    reported?: Set<string>;
  } = {},
): Promise<{ appended: number; head: TreeHead | null; invalid: number }> {
  const limit = options.limit ?? 5_000;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => {});
  return sql.begin(async (tx) => {
    const [{ locked }] = (await tx`select pg_try_advisory_xact_lock(${LOCK}) as locked`) as [
      { locked: boolean },
    ];
    if (!locked) return { appended: 0, head: null, invalid: 0 };
    const queued = (await tx`
      select id, body from console.audit_intake order by id limit ${limit}`) as unknown as IntakeRow[];
    if (queued.length === 0) return { appended: 0, head: null, invalid: 0 };

    const tree = await storedTree(tx, log, options.reported);
    const frontier = tree.frontier;
    let prev: Buffer | null = tree.prev;

    const leaves: { seq: number; leaf_hash: Buffer }[] = [];
    const entries: EntryColumns[] = [];
    const nodes: { level: number; idx: number; hash: Buffer }[] = [];
    const invalid: { seq: number; reason: string }[] = [];
    for (const row of queued) {
      const seq = frontier.size;
      // Content never stops the log: an entry that is not one of the catalogue is logged as the
      // bytes that were committed, and said.
      let bytes: Buffer = row.body;
      let columns: EntryColumns;
      const checked = checkIntakeBody(row.body);
      if (checked.ok) {
        try {
          bytes = canonicalBytes({
            ...checked.entry,
            seq,
            prev: prev ? prev.toString('base64') : null,
          });
          columns = entryColumns(seq, bytes.toString('utf8'), { ...checked.entry, seq });
        } catch (error) {
          bytes = row.body;
          columns = invalidColumns(seq, bytes, `not canonical JSON: ${(error as Error).message}`);
        }
      } else {
        columns = invalidColumns(seq, bytes, checked.reason);
      }
      if (columns.invalid !== null) invalid.push({ seq, reason: columns.invalid });
      const leaf = leafHash(bytes);
      frontier.append(leaf, (level, idx, hash) => nodes.push({ level, idx, hash }));
      leaves.push({ seq, leaf_hash: leaf });
      entries.push(columns);
      prev = leaf;
    }
    for (let i = 0; i < leaves.length; i += INSERT_CHUNK) {
      await tx`insert into console.audit_leaves ${tx(leaves.slice(i, i + INSERT_CHUNK))}`;
      await tx`insert into console.audit_entries ${tx(entries.slice(i, i + INSERT_CHUNK))}`;
    }
    for (let i = 0; i < nodes.length; i += INSERT_CHUNK) {
      await tx`insert into console.audit_nodes ${tx(nodes.slice(i, i + INSERT_CHUNK))}`;
    }
    const root = frontier.root();
    // A head row already stored at this size was written by someone else before these entries
    // existed: it is kept (the table is append-only) and refused, and verification reports it.
    const [written] = await tx`
      insert into console.audit_tree_heads (tree_size, root, frontier, created_at)
      values (${frontier.size}, ${root}, ${tx.json(frontier.toJSON() as unknown as postgres.JSONValue)}, ${now()})
      on conflict (tree_size) do nothing
      returning tree_size`;
    if (!written) {
      log(
        `audit sequencer: REFUSING stored tree head ${frontier.size}: it was stored before the entries it covers; kept as it is, not built on`,
      );
    }
    if (invalid.length) {
      for (const { seq, reason } of invalid.slice(0, 10)) {
        log(
          `audit sequencer: entry ${seq} is not a valid audit entry (${reason}); logged as queued`,
        );
      }
      if (invalid.length > 10) log(`audit sequencer: ${invalid.length - 10} more invalid entries`);
      await tx`select console.alert_invalid_audit_entry(${invalid[0]!.seq}, ${now()})`;
    }
    const ids = queued.map((r) => r.id);
    await tx`delete from console.audit_intake where id = any(${ids}::bigint[])`;
    return {
      appended: queued.length,
      head: { treeSize: frontier.size, root },
      invalid: invalid.length,
    };
  });
}

export interface CheckpointPublisher {
  dir?: string;
  command?: string;
  log?: (line: string) => void;
}

/**
 * Links the written file in as `<name>.txt`, never replacing a published checkpoint: a log cut and
 * grown back to the same size signs another checkpoint of that size, and the one published first
 * is the evidence. A different note of the same size goes beside it, named by its hash.
 */
function publishWithoutOverwriting(tmp: string, dir: string, name: string, note: string) {
  const digest = createHash('sha256').update(note).digest('hex').slice(0, 16);
  try {
    for (const candidate of [`${name}.txt`, `${name}-${digest}.txt`]) {
      const target = path.join(dir, candidate);
      try {
        fs.linkSync(tmp, target);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (fs.readFileSync(target, 'utf8') === note) return;
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Writes the checkpoint outside the database: a file in a folder, and/or a command's stdin. */
export async function publishCheckpoint(note: string, treeSize: number, to: CheckpointPublisher) {
  const log = to.log ?? (() => {});
  if (to.dir) {
    fs.mkdirSync(to.dir, { recursive: true });
    const name = `checkpoint-${String(treeSize).padStart(12, '0')}`;
    const tmp = path.join(to.dir, `.${name}.${process.pid}`);
    fs.writeFileSync(tmp, note);
    publishWithoutOverwriting(tmp, to.dir, name, note);
  }
  if (to.command) {
    await new Promise<void>((resolve) => {
      const child = spawn('sh', ['-c', to.command!], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', (e) => {
        log(`audit checkpoint command failed to start: ${e.message}`);
        resolve();
      });
      child.on('exit', (code) => {
        if (code !== 0) log(`audit checkpoint command exited ${code}: ${err.slice(0, 500)}`);
        resolve();
      });
      // A command that exits without reading its input closes the pipe (EPIPE). Unhandled, that
      // error would take down the sequencer's thread; the exit above already says what happened.
      child.stdin.on('error', (e) => log(`audit checkpoint command's input: ${e.message}`));
      child.stdin.end(note);
    });
  }
}

interface VerifiedCheckpoint {
  treeSize: number;
  createdAt: Date;
}

/** Stored checkpoints looked at, newest first, before the sequencer gives up on finding one. */
const CHECKPOINTS_CONSIDERED = 100;

/**
 * The newest stored checkpoint the sequencer can stand behind: its note signed by a trusted key,
 * every column as the note says, and the note's root the stored tree's at that size. Rows that
 * fail are refused and said loudly (once each with `reported`); a row beyond the log never
 * counts, so one inserted row with a huge tree size cannot stop the signing.
 */
async function lastVerifiedCheckpoint(
  tx: postgres.TransactionSql,
  size: number,
  options: {
    trusted: readonly TrustedKey[];
    origin: string;
    log: (line: string) => void;
    reported?: Set<string>;
    verified?: Map<string, VerifiedCheckpoint>;
  },
): Promise<VerifiedCheckpoint | null> {
  const refuse = (row: StoredCheckpointRow, why: string) =>
    sayOnce(
      options.log,
      options.reported,
      `checkpoint:${row.id}`,
    )(`audit sequencer: REFUSING stored checkpoint ${row.id} (tree size ${row.tree_size}): ${why}`);
  const beyond = (await tx`
    select id, tree_size, root, note, key_name, created_at from console.audit_checkpoints
    where tree_size > ${size} order by tree_size desc, id desc limit 10`) as unknown as StoredCheckpointRow[];
  for (const row of beyond) refuse(row, `the log holds ${size} entries`);
  // The newest row first: almost always the one this process signed or checked a moment ago.
  let offset = 0;
  for (const limit of [1, CHECKPOINTS_CONSIDERED - 1]) {
    const rows = (await tx`
      select id, tree_size, root, note, key_name, created_at from console.audit_checkpoints
      where tree_size <= ${size} order by tree_size desc, id desc
      offset ${offset} limit ${limit}`) as unknown as StoredCheckpointRow[];
    for (const row of rows) {
      const known = options.verified?.get(row.id);
      if (known) return known;
      try {
        const checkpoint = openStoredCheckpoint(row, options.trusted, options.origin);
        if (
          checkpoint.size > 0 &&
          !(await rootAt(tx as unknown as postgres.Sql, checkpoint.size)).equals(
            checkpoint.rootHash,
          )
        ) {
          throw new Error("its signed root is not the stored tree's root at that size");
        }
        const good = { treeSize: checkpoint.size, createdAt: new Date(row.created_at) };
        options.verified?.set(row.id, good);
        return good;
      } catch (error) {
        refuse(row, (error as Error).message);
      }
    }
    if (rows.length < limit) return null;
    offset += limit;
  }
  return null;
}

/**
 * Signs a checkpoint of the stored tree when it has grown since the last checkpoint the sequencer
 * can verify and `minIntervalMs` has passed (or always, with `force`). Returns the note, or null.
 */
export async function checkpointIfDue(
  sql: SequencerSql,
  options: {
    signer: Signer;
    origin: string;
    minIntervalMs: number;
    force?: boolean;
    now?: () => Date;
    publish?: CheckpointPublisher;
    /** Keys whose checkpoints count (default: the signer's own). */
    trusted?: readonly TrustedKey[];
    log?: (line: string) => void;
    reported?: Set<string>;
    /** Stored checkpoints this process has verified, by id (rows never change). */
    verified?: Map<string, VerifiedCheckpoint>;
  },
): Promise<{ note: string; treeSize: number } | null> {
  const now = options.now ?? (() => new Date());
  const made = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK + 1})`;
    // The tree as the leaves and subtree hashes hold it, not as a tree-head row says.
    const [{ size: sizeText }] = (await tx`
      select coalesce(max(seq) + 1, 0)::bigint as size from console.audit_leaves`) as unknown as [
      { size: string },
    ];
    const size = Number(sizeText);
    if (size === 0) return null;
    const last = await lastVerifiedCheckpoint(tx, size, {
      trusted: options.trusted ?? [{ key: verifierKeyFor(options.signer) }],
      origin: options.origin,
      log: options.log ?? options.publish?.log ?? (() => {}),
      reported: options.reported,
      verified: options.verified,
    });
    if (last && last.treeSize >= size) return null;
    const at = now();
    if (!options.force && last && at.getTime() - last.createdAt.getTime() < options.minIntervalMs) {
      return null;
    }
    const root = await rootAt(tx as unknown as postgres.Sql, size);
    const note = signNote(
      formatCheckpoint({ origin: options.origin, size, rootHash: root, timestamp: at }),
      options.signer,
    );
    const [row] = (await tx`
      insert into console.audit_checkpoints (tree_size, root, note, key_name, created_at)
      values (${size}, ${root}, ${note}, ${options.signer.name}, ${at})
      returning id`) as unknown as { id: string }[];
    options.verified?.set(row!.id, { treeSize: size, createdAt: at });
    return { note, treeSize: size };
  });
  if (made && options.publish) await publishCheckpoint(made.note, made.treeSize, options.publish);
  return made;
}

export interface Sequencer {
  /** Sequences everything queued now and signs a checkpoint; for tests, exports and shutdown. */
  flush(options?: { checkpoint?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface SequencerOptions {
  url: string;
  signer: Signer;
  origin: string;
  /** Keys whose stored checkpoints the sequencer accepts (default: the signer's own). */
  trusted?: TrustedKey[];
  checkpointEveryMs: number;
  publish?: CheckpointPublisher;
  pollMs?: number;
  log?: (line: string) => void;
}

export function startSequencer(options: SequencerOptions): Sequencer {
  const sql = sequencerConnection(options.url);
  const log = options.log ?? (() => {});
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  // What was already said about refused rows: once per process, not ten times a second.
  const reported = new Set<string>();
  const verified = new Map<string, VerifiedCheckpoint>();
  const cycle = async (force: boolean) => {
    for (;;) {
      const { appended } = await sequenceBatch(sql, { log, reported });
      if (appended === 0) break;
    }
    await checkpointIfDue(sql, {
      signer: options.signer,
      origin: options.origin,
      minIntervalMs: options.checkpointEveryMs,
      force,
      publish: { ...options.publish, log },
      trusted: options.trusted,
      log,
      reported,
      verified,
    });
  };
  const tick = () => {
    if (stopped) return;
    running = cycle(false)
      .catch((error: unknown) => log(`audit sequencer: ${(error as Error).message}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.pollMs ?? 100);
      });
  };
  let timer: NodeJS.Timeout = setTimeout(tick, 0);
  return {
    async flush(flushOptions = {}) {
      await running;
      await cycle(flushOptions.checkpoint ?? true);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await cycle(false).catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}
