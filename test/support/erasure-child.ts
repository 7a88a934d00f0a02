// A worker process that carries out one privacy request and may be killed mid-way (the erasure's
// kill -9 test): `node --import tsx test/support/erasure-child.ts <request id>`, with DATABASE_URL
// (the app's login), CUSTODIAN_DATA_DIR (for the audit key) and the test key ring's bytes.
import { closeDb } from '#app/db/client.server.ts';
import { setKeyRing, versioned } from '#app/modules/crypto/keys.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';

const [requestId] = process.argv.slice(2);
setKeyRing({
  master: versioned(Buffer.alloc(32, 1)),
  previousMasters: [],
  index: versioned(Buffer.alloc(32, 2)),
});
const outcome = await runWork(requestId!);
process.stdout.write(`${outcome}\n`);
await closeDb();
