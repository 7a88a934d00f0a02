import { z } from 'zod';
import { JOBS } from '#app/server/jobs.server.ts';
import { defineJob, startQueue } from '#app/modules/jobs/queue.server.ts';
import { useTestDatabase } from '../support/db.ts';

useTestDatabase();

describe('the job queue', () => {
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
      await queue.enqueue('test.echo', { n: 'not a number' });
      await expect.poll(() => seen, { timeout: 20_000 }).toEqual([7]);
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
    const sender = await startQueue({ url: process.env.DATABASE_URL!, jobs: JOBS, concurrency: 0 });
    try {
      const id = await sender.enqueue('auth.housekeeping', {});
      await new Promise((r) => setTimeout(r, 2500));
      const job = await sender.boss.getJobById('auth.housekeeping', id!);
      expect(job?.state).toBe('created');
    } finally {
      await sender.stop();
    }
  });
});
