import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { closeDb } from '#app/db/client.server.ts';
import { purgeBatch, ROW } from '#app/db/expiry.server.ts';
import * as schema from '#app/db/schema.ts';
import { sparedUsers } from '#app/modules/privacy/expiry.server.ts';
import { expiredMessages } from '#app/modules/users/expiry.server.ts';
import { decideGrant, requestGrant } from '#app/modules/access/grants.server.ts';
import { commandLine } from '#app/modules/actor.ts';
import { startSequencerThread } from '#app/modules/audit/sequencer-thread.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { setKeyRing, versioned, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { BATCH_SIZE, runRetention } from '#app/modules/retention/engine.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import { createHttpApp, listen } from '#app/server/http.server.ts';
import { benchLogins, benchServer, freshDatabase, log, percentile } from './support/database.ts';
import {
  httpPhase,
  loadBuild,
  loadThread,
  newStaff,
  stopLoad,
  type Tally,
} from './support/http-load.ts';
import { benchSignIn } from './support/sign-in.ts';

// The retention purge against its raw limit (issue 14's performance section), with the console
// answering throughout. 1,000,000 users × 10 messages (--quick: 20,000 users); the messages
// policy's period is set so that the oldest ~10% of messages are past it. Then:
// - `delete_s`: the same rows in one plain `DELETE … where created_at < cutoff`, in one
//   transaction, rolled back (so the purge then removes exactly those rows), with nothing else
//   running: the raw limit;
// - `purge_s`: the real run (runRetention, category `messages`: keyset batches of 5,000 rows, each
//   its own transaction with its progress, holds and open requests honoured, audit entries) while
//   16 signed-in agents load the audited conversation page of the access bench over HTTP, the
//   audit sequencer on its own thread as in the web process;
// - `page_p95_ms_during`: that page's p95 while the purge runs (aim: under 100 ms), beside
//   `page_p95_ms_before`, the same load for a few seconds before the purge.
// The purge must leave nothing before its cut-off and remove nothing else, or the bench fails. Last line of stdout:
// one JSON object.

const quick = process.argv.includes('--quick');
const USERS = quick ? 20_000 : 1_000_000;
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
  const server = await benchServer();
  const ring: KeyRing = {
    master: versioned(randomBytes(32)),
    previousMasters: [],
    index: versioned(randomBytes(32)),
  };
  setKeyRing(ring);
  const url = await freshDatabase(server.adminUrl, 'bench_retention');
  const logins = await benchLogins(url);
  process.env.DATABASE_URL = logins.app;
  const owner = postgres(url, { max: 2, onnotice: () => {} });
  let httpServer: http.Server | undefined;
  let sequencer: ReturnType<typeof startSequencerThread> | undefined;
  const worker = loadThread();
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
    let deleted = 0;
    const deleteStarted = performance.now();
    let deleteMs = 0;
    await owner
      .begin(async (tx) => {
        const result = await tx`delete from product.messages where created_at < ${cutoff}`;
        deleted = result.count;
        deleteMs = performance.now() - deleteStarted;
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) throw error;
      });
    log(
      `bench retention: DELETE removed ${deleted.toLocaleString('en')} rows in ${seconds(deleteMs)} s`,
    );

    // The floor of the batching itself: the same walk (purgeBatch over the messages target, the
    // same windows and batch size, holds and open requests spared) with nothing else running — no
    // clients, no progress rows, no audit — in one transaction, rolled back.
    log('bench retention: the batches alone, no clients, rolled back…');
    // Its own connection: drizzle changes the date handling of the client it is given.
    const walker = postgres(url, { max: 1, onnotice: () => {} });
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

    const build = await loadBuild('retention');
    const app = createHttpApp({ build, secure: false, publicDir: path.resolve('public') });
    httpServer = await listen(app, { host: '127.0.0.1', port: 0 });
    const baseUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    const origin = 'custodian.local/audit';
    sequencer = startSequencerThread({
      url: logins.sequencer,
      signer: { name: origin, privateKey: generateKeyPairSync('ed25519').privateKey },
      origin,
      checkpointEveryMs: 10_000,
    });

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

    log('bench retention: the purge, with the clients loading the page throughout…');
    if (process.env.CUSTODIAN_BENCH_EXPLAIN) {
      // One batch's plan, rolled back: where a batch's time goes.
      await owner
        .begin(async (tx) => {
          const plan = await tx.unsafe(
            `explain (analyze, buffers) with batch as (
               select ctid as c, id as k from product.messages
                where ctid > '(0,0)'::tid and ctid < '(2000,0)'::tid and created_at < $1
                  and not (exists (select 1 from console.legal_holds h where h.user_id = product.messages.user_id and h.lifted_at is null)
                        or exists (select 1 from console.privacy_requests r where r.user_id = product.messages.user_id and r.state not in ('done','rejected','cancelled')))
                order by ctid limit 5000),
             done as (delete from product.messages t using batch b where t.id = b.k returning 1)
             select count(*) from done`,
            [cutoff],
          );
          log(plan.map((r) => (r as Record<string, string>)['QUERY PLAN']).join('\n'));
          throw new RolledBack();
        })
        .catch((error: unknown) => {
          if (!(error instanceof RolledBack)) throw error;
        });
    }
    const during = httpPhase(worker, baseUrl, jobs, null);
    const purgeStarted = performance.now();
    const run = await runRetention({
      trigger: 'command',
      actor: commandLine('bench retention'),
      only: ['messages'],
    });
    const purgeMs = performance.now() - purgeStarted;
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
        purge_ratio: Number((purgeMs / deleteMs).toFixed(2)),
        clients: CLIENTS,
        page_requests_during: loaded.latencies.length,
        page_p95_ms_during: p95(loaded),
        page_p95_ms_before: p95(before),
        node_env: process.env.NODE_ENV,
      })}\n`,
    );
  } finally {
    await worker.terminate();
    await sequencer
      ?.stop()
      .catch((error: unknown) => log(`bench retention: stopping the sequencer: ${String(error)}`));
    if (httpServer) {
      const s = httpServer;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    await owner.end();
    await closeDb();
    await server.stop();
  }
}

class RolledBack extends Error {}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
