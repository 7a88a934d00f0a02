import { sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import {
  runningDatabaseUrl,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '#app/db/embedded.server.ts';
import { runMigrations } from '#app/db/migrate.server.ts';
import { meta } from '#app/db/schema.ts';
import { dataDir, env, type Env } from '#app/config.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { loadAuditKeys, type AuditKeys } from '#app/modules/audit/keys.server.ts';
import type { Sequencer } from '#app/modules/audit/sequencer.server.ts';
import { startSequencerThread } from '#app/modules/audit/sequencer-thread.server.ts';
import { loadKeyRing, type KeyRing } from '#app/modules/crypto/keys.server.ts';

// Start-up shared by the web server, the worker and the command-line tool: configuration, keys,
// the database (DATABASE_URL, else the embedded server that is running, else a new one), migrations.

export interface Runtime {
  env: Env;
  dataDir: string;
  url: string;
  ring: KeyRing;
  audit: AuditKeys;
  embedded?: EmbeddedPostgres;
  /** True when DATABASE_URL was not given: the embedded default. */
  isEmbedded: boolean;
  close(): Promise<void>;
}

export const log = (line: string) => process.stderr.write(`${line}\n`);

export async function prepareRuntime(options: { migrate?: boolean; reuseRunning?: boolean } = {}) {
  const config = env();
  const dir = dataDir();
  const production = config.NODE_ENV === 'production';
  const ring = loadKeyRing({ dataDir: dir, production, log });
  const audit = loadAuditKeys({
    dataDir: dir,
    production,
    origin: config.CUSTODIAN_AUDIT_ORIGIN,
    trustedFile: config.CUSTODIAN_AUDIT_TRUSTED_KEYS,
    log,
  });
  let url = config.DATABASE_URL;
  let embedded: EmbeddedPostgres | undefined;
  if (!url) {
    const running = options.reuseRunning ? runningDatabaseUrl(dir) : undefined;
    if (running && (await reachable(running))) {
      url = running;
    } else {
      embedded = await startEmbeddedPostgres({ dataDir: dir, port: config.CUSTODIAN_PG_PORT, log });
      url = embedded.url;
    }
  }
  process.env.DATABASE_URL = url;
  if (options.migrate !== false) await runMigrations(url);
  const runtime: Runtime = {
    env: config,
    dataDir: dir,
    url,
    ring,
    audit,
    embedded,
    isEmbedded: !config.DATABASE_URL,
    async close() {
      const { closeDb } = await import('#app/db/client.server.ts');
      await closeDb();
      await embedded?.stop();
    },
  };
  return runtime;
}

async function reachable(url: string) {
  const { default: postgres } = await import('postgres');
  const probe = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 });
  }
}

export async function readMeta(key: string): Promise<unknown> {
  const rows = await getDb()
    .select()
    .from(meta)
    .where(sql`${meta.key} = ${key}`);
  return rows[0]?.value;
}

export async function writeMeta(key: string, value: unknown) {
  await getDb()
    .insert(meta)
    .values({ key, value, updatedAt: now() })
    .onConflictDoUpdate({ target: meta.key, set: { value, updatedAt: now() } });
}

/**
 * The audit sequencer of this process (web or worker), on a thread of its own (ADR 014): entries
 * in the log within a second, without taking the thread that answers requests.
 */
export function startAuditSequencer(rt: Runtime): Sequencer {
  return startSequencerThread({
    url: rt.url,
    signer: rt.audit.signer,
    origin: rt.audit.origin,
    trusted: rt.audit.trusted,
    checkpointEveryMs: rt.env.CUSTODIAN_AUDIT_CHECKPOINT_SECONDS * 1000,
    publish: {
      dir: rt.env.CUSTODIAN_AUDIT_CHECKPOINT_DIR,
      command: rt.env.CUSTODIAN_AUDIT_CHECKPOINT_COMMAND,
    },
    log,
  });
}
