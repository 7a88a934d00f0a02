import PgBoss from 'pg-boss';
import type { z } from 'zod';

// The one job queue: pg-boss on the same PostgreSQL (schema `pgboss`). Jobs are declared in
// app/server/jobs.server.ts with a zod schema for their payload; workers parse before they run.

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

// NOTE: route modules live in the Remix build, which bundles its own copy of this module, so the
// queue this process started is found through globalThis rather than a module variable.
const STARTED = Symbol.for('custodian.jobs.queue');
const SENDER = Symbol.for('custodian.jobs.sender');
const holder = globalThis as unknown as {
  [STARTED]?: Queue;
  [SENDER]?: { url: string; boss: Promise<PgBoss> };
};

/**
 * Sends a job on the queue this process started; in a process that started none, on a send-only
 * handle of its own to the same pg-boss schema (no scheduling, no supervision, no workers, one
 * connection). Throws when the queue does not accept it.
 */
export async function enqueue(name: string, data: object): Promise<string> {
  const started = holder[STARTED];
  const id = started ? await started.enqueue(name, data) : await sendAlone(name, data);
  if (!id) throw new Error(`the queue did not accept the ${name} job`);
  return id;
}

async function sendAlone(name: string, data: object): Promise<string | null> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: start Custodian through `npx custodian`');
  let sender = holder[SENDER];
  if (!sender || sender.url !== url) {
    if (sender) void sender.boss.then((b) => b.stop({ graceful: false })).catch(() => {});
    const boss = new PgBoss({
      connectionString: url,
      schema: 'pgboss',
      application_name: 'custodian-jobs',
      max: 1,
      migrate: false,
      schedule: false,
      supervise: false,
    });
    boss.on('error', (error: Error) => process.stderr.write(`job sender: ${error.message}\n`));
    sender = { url, boss: boss.start() };
    holder[SENDER] = sender;
  }
  try {
    return await (await sender.boss).send(name, data);
  } catch (error) {
    if (holder[SENDER] === sender) holder[SENDER] = undefined;
    throw error;
  }
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
  const queue: Queue = {
    boss,
    working,
    enqueue: (name, data) => boss.send(name, data),
    stop: async () => {
      if (holder[STARTED] === queue) holder[STARTED] = undefined;
      await boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
  holder[STARTED] = queue;
  return queue;
}
