import { runRetention } from '#app/modules/retention/engine.server.ts';
import { enqueueFirstRetentionRun, RETENTION_JOB } from '#app/modules/retention/jobs.server.ts';
import { useTestDatabase } from '../support/db.ts';
import { TEST_JOB } from '../support/http.ts';

// The demo's first start queues a retention run at once (so /admin/retention shows one), and only
// while no run has ever been made: a later start queues nothing, the schedule takes over.

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

test('a database with no retention run gets one queued; one with a run gets none', async () => {
  const first = recorder();
  expect(await enqueueFirstRetentionRun(first)).toBe(true);
  expect(first.queued).toEqual([{ name: RETENTION_JOB, data: {} }]);

  const run = await runRetention({
    trigger: 'command',
    actor: TEST_JOB,
    only: ['sign_in_throttle'],
  });
  expect(run.status).toBe('done');

  const later = recorder();
  expect(await enqueueFirstRetentionRun(later)).toBe(false);
  expect(later.queued).toEqual([]);
});
