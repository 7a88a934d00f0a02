import { getSql } from '#app/db/client.server.ts';
import type { RunSummary } from '#app/modules/retention/engine.server.ts';
import {
  enqueueFirstRetentionRun,
  RETENTION_JOB,
  retentionPurgeJob,
} from '#app/modules/retention/jobs.server.ts';
import { useTestDatabase } from '../support/db.ts';
import { ownerConnection } from './users-fixtures.ts';

// The demo's first start queues a retention run at once (so /admin/retention shows one), named
// for what started it, and only while no run has ever been made: a later start queues nothing,
// the schedule takes over.

useTestDatabase();

function recorder() {
  const queued: { name: string; data: object }[] = [];
  return {
    queued,
    enqueue(name: string, data: object) {
      queued.push({ name, data });
      return Promise.resolve(`job-${queued.length}`);
    },
  };
}

test('a database with no retention run gets one queued, run as the first start; then none', async () => {
  // No run yet, whatever ran before in this file's database.
  const owner = ownerConnection();
  await owner`delete from console.retention_run_categories`;
  await owner`delete from console.retention_runs`;
  await owner.end();
  const first = recorder();
  expect(await enqueueFirstRetentionRun(first)).toBe(true);
  expect(first.queued).toEqual([{ name: RETENTION_JOB, data: { firstStart: true } }]);

  // The worker runs what was queued, as the queue does: its payload parsed, then the job.
  const run = await retentionPurgeJob.run(retentionPurgeJob.payload.parse(first.queued[0]!.data));
  expect(run).toMatchObject({ status: 'done' });
  const runs = await getSql()<{ trigger: string }[]>`select trigger from console.retention_runs`;
  expect(runs).toEqual([{ trigger: 'first_start' }]);

  const later = recorder();
  expect(await enqueueFirstRetentionRun(later)).toBe(false);
  expect(later.queued).toEqual([]);
});

test('the daily job’s runs are the schedule’s', async () => {
  const run = (await retentionPurgeJob.run(retentionPurgeJob.payload.parse({}))) as RunSummary;
  if (run.status !== 'done') throw new Error(`the run did not run: ${run.status}`);
  const [row] = await getSql()<{ trigger: string }[]>`
    select trigger from console.retention_runs where id = ${run.runId}`;
  expect(row!.trigger).toBe('schedule');
});
