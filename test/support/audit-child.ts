// A separate process that appends audit entries (and runs a sequencer), for the concurrency and
// crash tests: `node --import tsx test/support/audit-child.ts <count> <label>`, with DATABASE_URL
// (the app's login) and CUSTODIAN_SEQUENCER_DATABASE_URL (the sequencer's).
// It prints `committed <n>` after each entry's transaction has committed.
import { createPrivateKey, randomUUID } from 'node:crypto';
import { closeDb } from '#app/db/client.server.ts';
import { startSequencer } from '#app/modules/audit/sequencer.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { job } from '#app/modules/actor.ts';

const [count, label] = process.argv.slice(2);
const signer = {
  name: 'custodian.local/audit',
  privateKey: createPrivateKey(process.env.AUDIT_TEST_SIGNING_KEY!),
};
const sequencer = startSequencer({
  url: process.env.CUSTODIAN_SEQUENCER_DATABASE_URL!,
  signer,
  origin: 'custodian.local/audit',
  checkpointEveryMs: 60_000,
  pollMs: 5,
});
for (let i = 0; i < Number(count); i++) {
  await recordAudit(job('test'), {
    action: 'user.lookup',
    outcome: 'allowed',
    userId: randomUUID(),
    purpose: `${label}-${i}`,
    details: { by: 'id', found: true },
  });
  process.stdout.write(`committed ${label}-${i}\n`);
}
await sequencer.stop();
await closeDb();
