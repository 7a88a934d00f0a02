import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { ensureLogins, urlFor } from '#app/db/logins.server.ts';
import { benchServer, dropDatabase, freshDatabase, log } from './database.ts';

// A benchmark's own corner, taken apart at the end (and on Ctrl-C or SIGTERM), so that it never
// touches a console that may be running beside it:
// - its own data folder (keys, the audit signing key, checkpoints) in the temporary directory,
//   set as CUSTODIAN_DATA_DIR before the app first reads its environment;
// - its own database with a random name, on a throwaway embedded server or DATABASE_URL's;
// - its own logins, with random names, members of the app's and the sequencer's roles. NOTE:
//   benchLogins() (database.ts) sets the passwords of the logins a console uses (custodian_web),
//   which would lock a console on the same server out of new connections; these do not.

export interface Scratch {
  dataDir: string;
  ownerUrl: string;
  appUrl: string;
  /** Removes the database, the logins, the server (if embedded) and the data folder. */
  cleanup(): Promise<void>;
}

const stack: (() => Promise<void> | void)[] = [];
let unwinding: Promise<void> | undefined;

/**
 * Runs the cleanup steps once, in reverse order, each whatever the others did. NOTE: a second
 * caller (the bench's own `finally` after a signal broke its work) gets the same promise, so it
 * waits for the cleanup instead of exiting in the middle of it.
 */
function unwind(): Promise<void> {
  unwinding ??= (async () => {
    for (const step of stack.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        log(`bench: cleanup step failed: ${String(error)}`);
      }
    }
  })();
  return unwinding;
}

let signalled = false;
function onSignal(signal: NodeJS.Signals) {
  if (signalled) return;
  signalled = true;
  log(`bench: ${signal}, cleaning up…`);
  void unwind().finally(() => process.exit(130));
}

/**
 * Makes the scratch corner for bench `name`. Call before anything reads the app's environment.
 * `beforeDrop` runs first at cleanup (close the app's pool there, so the database can go).
 */
export async function benchScratch(
  name: string,
  beforeDrop: () => Promise<void>,
): Promise<Scratch> {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const suffix = randomBytes(4).toString('hex');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `custodian-bench-${name}-`));
  stack.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  process.env.CUSTODIAN_DATA_DIR = dataDir;

  const server = await benchServer();
  stack.push(() => server.stop());
  const database = `custodian_bench_${name}_${suffix}`;
  const ownerUrl = await freshDatabase(server.adminUrl, database);
  const logins = {
    app: { user: `custodian_bench_${suffix}_web`, password: randomBytes(18).toString('base64url') },
    sequencer: {
      user: `custodian_bench_${suffix}_seq`,
      password: randomBytes(18).toString('base64url'),
    },
  };
  stack.push(async () => {
    const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
    try {
      for (const login of [logins.app.user, logins.sequencer.user]) {
        await admin.unsafe(`drop role if exists ${login}`);
      }
    } finally {
      await admin.end();
    }
  });
  stack.push(() => dropDatabase(server.adminUrl, database));
  stack.push(beforeDrop);
  await ensureLogins(ownerUrl, logins);
  return {
    dataDir,
    ownerUrl,
    appUrl: urlFor(ownerUrl, logins.app),
    cleanup: async () => {
      await unwind();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
