import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ServerBuild } from '@remix-run/node';
import postgres from 'postgres';
import { closeDb } from '#app/db/client.server.ts';
import { startSequencerThread } from '#app/modules/audit/sequencer-thread.server.ts';
import { setKeyRing, versioned, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { createHttpApp, listen } from '#app/server/http.server.ts';
import { benchLogins, benchServer, freshDatabase, log } from './database.ts';
import { loadBuild, loadThread } from './http-load.ts';

// What the HTTP benches (access, retention) set up alike: a fresh migrated database with the app's
// and the sequencer's logins and a key ring, an owner connection, the load generator's thread; on
// `serve()`, the web app over HTTP with the audit sequencer on its own thread, as the web process
// runs them. `close()` stops all of it, whatever was started.

export interface BenchConsole {
  ring: KeyRing;
  /** The database owner's URL. */
  url: string;
  logins: { app: string; sequencer: string };
  owner: postgres.Sql;
  /** The load generator's thread (http-load.ts). */
  worker: ReturnType<typeof loadThread>;
  /** Starts the web app and the sequencer: the app's base URL, and the server build it runs. */
  serve(): Promise<{ baseUrl: string; build: ServerBuild }>;
  close(): Promise<void>;
}

export async function benchConsole(bench: string): Promise<BenchConsole> {
  const server = await benchServer();
  const ring: KeyRing = {
    master: versioned(randomBytes(32)),
    previousMasters: [],
    index: versioned(randomBytes(32)),
  };
  setKeyRing(ring);
  const url = await freshDatabase(server.adminUrl, `bench_${bench}`);
  const logins = await benchLogins(url);
  process.env.DATABASE_URL = logins.app;
  const owner = postgres(url, { max: 2, onnotice: () => {} });
  const worker = loadThread();
  let httpServer: http.Server | undefined;
  let sequencer: ReturnType<typeof startSequencerThread> | undefined;
  return {
    ring,
    url,
    logins,
    owner,
    worker,
    async serve() {
      const build = await loadBuild(bench);
      const app = createHttpApp({ build, secure: false, publicDir: path.resolve('public') });
      httpServer = await listen(app, { host: '127.0.0.1', port: 0 });
      const origin = 'custodian.local/audit';
      sequencer = startSequencerThread({
        url: logins.sequencer,
        signer: { name: origin, privateKey: generateKeyPairSync('ed25519').privateKey },
        origin,
        checkpointEveryMs: 10_000,
      });
      return { baseUrl: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, build };
    },
    async close() {
      await worker.terminate();
      await sequencer
        ?.stop()
        .catch((error: unknown) => log(`bench ${bench}: stopping the sequencer: ${String(error)}`));
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
    },
  };
}
