import { z } from 'zod';
import { JOBS } from '#app/server/jobs.server.ts';
import { defineJob, startQueue } from '#app/modules/jobs/queue.server.ts';
import { useTestDatabase } from '../support/db.ts';

useTestDatabase();

// Workers poll every 2 s and a failed job is retried: allow for a loaded machine.
describe('the job queue', { timeout: 120_000 }, () => {
  it('runs a sent job in a worker, parsing its payload, and schedules the recurring ones', async () => {
    const seen: number[] = [];
    const echo = defineJob({
      name: 'test.echo',
      description: 'test',
      payload: z.object({ n: z.number().int() }),
      async run({ n }) {
        seen.push(n);
      },
    });
    const queue = await startQueue({
      url: process.env.DATABASE_URL!,
      jobs: [...JOBS, echo],
      concurrency: 1,
    });
    try {
      await queue.enqueue('test.echo', { n: 7 });
      const bad = await queue.enqueue('test.echo', { n: 'not a number' });
      // The worker has had the bad payload once it is done with it: only then is `seen` final.
      let state: string | undefined;
      await expect
        .poll(async () => (state = (await queue.boss.getJobById('test.echo', bad!))?.state), {
          timeout: 60_000,
        })
        .toMatch(/^(retry|failed|completed)$/);
      expect(state).toMatch(/^(retry|failed)$/);
      expect(seen).toEqual([7]);
      const schedules = (await queue.boss.getSchedules()).map((s) => ({
        name: s.name,
        cron: s.cron,
      }));
      for (const job of JOBS.filter((j) => j.cron)) {
        expect(schedules).toContainEqual({ name: job.name, cron: job.cron });
      }
    } finally {
      await queue.stop();
    }
  });

  it('a sending-only queue (CUSTODIAN_WORKERS=0) leaves jobs for a worker process', async () => {
    const ranIn: string[] = [];
    const handOff = (where: string) =>
      defineJob({
        name: 'test.hand_off',
        description: 'test',
        payload: z.object({}),
        async run() {
          ranIn.push(where);
        },
      });
    const sender = await startQueue({
      url: process.env.DATABASE_URL!,
      jobs: [...JOBS, handOff('sender')],
      concurrency: 0,
    });
    let worker: Awaited<ReturnType<typeof startQueue>> | undefined;
    try {
      // No worker in the sending process: nothing here can take a job, however long it waits.
      expect(sender.working).toEqual([]);
      const id = await sender.enqueue('test.hand_off', {});
      expect((await sender.boss.getJobById('test.hand_off', id!))?.state).toBe('created');
      // A worker process takes it.
      worker = await startQueue({
        url: process.env.DATABASE_URL!,
        jobs: [handOff('worker')],
        concurrency: 1,
      });
      expect(worker.working).toEqual(['test.hand_off']);
      await expect
        .poll(async () => (await sender.boss.getJobById('test.hand_off', id!))?.state, {
          timeout: 60_000,
        })
        .toBe('completed');
      expect(ranIn).toEqual(['worker']);
    } finally {
      await worker?.stop();
      await sender.stop();
    }
  });
});
