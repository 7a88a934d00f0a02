import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { closeDb, getSql } from '#app/db/client.server.ts';
import { canonicalBytes } from '#app/modules/audit/canonical.ts';
import { verifierKeyFor } from '#app/modules/audit/note.ts';
import {
  checkpointIfDue,
  sequenceBatch,
  sequencerConnection,
} from '#app/modules/audit/sequencer.server.ts';
import {
  fetchVerifyChunk,
  VERIFY_CHUNK,
  VERIFY_DEPTH,
  verifyAuditLog,
  verifyChunks,
} from '#app/modules/audit/verify.server.ts';
import { buildEntry, recordAudit, type AuditEvent } from '#app/modules/audit/writer.server.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import { benchLogins, benchServer, freshDatabase, log, percentile } from './support/database.ts';

// Appends: 32 concurrent writers, each entry durably committed (synchronous_commit on) before the
// writer goes on, through the one audit writer with the sequencer running; against the limit: the
// same rows inserted by the same 32 writers, one row per transaction, into a table with no tree.
// Verification of a 1,000,000-entry log against simply reading those rows. Last line: JSON.

const quick = process.argv.includes('--quick');
const WRITERS = 32;
const APPEND_SECONDS = quick ? 8 : 30;
const ROUNDS = quick ? 2 : 5;
const VERIFY_ENTRIES = quick ? 100_000 : 1_000_000;
const ORIGIN = 'custodian.local/audit';

/** A made-up agent for each synthetic entry (the bench has no staff table to read one from). */
function actor(i: number): StaffActor {
  return {
    kind: 'staff',
    staffId: randomUUID(),
    email: `bench-${i}@staff.test`,
    displayName: `Bench ${i}`,
    roles: ['support_agent'],
    permissions: new Set(),
    sessionId: randomUUID(),
    client: { address: '127.0.0.1', userAgent: `bench/${i}` },
    mustChangePassword: false,
  };
}

function event(): AuditEvent<'user.view'> {
  return {
    action: 'user.view',
    outcome: 'allowed',
    userId: randomUUID(),
    grantId: randomUUID(),
    purpose: 'support_inquiry',
    details: { category: 'conversations', page: 'list' },
  };
}

interface Tally {
  latencies: number[];
  seconds: number;
}

async function timedWriters(tally: Tally, seconds: number, write: (i: number) => Promise<unknown>) {
  const { latencies } = tally;
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await write(n++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  tally.seconds += (performance.now() - started) / 1000;
}

function summary(tally: Tally) {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  return {
    perSecond: sorted.length / tally.seconds,
    p99: percentile(sorted, 99),
    count: sorted.length,
  };
}

async function main() {
  const server = await benchServer();
  const signer = { name: ORIGIN, privateKey: generateKeyPairSync('ed25519').privateKey };
  try {
    // --- appends -------------------------------------------------------------------------
    const url = await freshDatabase(server.adminUrl, 'bench_audit_appends');
    const logins = await benchLogins(url);
    process.env.DATABASE_URL = logins.app;
    process.env.CUSTODIAN_DB_POOL = String(WRITERS + 4);
    const owner = postgres(url, { max: WRITERS + 2, onnotice: () => {} });
    await owner`create table bench_plain (id bigserial primary key, body bytea not null, at timestamptz not null)`;
    await owner`grant insert on bench_plain to custodian_app`;
    await owner`grant usage on sequence bench_plain_id_seq to custodian_app`;

    const app = getSql();
    // The sequencer runs in a process of its own, as a `custodian worker` would beside the web
    // process: on 2 cores it would otherwise take the writers' thread.
    const sequencer = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/support/sequencer-process.ts'],
      {
        env: {
          ...process.env,
          DATABASE_URL: logins.sequencer,
          AUDIT_SIGNING_KEY: signer.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve) => sequencer.stdout.once('data', () => resolve()));
    let maxLagMs = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await owner<{ lag: number | null }[]>`
          select extract(epoch from (clock_timestamp() - min(enqueued_at))) * 1000 as lag
          from console.audit_intake`;
        maxLagMs = Math.max(maxLagMs, Number(row?.lag ?? 0));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Rounds alternate between the two, so that whatever else the machine does falls on both.
    const plainTally: Tally = { latencies: [], seconds: 0 };
    const auditTally: Tally = { latencies: [], seconds: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      log(`round ${round + 1}/${ROUNDS}: ${WRITERS} writers, plain inserts then audit appends…`);
      await timedWriters(plainTally, APPEND_SECONDS / ROUNDS, async (i) => {
        const body = canonicalBytes(buildEntry(actor(i), event(), new Date()));
        await app`insert into bench_plain (body, at) values (${body}, ${new Date().toISOString()})`;
      });
      await timedWriters(auditTally, APPEND_SECONDS / ROUNDS, (i) =>
        recordAudit(actor(i), event()),
      );
    }
    const plain = summary(plainTally);
    const appends = summary(auditTally);
    // Every appended entry must reach the tree; the sampler keeps measuring how long they wait.
    for (;;) {
      const [pending] = await owner<
        { n: number }[]
      >`select count(*)::int as n from console.audit_intake`;
      if (pending!.n === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    sampling = false;
    await sampler;
    sequencer.kill('SIGTERM');
    await new Promise((r) => sequencer.once('exit', r));
    const [{ n: logged }] =
      (await owner`select count(*)::int as n from console.audit_entries`) as unknown as [
        { n: number },
      ];
    if (logged !== appends.count) throw new Error(`logged ${logged} of ${appends.count} appends`);
    await owner.end();
    await closeDb();

    // --- verification ----------------------------------------------------------------------
    const vurl = await freshDatabase(server.adminUrl, 'bench_audit_verify');
    const vowner = postgres(vurl, { max: 2, onnotice: () => {} });
    log(`building a ${VERIFY_ENTRIES}-entry log…`);
    const at = new Date();
    for (let done = 0; done < VERIFY_ENTRIES; done += 10_000) {
      const rows = Array.from({ length: Math.min(10_000, VERIFY_ENTRIES - done) }, (_, k) => ({
        body: canonicalBytes(buildEntry(actor(done + k), event(), at)),
        enqueued_at: at.toISOString(),
      }));
      for (let i = 0; i < rows.length; i += 5_000) {
        await vowner`insert into console.audit_intake ${vowner(rows.slice(i, i + 5_000))}`;
      }
      const seq = sequencerConnection((await benchLogins(vurl)).sequencer, 1);
      while ((await sequenceBatch(seq, { limit: 10_000 })).appended > 0);
      if ((done / 10_000) % 10 === 9 || done + 10_000 >= VERIFY_ENTRIES) {
        await checkpointIfDue(seq, { signer, origin: ORIGIN, minIntervalMs: 0, force: true });
      }
      await seq.end();
    }
    await vowner`vacuum analyze console.audit_entries`;
    await vowner`vacuum analyze console.audit_leaves`;

    // The build's dirty pages are flushed now, not during the timed reads.
    await vowner`checkpoint`;

    // The limit: the same chunks by the same query, as many in flight as verification keeps.
    const readAll = async () => {
      const [{ max }] = await vowner<[{ max: string }]>`
        select coalesce(max(seq), -1)::bigint as max from console.audit_leaves`;
      const chunks = verifyChunks(Number(max));
      let read = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: VERIFY_DEPTH }, async () => {
          while (next < chunks) {
            const rows = await fetchVerifyChunk(vowner, next++ * VERIFY_CHUNK);
            read += rows.length; // not `read += await …`, which would add to a stale total
          }
        }),
      );
      return read;
    };
    log('reading every row once to warm the caches, for both…');
    await readAll();
    log('reading every row (the limit)…');
    let t = performance.now();
    const read = await readAll();
    if (read !== VERIFY_ENTRIES) throw new Error(`read ${read} of ${VERIFY_ENTRIES} rows`);
    const readRowsPerS = read / ((performance.now() - t) / 1000);

    log('verifying…');
    t = performance.now();
    const result = await verifyAuditLog({
      sql: vowner,
      trusted: [{ key: verifierKeyFor(signer) }],
      origin: ORIGIN,
    });
    const verifyPerS = result.entries / ((performance.now() - t) / 1000);
    if (!result.ok)
      throw new Error(`verification failed: ${JSON.stringify(result.problems.slice(0, 3))}`);
    await vowner.end();

    const figures = {
      bench: 'audit',
      writers: WRITERS,
      appends_per_s: Math.round(appends.perSecond),
      plain_inserts_per_s: Math.round(plain.perSecond),
      append_ratio: Number((appends.perSecond / plain.perSecond).toFixed(2)),
      p99_append_ms: Number(appends.p99.toFixed(1)),
      p99_plain_insert_ms: Number(plain.p99.toFixed(1)),
      max_sequencing_lag_ms: Math.round(maxLagMs),
      verify_entries: result.entries,
      verify_entries_per_s: Math.round(verifyPerS),
      read_rows_per_s: Math.round(readRowsPerS),
      verify_ratio: Number((verifyPerS / readRowsPerS).toFixed(2)),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
