import { randomUUID } from 'node:crypto';
import { sql as dsql } from 'drizzle-orm';
import postgres from 'postgres';
import { z } from 'zod';
import { dataDir, env } from '#app/config.server.ts';
import { APP_ROLE, getDb, getSql } from '#app/db/client.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { staffNameOf } from '#app/modules/staff-names.server.ts';
import { defineJob, enqueue } from '#app/modules/jobs/queue.server.ts';
import { loadAuditKeys, type AuditKeys } from './keys.server.ts';
import { checkpointPublishing } from './publishing.server.ts';
import {
  intakeStatus,
  readPublishedCheckpoints,
  verifyAuditLog,
  type IntakeStatus,
  type Problem,
} from './verify.server.ts';
import { recordAudit } from './writer.server.ts';
import { job, type Actor } from '#app/modules/actor.ts';
import type { Tx } from '#app/db/client.server.ts';

// Verification runs started from the console: a row in console.verification_runs that the job
// updates as it goes (the page polls it), then its result, recorded as an `audit.verify` entry.

const KEYS = Symbol.for('custodian.audit.keys');
const holder = globalThis as unknown as {
  [KEYS]?: { dataDir: string; keys: AuditKeys };
};

/** The signing key's verifier and the trusted keys, from outside the database; once per process. */
export function auditKeys(): AuditKeys {
  const dir = dataDir();
  const cached = holder[KEYS];
  if (cached && cached.dataDir === dir) return cached.keys;
  const config = env();
  const keys = loadAuditKeys({
    dataDir: dir,
    production: config.NODE_ENV === 'production',
    origin: config.CUSTODIAN_AUDIT_ORIGIN,
    trustedFile: config.CUSTODIAN_AUDIT_TRUSTED_KEYS,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  holder[KEYS] = { dataDir: dir, keys };
  return keys;
}

export interface RunResult {
  entries: number;
  /** Entries whose contents the retention policy removed (ADR 033); absent in older runs. */
  purged?: number;
  checkpoints: number;
  problems: Problem[];
  /** Set when the run could not complete (a database error), rather than finding a problem. */
  error?: string;
}

const RunPayload = z.object({ runId: z.uuid() });

/** Entries waiting for the sequencer now: how many, and how long the oldest has waited. */
export function currentIntake(): Promise<IntakeStatus> {
  return intakeStatus(getSql());
}

// A run that was started and never finished (its worker died, no worker runs) stops counting as
// "in progress" after this long, so a new one may start.
const STALE_MS = 60 * 60 * 1000;

/** Starts a run, or returns the one already in progress. */
export async function startVerificationRun(
  staffId: string,
): Promise<{ id: string; alreadyRunning: boolean }> {
  const sql = getSql();
  const since = new Date(now().getTime() - STALE_MS).toISOString();
  const [running] = (await sql`
    select id from console.verification_runs
    where finished_at is null and started_at > ${since}
    order by started_at desc limit 1`) as unknown as { id: string }[];
  if (running) return { id: running.id, alreadyRunning: true };
  const [head] = (await sql`
    select coalesce(max(tree_size), 0)::bigint as size from console.audit_tree_heads`) as unknown as {
    size: string;
  }[];
  const id = randomUUID();
  await sql`
    insert into console.verification_runs (id, staff_id, started_at, total, done)
    values (${id}, ${staffId}, ${now().toISOString()}, ${Number(head?.size ?? 0)}, 0)`;
  try {
    await enqueue(VERIFY_JOB, { runId: id });
  } catch (error) {
    await sql`
      update console.verification_runs
      set finished_at = ${now().toISOString()},
          result = ${JSON.stringify({ entries: 0, checkpoints: 0, problems: [], error: `could not queue the run: ${(error as Error).message}` })}::jsonb
      where id = ${id}`;
    throw error;
  }
  return { id, alreadyRunning: false };
}

const PROGRESS_EVERY_MS = 250;
const VERIFY_JOB = 'audit.verify';

/**
 * The job's body: verifies the whole log as custodian_app, writing progress at most every 250 ms,
 * then stores the result and its audit entry in one transaction. Running it again for a finished
 * run does nothing; for an unfinished one (a retry after a crash) it starts over.
 */
export async function runVerification(
  runId: string,
  actorFor: StaffActorLoader,
): Promise<RunResult | null> {
  const sql = getSql();
  const [run] = (await sql`
    select id, staff_id, finished_at from console.verification_runs where id = ${runId}`) as unknown as {
    id: string;
    staff_id: string | null;
    finished_at: Date | string | null;
  }[];
  if (!run || run.finished_at) return null;

  const keys = auditKeys();
  // NOTE: not getSql(): drizzle turns that client's timestamps into text, and the verifier compares
  // each entry's time column as a Date. A connection of its own, as custodian_app (SELECT only on
  // the log), also keeps a long read off the request pool.
  const reader = postgres(process.env.DATABASE_URL!, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: 'custodian-verify', role: APP_ROLE },
  });
  let lastWrite = 0;
  let result: RunResult;
  let ok: boolean | null;
  let firstBadSeq: number | null = null;
  try {
    const verified = await verifyAuditLog({
      sql: reader,
      trusted: keys.trusted,
      origin: keys.origin,
      published: readPublishedCheckpoints(checkpointPublishing().dir),
      onProgress: async (done, total) => {
        const t = performance.now();
        if (t - lastWrite < PROGRESS_EVERY_MS) return;
        lastWrite = t;
        await sql`update console.verification_runs set done = ${done}, total = ${total} where id = ${runId}`;
      },
    });
    result = {
      entries: verified.entries,
      purged: verified.purged,
      checkpoints: verified.checkpoints,
      problems: verified.problems,
    };
    ok = verified.ok;
    firstBadSeq = verified.firstBadSeq;
  } catch (error) {
    // Not a finding about the log: the run could not read it. Shown as such, and audited as failed.
    result = { entries: 0, checkpoints: 0, problems: [], error: (error as Error).message };
    ok = null;
  } finally {
    await reader.end({ timeout: 5 });
  }

  await getDb().transaction(async (tx) => {
    // The one who started the run, with the roles they hold as it ends; or the job itself.
    const actor = run.staff_id ? await actorFor(run.staff_id, tx) : job(VERIFY_JOB);
    await tx.execute(dsql`
        update console.verification_runs
        set finished_at = ${now().toISOString()}, done = ${result.entries},
            total = greatest(total, ${result.entries}), ok = ${ok},
            first_bad_seq = ${firstBadSeq}, result = ${JSON.stringify(result)}::jsonb
        where id = ${runId} and finished_at is null`);
    await recordAudit(
      actor,
      {
        action: 'audit.verify',
        outcome: ok === null ? 'failed' : 'allowed',
        details: {
          entries: result.entries,
          checkpoints: result.checkpoints,
          ok: ok === true,
          firstBadSeq,
        },
      },
      tx,
    );
  });
  return result;
}

/**
 * The staff member who started a run, as the database holds them when it ends: the auth module's
 * (audit sits below auth, so the job catalogue hands it in).
 */
export type StaffActorLoader = (staffId: string, tx: Tx) => Promise<Actor>;

export function auditVerifyJob(actorFor: StaffActorLoader) {
  return defineJob({
    name: VERIFY_JOB,
    description: 'Verifies the whole audit trail for a run started from the console',
    payload: RunPayload,
    run: ({ runId }) => runVerification(runId, actorFor),
  });
}

export interface VerificationRun {
  id: string;
  staffId: string | null;
  staffName: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  total: number;
  done: number;
  ok: boolean | null;
  firstBadSeq: number | null;
  result: RunResult | null;
}

export async function latestVerificationRun(): Promise<VerificationRun | null> {
  const sql = getSql();
  const [row] = (await sql`
    select r.id, r.staff_id, ${staffNameOf(sql, 'r.staff_id')} as staff_name, r.started_at,
           r.finished_at, r.total, r.done, r.ok, r.first_bad_seq, r.result
    from console.verification_runs r
    order by r.started_at desc, r.id desc
    limit 1`) as unknown as {
    id: string;
    staff_id: string | null;
    staff_name: string | null;
    started_at: Date | string;
    finished_at: Date | string | null;
    total: string;
    done: string;
    ok: boolean | null;
    first_bad_seq: string | null;
    result: RunResult | null;
  }[];
  if (!row) return null;
  return {
    id: row.id,
    staffId: row.staff_id,
    staffName: row.staff_name,
    startedAt: new Date(row.started_at),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at),
    total: Number(row.total),
    done: Number(row.done),
    ok: row.ok,
    firstBadSeq: row.first_bad_seq === null ? null : Number(row.first_bad_seq),
    result: row.result,
  };
}
