import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { purgeBatch, ROW } from '#app/db/expiry.server.ts';
import * as schema from '#app/db/schema.ts';
import { sparedUsers } from '#app/modules/privacy/expiry.server.ts';
import { expiredMessages } from '#app/modules/users/expiry.server.ts';
import { decideGrant, requestGrant } from '#app/modules/access/grants.server.ts';
import { commandLine } from '#app/modules/actor.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { BATCH_SIZE, runRetention, type RunSummary } from '#app/modules/retention/engine.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import { benchConsole } from './support/console.ts';
import { log, percentile } from './support/database.ts';
import { httpPhase, newStaff, stopLoad, type Tally } from './support/http-load.ts';
import { benchSignIn } from './support/sign-in.ts';

// The retention purge against its raw limit (issue 14's performance section), with the console
// answering throughout. 1,000,000 users × 10 messages (--quick: 20,000 users; --users=N for any
// size between); the messages policy's period is set so that the oldest ~10% of messages are past
// it. Then:
// - `delete_s`: the same rows in one plain `DELETE … where created_at < cutoff`, in one
//   transaction, rolled back (so the purge then removes exactly those rows), with nothing else
//   running: the raw limit;
// - `batches_alone_s`: the purge's walk (the same batches, holds and open requests spared) with
//   nothing else running — no clients, no progress rows, no audit — rolled back: the floor of the
//   batching;
// - `delete_s_under_load`: the plain DELETE again, rolled back, while 16 signed-in agents load the
//   audited conversation page of the access bench over HTTP: the raw limit in the purge's
//   conditions;
// - `purge_s`: the real run (runRetention, category `messages`: batches of at most 5,000 rows, each
//   its own transaction with its progress, holds and open requests honoured, audit entries) under
//   the same load. It runs where the deployment runs its jobs beside a busy console: in a worker
//   process (`npx custodian worker`, the web process with CUSTODIAN_WORKERS=0);
//   `--in-web-process` runs it on the web process's own thread instead (the default
//   CUSTODIAN_WORKERS=2), where each of its statements waits behind the page renders;
// - `page_p95_ms_during`: that page's p95 while the purge runs (aim: under 100 ms), beside
//   `page_p95_ms_before` (the same load for a few seconds before) and `page_p95_ms_during_delete`.
// The audit sequencer runs on its own thread of the web process throughout. The purge must leave
// nothing before its cut-off and remove nothing else, or the bench fails. Last line of stdout:
// one JSON object.

const quick = process.argv.includes('--quick');
const usersArg = process.argv.find((a) => a.startsWith('--users='));
const USERS = usersArg ? Number(usersArg.slice('--users='.length)) : quick ? 20_000 : 1_000_000;
if (!Number.isSafeInteger(USERS) || USERS < 1_000)
  throw new Error('--users: a whole number, at least 1000');
const IN_WEB_PROCESS = process.argv.includes('--in-web-process');
const MESSAGES_PER_USER = 10;
const SHARE = 0.1;
const CLIENTS = 16;
const VIEW_USERS_PER_CLIENT = 10;
const BEFORE_SECONDS = quick ? 3 : 10;
const DAY_MS = 86_400_000;

process.env.NODE_ENV ||= 'production';
process.env.CUSTODIAN_DB_POOL = '24';

function p95(tally: Tally) {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  return Math.round(percentile(sorted, 95) * 10) / 10;
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(3));

async function main() {
  const bench = await benchConsole('retention');
  const { ring, url, logins, owner, worker } = bench;
  try {
    log(
      `bench retention: seeding ${USERS.toLocaleString('en')} users × ${MESSAGES_PER_USER} messages…`,
    );
    const seeded = await seedProductData(url, ring, {
      users: USERS,
      messagesPerUser: MESSAGES_PER_USER,
      eventsPerUser: 2,
      seed: 1,
      append: false,
      log,
    });
    await owner`vacuum analyze product.messages`;

    // The messages policy's period: whole days, so that about SHARE of the messages are past it.
    const asOf = Date.now();
    const [q] = await owner<{ at: Date }[]>`
      select percentile_disc(${SHARE}::float8) within group (order by created_at) as at
      from product.messages`;
    const periodDays = Math.max(1, Math.ceil((asOf - q!.at.getTime()) / DAY_MS));
    await owner`update console.retention_policies set period_days = ${periodDays}
                where category = 'messages'`;
    const cutoff = new Date(asOf - periodDays * DAY_MS);

    log(
      `bench retention: plain DELETE of the messages before ${cutoff.toISOString()}, rolled back…`,
    );
    // Each timed arm starts right after a checkpoint: the first change of a page after one writes
    // the whole page to the WAL, and an arm that ran after another within the same checkpoint
    // would skip that cost (the DELETE under load ran in half the time of the first one without it).
    await owner`checkpoint`;
    const { count: deleted, ms: deleteMs } = await timedDelete(owner, cutoff);
    log(
      `bench retention: DELETE removed ${deleted.toLocaleString('en')} rows in ${seconds(deleteMs)} s`,
    );

    // The floor of the batching itself: the same walk (purgeBatch over the messages target, the
    // same windows and batch size, holds and open requests spared) with nothing else running — no
    // clients, no progress rows, no audit — in one transaction, rolled back.
    log('bench retention: the batches alone, no clients, rolled back…');
    // Its own connection: drizzle changes the date handling of the client it is given.
    const walker = postgres(url, { max: 1, onnotice: () => {} });
    await owner`checkpoint`;
    const ownerDb = drizzle(walker, { schema });
    let alone = 0;
    let aloneBatches = 0;
    const aloneStarted = performance.now();
    let aloneMs = 0;
    await ownerDb
      .transaction(async (tx) => {
        const target = expiredMessages(cutoff);
        const spare = sparedUsers(sql`${ROW}.user_id`, { hold: true, openRequest: true });
        let after: string | null = null;
        for (;;) {
          const batch = await purgeBatch(tx, target, spare, after, BATCH_SIZE);
          alone += batch.removed;
          aloneBatches += 1;
          after = batch.last;
          if (batch.done) break;
        }
        aloneMs = performance.now() - aloneStarted;
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) throw error;
      })
      .finally(() => walker.end());
    log(
      `bench retention: the batches alone removed ${alone.toLocaleString('en')} rows in ${aloneBatches} batches, ${seconds(aloneMs)} s`,
    );

    const { baseUrl } = await bench.serve();

    log('bench retention: staff, sessions and grants…');
    // Conversations with messages on both sides of the cut-off: pages the purge changes under them.
    const viewable = await owner<{ user_id: string; conversation_id: string }[]>`
      select distinct on (m.user_id) m.user_id, m.conversation_id
      from (select user_id, conversation_id from product.messages
            where created_at < ${cutoff} limit ${CLIENTS * VIEW_USERS_PER_CLIENT * 20}) m
      order by m.user_id
      limit ${CLIENTS * VIEW_USERS_PER_CLIENT}`;
    if (viewable.length < CLIENTS * VIEW_USERS_PER_CLIENT) throw new Error('too few conversations');
    const lead = await newStaff('support_lead');
    const jobs: { cookie: string; paths: string[] }[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const agent = await newStaff('support_agent');
      const paths: string[] = [];
      for (const v of viewable.slice(c * VIEW_USERS_PER_CLIENT, (c + 1) * VIEW_USERS_PER_CLIENT)) {
        // Not `support_inquiry`: that reason is bound to an open inquiry (issue 15). A security
        // investigation keeps a ticket reference, and opens the same page.
        const { grantId } = await requestGrant({
          requester: await staffActor(agent.id),
          userId: v.user_id,
          categories: ['conversations'],
          reasonCode: 'security_investigation',
          justification: 'Reports of a conversation that stopped loading, checked against the logs',
          ticketRef: 'SEC-2024',
          durationMinutes: 60,
        });
        await decideGrant({
          grantId,
          approver: await staffActor(lead.id),
          decision: 'approve',
          comment: 'Matches the ticket',
        });
        paths.push(`/users/${v.user_id}/conversations/${v.conversation_id}`);
      }
      jobs.push({ cookie: await benchSignIn(baseUrl, agent.email, agent.password), paths });
    }

    log(`bench retention: ${CLIENTS} clients on the conversation page for ${BEFORE_SECONDS} s…`);
    await httpPhase(worker, baseUrl, jobs, 1);
    const before = await httpPhase(worker, baseUrl, jobs, BEFORE_SECONDS);

    // The raw limit in the purge's conditions: the plain DELETE again, rolled back, under the load.
    log('bench retention: plain DELETE again, rolled back, with the clients loading the page…');
    await owner`checkpoint`;
    const duringDelete = httpPhase(worker, baseUrl, jobs, null);
    const loadedDelete = await timedDelete(owner, cutoff);
    stopLoad(worker);
    const deleteLoad = await duringDelete;
    log(`bench retention: DELETE under load: ${seconds(loadedDelete.ms)} s`);

    // The purge's own process, started (and its module graph loaded) before the load begins.
    const child = IN_WEB_PROCESS ? null : await startPurgeProcess(logins.app);
    log(
      `bench retention: the purge ${IN_WEB_PROCESS ? 'on the web process' : 'in a worker process'}, with the clients loading the page throughout…`,
    );
    await owner`checkpoint`;
    const during = httpPhase(worker, baseUrl, jobs, null);
    let purgeMs: number;
    let run: RunSummary;
    if (child) {
      ({ ms: purgeMs, run } = await child.go());
    } else {
      const purgeStarted = performance.now();
      run = await runRetention({
        trigger: 'command',
        actor: commandLine('bench retention'),
        only: ['messages'],
      });
      purgeMs = performance.now() - purgeStarted;
    }
    stopLoad(worker);
    const loaded = await during;
    if (run.status !== 'done') throw new Error(`the purge did not run: ${run.status}`);
    const line = run.categories.find((c) => c.category === 'messages');
    const removed = line?.removed ?? 0;
    // The run's cut-off is its own start less the period: a few seconds after the DELETE's, so it
    // may take a few more rows. Exactly right means: nothing before its cut-off is left, and
    // nothing else went.
    const runCutoff = new Date(line!.cutoff);
    const [after] = await owner<{ left: number; total: number }[]>`
      select count(*) filter (where created_at < ${runCutoff})::int as left,
             count(*)::int as total
      from product.messages`;
    if (after!.left !== 0) throw new Error(`${after!.left} messages past the period remain`);
    if (after!.total !== seeded.messages - removed) {
      throw new Error(
        `the purge removed ${seeded.messages - after!.total} messages, it says ${removed}`,
      );
    }
    if (removed < deleted) {
      throw new Error(`the purge removed ${removed} messages, fewer than the DELETE's ${deleted}`);
    }

    process.stdout.write(
      `${JSON.stringify({
        bench: 'retention',
        users: seeded.users,
        messages: seeded.messages,
        purged: removed,
        deleted_by_plain_delete: deleted,
        share: Number((removed / seeded.messages).toFixed(3)),
        period_days: periodDays,
        batches: line?.batches ?? null,
        purge_s: seconds(purgeMs),
        purge_batches_s: seconds(line!.durationMs),
        delete_s: seconds(deleteMs),
        batches_alone_s: seconds(aloneMs),
        batches_alone_ratio: Number((aloneMs / deleteMs).toFixed(2)),
        delete_s_under_load: seconds(loadedDelete.ms),
        purge_ratio: Number((purgeMs / deleteMs).toFixed(2)),
        purge_ratio_same_load: Number((purgeMs / loadedDelete.ms).toFixed(2)),
        purge_in: IN_WEB_PROCESS ? 'web process' : 'worker process',
        clients: CLIENTS,
        page_requests_during: loaded.latencies.length,
        page_p95_ms_during: p95(loaded),
        page_p95_ms_before: p95(before),
        page_p95_ms_during_delete: p95(deleteLoad),
        node_env: process.env.NODE_ENV,
      })}\n`,
    );
  } finally {
    await bench.close();
  }
}

class RolledBack extends Error {}

/** The plain DELETE of the messages before `cutoff`, in a transaction rolled back. */
async function timedDelete(owner: postgres.Sql, cutoff: Date) {
  let count = 0;
  let ms = 0;
  const started = performance.now();
  await owner
    .begin(async (tx) => {
      const result = await tx`delete from product.messages where created_at < ${cutoff}`;
      count = result.count;
      ms = performance.now() - started;
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return { count, ms };
}

/** The purge of the messages in a process of its own (bench/support/retention-process.ts). */
async function startPurgeProcess(appUrl: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/retention-process.ts'], {
    env: { ...process.env, DATABASE_URL: appUrl, CUSTODIAN_RETENTION_ONLY: 'messages' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const fail = (code: number | null) => reject(new Error(`the purge process exited (${code})`));
      child.once('exit', fail);
      lines.once('line', (line) => {
        child.off('exit', fail);
        resolve(line);
      });
    });
  if ((await next()) !== 'ready') throw new Error('the purge process did not start');
  return {
    async go(): Promise<{ ms: number; run: RunSummary }> {
      const result = next();
      child.stdin.write('go\n');
      return JSON.parse(await result) as { ms: number; run: RunSummary };
    },
  };
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
