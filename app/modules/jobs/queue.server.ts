import PgBoss from 'pg-boss';
import type { z } from 'zod';

// The one job queue: pg-boss on the same PostgreSQL (schema `pgboss`). Jobs are declared in
// ./catalogue.server.ts with a zod schema for their payload; workers parse before they run.

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  payload: S;
  /** Recurring jobs: a cron expression, in UTC. */
  cron?: string;
  run(payload: z.infer<S>): Promise<unknown>;
}

export function defineJob<S extends z.ZodType>(job: JobDefinition<S>): JobDefinition<S> {
  return job;
}

export interface Queue {
  boss: PgBoss;
  /** The job kinds this process has a worker for: none when it only sends. */
  working: readonly string[];
  enqueue(name: string, data: object): Promise<string | null>;
  stop(): Promise<void>;
}

export async function startQueue(options: {
  url: string;
  jobs: JobDefinition[];
  /** How many jobs this process runs at once; 0 only sends and schedules. */
  concurrency: number;
  log?: (line: string) => void;
}): Promise<Queue> {
  const log = options.log ?? (() => {});
  const boss = new PgBoss({
    connectionString: options.url,
    schema: 'pgboss',
    application_name: 'custodian-jobs',
    max: Math.max(2, options.concurrency + 2),
    // Scheduling runs in every process; pg-boss makes sure each cron slot fires once.
    schedule: true,
  });
  boss.on('error', (error: Error) => log(`job queue error: ${error.message}`));
  await boss.start();
  const working: string[] = [];
  for (const job of options.jobs) {
    await boss.createQueue(job.name);
    if (job.cron) await boss.schedule(job.name, job.cron, {}, { tz: 'UTC' });
    if (options.concurrency > 0) {
      await boss.work(job.name, { batchSize: 1, pollingIntervalSeconds: 2 }, async ([item]) => {
        if (!item) return;
        const payload = job.payload.parse(item.data);
        return job.run(payload);
      });
      working.push(job.name);
    }
  }
  log(
    options.concurrency > 0
      ? `Job queue: working ${options.jobs.length} job kinds in this process`
      : 'Job queue: sending only (CUSTODIAN_WORKERS=0); run `npx custodian worker`',
  );
  return {
    boss,
    working,
    enqueue: (name, data) => boss.send(name, data),
    stop: () => boss.stop({ graceful: true, timeout: 10_000 }),
  };
}
