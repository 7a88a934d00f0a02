// The audit sequencer in a process of its own, as a `custodian worker` runs it beside the web
// process: `node --import tsx bench/support/sequencer-process.ts` with DATABASE_URL and
// AUDIT_SIGNING_KEY (PKCS#8 PEM). Stops, draining the queue, on SIGTERM.
import { createPrivateKey } from 'node:crypto';
import { startSequencer } from '#app/modules/audit/sequencer.server.ts';

const origin = 'custodian.local/audit';
const sequencer = startSequencer({
  url: process.env.DATABASE_URL!,
  signer: { name: origin, privateKey: createPrivateKey(process.env.AUDIT_SIGNING_KEY!) },
  origin,
  checkpointEveryMs: 10_000,
  pollMs: 50,
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void sequencer.stop().then(() => process.exit(0));
});
