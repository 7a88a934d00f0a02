import { z } from 'zod';
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
  payload: z.object({}).passthrough(),
  cron: RUN_CRON,
  run: () =>
    runRetention({
      trigger: 'schedule',
      actor: job(RETENTION_JOB),
      log: (line) => process.stderr.write(`${line}\n`),
    }),
});
