import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { privacyRequests } from '#app/db/schema.ts';
import { job, type SystemActor } from '#app/modules/actor.ts';
import { now } from '#app/modules/clock.server.ts';
import { defineJob } from '#app/modules/jobs/queue.server.ts';
import { carryOutChange } from './apply.server.ts';
import { carryOutErasure } from './erasure.server.ts';
import { carryOutExport } from './export.server.ts';
import { moveRequest, startWork, WORK_JOB } from './requests.server.ts';
import type { RequestType } from './vocabulary.ts';

// Carrying requests out: one job kind, `privacy.work`, runs the work of a request in `processing`
// (an export, an erasure, a change of profile or preferences) and then completes it. The work is
// a lease, not a lock: a worker holds a request for LEASE_SECONDS and renews the lease with each
// progress report, so a worker killed mid-way (kill -9) leaves a lease that lapses, and the
// `privacy.resume` job hands the request to another worker. Every handler is therefore written to
// be run again from the start after a crash: each step idempotent, each batch its own transaction.

export { startWork, WORK_JOB };
export const RESUME_JOB = 'privacy.resume';

/** How long a worker holds a request between two progress reports. */
export const LEASE_SECONDS = 60;

/** What a handler gets: the request, a progress reporter, and the actor it acts as. */
export interface WorkContext {
  requestId: string;
  userId: string;
  type: RequestType;
  actor: SystemActor;
  /**
   * Records where the work stands (shown as the request's progress bar) and renews the lease.
   * Throws LeaseLostError when another worker has taken the request over: stop then.
   */
  progress(step: string, done: number, total: number, tx?: Tx): Promise<void>;
}

export class LeaseLostError extends Error {}

export type Handler = (ctx: WorkContext) => Promise<void>;

const HANDLERS: Record<RequestType, Handler> = {
  access: carryOutExport,
  portability: carryOutExport,
  erasure: carryOutErasure,
  rectification: carryOutChange,
  restriction: carryOutChange,
  objection: carryOutChange,
};

export const privacyWorkJob = defineJob({
  name: WORK_JOB,
  description: 'Carries out a privacy request that is processing, then completes it',
  payload: z.object({ requestId: z.uuid() }),
  run: ({ requestId }) => runWork(requestId),
});

export const privacyResumeJob = defineJob({
  name: RESUME_JOB,
  description: 'Hands processing requests whose worker stopped (its lease lapsed) to a new worker',
  payload: z.object({}).loose(),
  cron: '* * * * *',
  run: () => resumeWork(),
});

/**
 * Runs the work of one request, if it is processing and no other worker holds it; completes it
 * when the handler returns (unless the handler completed it itself, in its last transaction), or
 * marks it failed (retryable by an officer) when the handler throws.
 */
export async function runWork(requestId: string): Promise<'done' | 'failed' | 'skipped'> {
  const actor = job(WORK_JOB);
  const row = await takeLease(requestId);
  if (!row) return 'skipped';
  const ctx: WorkContext = {
    requestId,
    userId: row.userId,
    type: row.type as RequestType,
    actor,
    progress: (step, done, total, tx) => report(requestId, step, done, total, tx),
  };
  try {
    await HANDLERS[ctx.type](ctx);
  } catch (error) {
    if (error instanceof LeaseLostError) return 'skipped';
    const message = error instanceof Error ? error.message : String(error);
    await moveRequest(
      requestId,
      { kind: 'fail', note: message.slice(0, 2_000) || 'failed' },
      actor,
    );
    await releaseLease(requestId);
    return 'failed';
  }
  const [after] = await getDb()
    .select({ state: privacyRequests.state })
    .from(privacyRequests)
    .where(eq(privacyRequests.id, requestId));
  if (after?.state === 'processing') await moveRequest(requestId, { kind: 'complete' }, actor);
  await releaseLease(requestId);
  return 'done';
}

/**
 * The end of a lease taken or renewed now. The instant goes to the driver as ISO text: a Date in
 * a raw sql template is refused.
 */
function leaseUntil() {
  return sql`${now().toISOString()}::timestamptz + make_interval(secs => ${LEASE_SECONDS})`;
}

/** Queues again the processing requests whose lease lapsed or that were never taken. */
export async function resumeWork(): Promise<number> {
  const stalled = await getDb()
    .select({ id: privacyRequests.id })
    .from(privacyRequests)
    .where(
      and(
        eq(privacyRequests.state, 'processing'),
        or(isNull(privacyRequests.workLeaseUntil), lt(privacyRequests.workLeaseUntil, now())),
      ),
    );
  for (const { id } of stalled) await startWork(id);
  return stalled.length;
}

async function takeLease(requestId: string) {
  const [row] = await getDb()
    .update(privacyRequests)
    .set({
      workLeaseUntil: leaseUntil(),
    })
    .where(
      and(
        eq(privacyRequests.id, requestId),
        eq(privacyRequests.state, 'processing'),
        or(isNull(privacyRequests.workLeaseUntil), lt(privacyRequests.workLeaseUntil, now())),
      ),
    )
    .returning({ userId: privacyRequests.userId, type: privacyRequests.type });
  return row ?? null;
}

async function report(
  requestId: string,
  step: string,
  done: number,
  total: number,
  tx?: Tx,
): Promise<void> {
  const rows = await (tx ?? getDb())
    .update(privacyRequests)
    .set({
      progressStep: step,
      progressDone: done,
      progressTotal: total,
      workLeaseUntil: leaseUntil(),
    })
    .where(and(eq(privacyRequests.id, requestId), eq(privacyRequests.state, 'processing')))
    .returning({ id: privacyRequests.id });
  if (rows.length === 0) throw new LeaseLostError('the request is no longer processing');
}

async function releaseLease(requestId: string) {
  await getDb()
    .update(privacyRequests)
    .set({ workLeaseUntil: null })
    .where(eq(privacyRequests.id, requestId));
}
