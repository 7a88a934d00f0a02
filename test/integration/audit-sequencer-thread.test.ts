import { generateKeyPairSync, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { startSequencerThread } from '#app/modules/audit/sequencer-thread.server.ts';
import type { Sequencer } from '#app/modules/audit/sequencer.server.ts';
import { madeUpStaff } from '../support/http.ts';
import { useTestDatabase } from '../support/db.ts';

// The web process's sequencer runs on its own thread (ADR 014): entries reach the log without
// anyone flushing, a flush asked of the thread waits for it, the thread's log lines reach the
// caller, and a stop ends the thread.

useTestDatabase();
const ORIGIN = 'custodian.test/thread';
let owner: postgres.Sql;
let sequencer: Sequencer | undefined;

beforeAll(() => {
  owner = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
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

const entry = (sessionId: string) =>
  recordAudit(madeUpStaff({ sessionId }), {
    action: 'auth.sign_out',
    outcome: 'allowed',
    details: {},
  });

it('sequences entries on its own, flushes on request, signs checkpoints and stops', async () => {
  const lines: string[] = [];
  sequencer = startSequencerThread({
    url: process.env.DATABASE_URL!,
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
  const deadline = Date.now() + 10_000;
  while ((await sequencedSession(first)).length === 0) {
    if (Date.now() > deadline) throw new Error('the thread did not sequence the entry');
    await new Promise((r) => setTimeout(r, 50));
  }

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

  await sequencer.stop();
  sequencer = undefined;
  // Stopped: nothing sequences what is queued after.
  const third = randomUUID();
  await entry(third);
  await new Promise((r) => setTimeout(r, 300));
  expect(await sequencedSession(third)).toEqual([]);
});
