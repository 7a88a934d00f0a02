import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { canonicalBytes } from './canonical.ts';
import { leafHash, MerkleFrontier } from './merkle.ts';
import { formatCheckpoint, signNote, type Signer } from './note.ts';

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
  body: string;
  occurred_at: string;
  action: string;
  outcome: string;
  actor_staff_id: string | null;
  subject_staff_id: string | null;
  user_id: string | null;
  grant_id: string | null;
  privacy_request_id: string | null;
  session_id: string | null;
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
  };
}

export interface TreeHead {
  treeSize: number;
  root: Buffer;
}

/** Moves up to `limit` queued entries into the log. Returns how many, and the new head. */
export async function sequenceBatch(
  sql: SequencerSql,
  options: { limit?: number; now?: () => Date } = {},
): Promise<{ appended: number; head: TreeHead | null }> {
  const limit = options.limit ?? 5_000;
  const now = options.now ?? (() => new Date());
  return sql.begin(async (tx) => {
    const [{ locked }] = (await tx`select pg_try_advisory_xact_lock(${LOCK}) as locked`) as [
      { locked: boolean },
    ];
    if (!locked) return { appended: 0, head: null };
    const queued = (await tx`
      select id, body from console.audit_intake order by id limit ${limit}`) as unknown as IntakeRow[];
    if (queued.length === 0) return { appended: 0, head: null };

    const [head] = (await tx`
      select h.tree_size, h.frontier, l.leaf_hash as last_leaf
      from console.audit_tree_heads h
      left join console.audit_leaves l on l.seq = h.tree_size - 1
      order by h.tree_size desc limit 1`) as unknown as {
      tree_size: string;
      frontier: unknown;
      last_leaf: Buffer | null;
    }[];
    const frontier = head ? MerkleFrontier.fromJSON(head.frontier) : new MerkleFrontier();
    let prev: Buffer | null = head?.last_leaf ?? null;

    const leaves: { seq: number; leaf_hash: Buffer }[] = [];
    const entries: EntryColumns[] = [];
    const nodes: { level: number; idx: number; hash: Buffer }[] = [];
    for (const row of queued) {
      const seq = frontier.size;
      const entry = JSON.parse(row.body.toString('utf8')) as Record<string, unknown>;
      const bytes = canonicalBytes({ ...entry, seq, prev: prev ? prev.toString('base64') : null });
      const leaf = leafHash(bytes);
      frontier.append(leaf, (level, idx, hash) => nodes.push({ level, idx, hash }));
      leaves.push({ seq, leaf_hash: leaf });
      entries.push(entryColumns(seq, bytes.toString('utf8'), { ...entry, seq }));
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
    await tx`
      insert into console.audit_tree_heads (tree_size, root, frontier, created_at)
      values (${frontier.size}, ${root}, ${tx.json(frontier.toJSON() as unknown as postgres.JSONValue)}, ${now()})`;
    const ids = queued.map((r) => r.id);
    await tx`delete from console.audit_intake where id = any(${ids}::bigint[])`;
    return { appended: queued.length, head: { treeSize: frontier.size, root } };
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

/**
 * Signs a checkpoint of the latest tree head when the log has grown since the last one and
 * `minIntervalMs` has passed (or always, with `force`). Returns the note, or null.
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
  },
): Promise<{ note: string; treeSize: number } | null> {
  const now = options.now ?? (() => new Date());
  const made = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK + 1})`;
    const [head] = (await tx`
      select tree_size, root from console.audit_tree_heads order by tree_size desc limit 1`) as unknown as {
      tree_size: string;
      root: Buffer;
    }[];
    if (!head) return null;
    const [last] = (await tx`
      select tree_size, created_at from console.audit_checkpoints order by tree_size desc, id desc limit 1`) as unknown as {
      tree_size: string;
      created_at: Date;
    }[];
    const size = Number(head.tree_size);
    if (last && Number(last.tree_size) >= size) return null;
    if (
      !options.force &&
      last &&
      now().getTime() - last.created_at.getTime() < options.minIntervalMs
    ) {
      return null;
    }
    const note = signNote(
      formatCheckpoint({ origin: options.origin, size, rootHash: head.root, timestamp: now() }),
      options.signer,
    );
    await tx`
      insert into console.audit_checkpoints (tree_size, root, note, key_name, created_at)
      values (${size}, ${head.root}, ${note}, ${options.signer.name}, ${now()})`;
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
  const cycle = async (force: boolean) => {
    for (;;) {
      const { appended } = await sequenceBatch(sql);
      if (appended === 0) break;
    }
    await checkpointIfDue(sql, {
      signer: options.signer,
      origin: options.origin,
      minIntervalMs: options.checkpointEveryMs,
      force,
      publish: { ...options.publish, log },
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
