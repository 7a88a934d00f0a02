import { z } from 'zod';
import { getDb } from '#app/db/client.server.ts';
import { retentionRuns } from '#app/db/schema.ts';
import { job } from '#app/modules/actor.ts';
import { defineJob } from '#app/modules/jobs/queue.server.ts';
import { RUN_CRON, runRetention } from './engine.server.ts';

export const RETENTION_JOB = 'retention.purge';

/**
 * The daily purge (ADR 032). It replaces the analytics build's purge of old days and the former
 * `auth.housekeeping` job: ended sessions and stale throttle records are policies like the rest.
 */
export const retentionPurgeJob = defineJob({
  name: RETENTION_JOB,
  description: 'Removes what is past its retention period, category by category, in batches',
  // The demo's first start queues one with `firstStart` (enqueueFirstRetentionRun); the schedule
  // sends none.
  payload: z.object({ firstStart: z.literal(true).optional() }).passthrough(),
  cron: RUN_CRON,
  run: (payload) =>
    runRetention({
      trigger: payload.firstStart ? 'first_start' : 'schedule',
      actor: job(RETENTION_JOB),
      log: (line) => process.stderr.write(`${line}\n`),
    }),
});

/**
 * The demo's first start queues a run at once rather than waiting for 02:30 UTC, so that
 * /admin/retention shows a run, its counts and its durations from the start. Only when no run has
 * ever been made; a deployment of its own waits for the schedule (or `npx custodian retention run`).
 */
export async function enqueueFirstRetentionRun(queue: {
  enqueue(name: string, data: object): Promise<string | null>;
}): Promise<boolean> {
  const [any] = await getDb().select({ id: retentionRuns.id }).from(retentionRuns).limit(1);
  if (any) return false;
  return (await queue.enqueue(RETENTION_JOB, { firstStart: true })) !== null;
}
