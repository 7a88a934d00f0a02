// A worker in its own process, for the crash tests of privacy work (test/integration/
// privacy-export.test.ts): `node --import tsx test/support/privacy-work-child.ts <requestId>`,
// with DATABASE_URL (the app's login). It carries out the request as the privacy.work job would,
// under the test key ring, and prints the outcome; the test kills it with SIGKILL half-way.
import { closeDb } from '#app/db/client.server.ts';
import { setKeyRing, versioned } from '#app/modules/crypto/keys.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';

// The same ring as test/support/db.ts's testKeyRing (which cannot be imported outside vitest).
setKeyRing({
  master: versioned(Buffer.alloc(32, 1)),
  previousMasters: [],
  index: versioned(Buffer.alloc(32, 2)),
});
const outcome = await runWork(process.argv[2]!);
process.stdout.write(`${outcome}\n`);
await closeDb();
