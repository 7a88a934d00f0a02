import { generateKeyPairSync, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { startSequencerThread } from '#app/modules/audit/sequencer-thread.server.ts';
import type { Sequencer } from '#app/modules/audit/sequencer.server.ts';
import { madeUpStaff } from '../support/http.ts';
import { flushAudit } from '../support/audit.ts';
import { ownerUrl, sequencerUrl, useTestDatabase } from '../support/db.ts';

// The web process's sequencer runs on its own thread (ADR 014): entries reach the log without
// anyone flushing, a flush asked of the thread waits for it, the thread's log lines reach the
// caller, and a stop ends the thread.

useTestDatabase();
const ORIGIN = 'custodian.test/thread';
let owner: postgres.Sql;
let sequencer: Sequencer | undefined;

beforeAll(() => {
  owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await sequencer?.stop();
  await owner.end();
});

const queued = async () =>
  Number((await owner<{ n: string }[]>`select count(*) as n from console.audit_intake`)[0]!.n);

async function sequencedSession(sessionId: string) {
  const rows = await owner<{ seq: string }[]>`
    select seq from console.audit_entries where session_id = ${sessionId}`;
  return rows.map((r) => Number(r.seq));
}

/** The sequencer's connections to this database (its pool, on the thread). */
const sequencerConnections = async () =>
  Number(
    (
      await owner<{ n: string }[]>`
        select count(*) as n from pg_stat_activity
         where datname = current_database() and application_name = 'custodian-sequencer'`
    )[0]!.n,
  );

const entry = (sessionId: string) =>
  recordAudit(madeUpStaff({ sessionId }), {
    action: 'auth.sign_out',
    outcome: 'allowed',
    details: {},
  });

// Starting the thread loads the sequencer through tsx: seconds on a loaded machine.
it('sequences entries on its own, flushes on request, signs checkpoints and stops', async () => {
  const lines: string[] = [];
  sequencer = startSequencerThread({
    url: sequencerUrl(),
    signer: { name: ORIGIN, privateKey: generateKeyPairSync('ed25519').privateKey },
    origin: ORIGIN,
    checkpointEveryMs: 60_000,
    pollMs: 50,
    publish: { command: 'exit 3' },
    log: (line) => lines.push(line),
  });

  // Without a flush: the thread's own polling puts the entry in the log.
  const first = randomUUID();
  await entry(first);
  await expect
    .poll(() => sequencedSession(first), { timeout: 60_000, interval: 50 })
    .toHaveLength(1);

  // A flush asked of the thread returns once everything queued is in the log, with a checkpoint
  // of that size signed; its publishing command's failure comes back as a log line.
  const second = randomUUID();
  await entry(second);
  await sequencer.flush({ checkpoint: true });
  expect(await sequencedSession(second)).toHaveLength(1);
  expect(await queued()).toBe(0);
  const [size] = await owner<{ size: string }[]>`
    select max(tree_size) as size from console.audit_checkpoints where key_name = ${ORIGIN}`;
  const [last] = await owner<{ seq: string }[]>`select max(seq) as seq from console.audit_entries`;
  expect(Number(size!.size)).toBe(Number(last!.seq) + 1);
  expect(lines.some((l) => l.includes('audit checkpoint command exited 3'))).toBe(true);

  expect(await sequencerConnections()).toBeGreaterThan(0);
  await sequencer.stop();
  sequencer = undefined;
  // Stopped: the thread is gone and its connections with it (PostgreSQL drops them a moment after
  // the thread closes them), so nothing sequences what is queued after, however long it waits.
  await expect.poll(sequencerConnections, { timeout: 60_000, interval: 50 }).toBe(0);
  const third = randomUUID();
  await entry(third);
  expect(await sequencedSession(third)).toEqual([]);
  expect(await queued()).toBe(1);
  // It was waiting for a sequencer, not lost: one sequences it.
  await flushAudit();
  expect(await sequencedSession(third)).toHaveLength(1);
}, 120_000);
