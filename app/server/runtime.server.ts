import { sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import {
  runningDatabaseUrl,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '#app/db/embedded.server.ts';
import { embeddedLogins, ensureLogins, separationProblem, urlFor } from '#app/db/logins.server.ts';
import { runMigrations } from '#app/db/migrate.server.ts';
import { meta } from '#app/db/schema.ts';
import { dataDir, env, type Env } from '#app/config.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { loadAuditKeys, type AuditKeys } from '#app/modules/audit/keys.server.ts';
import {
  resolveCheckpointPublishing,
  setCheckpointPublishing,
  type CheckpointPublishing,
} from '#app/modules/audit/publishing.server.ts';
import type { Sequencer } from '#app/modules/audit/sequencer.server.ts';
import { startSequencerThread } from '#app/modules/audit/sequencer-thread.server.ts';
import { setAuditPurgeConnection } from '#app/modules/audit/retention.server.ts';
import { loadKeyRing, type KeyRing } from '#app/modules/crypto/keys.server.ts';

// Start-up shared by the web server, the worker and the command-line tool: configuration, keys,
// the database (DATABASE_URL, else the embedded server that is running, else a new one), migrations,
// and the logins each part connects with (ADR 019).

export interface Runtime {
  env: Env;
  dataDir: string;
  /** The app's login (a member of custodian_app): the web pool and the job queue. */
  url: string;
  /** The audit sequencer's login (a member of custodian_sequencer). */
  sequencerUrl: string;
  /** Migrations and the seed's bulk load: the embedded cluster's owner, else DATABASE_URL. */
  ownerUrl: string;
  /** False when one login serves the app and the sequencer (an external database without
   * CUSTODIAN_SEQUENCER_DATABASE_URL). */
  rolesSeparated: boolean;
  ring: KeyRing;
  audit: AuditKeys;
  embedded?: EmbeddedPostgres;
  /** True when DATABASE_URL was not given: the embedded default. */
  isEmbedded: boolean;
  /** Where checkpoints go outside the database (the embedded default: <data dir>/checkpoints). */
  publishing: CheckpointPublishing;
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
  let ownerUrl = config.DATABASE_URL;
  let embedded: EmbeddedPostgres | undefined;
  if (!ownerUrl) {
    const running = options.reuseRunning ? runningDatabaseUrl(dir) : undefined;
    if (running && (await reachable(running))) {
      ownerUrl = running;
    } else {
      embedded = await startEmbeddedPostgres({ dataDir: dir, port: config.CUSTODIAN_PG_PORT, log });
      ownerUrl = embedded.url;
    }
  }
  if (options.migrate !== false) await runMigrations(ownerUrl);
  let url = ownerUrl;
  let sequencerUrl = config.CUSTODIAN_SEQUENCER_DATABASE_URL ?? ownerUrl;
  if (!config.DATABASE_URL) {
    // The embedded default: the owner makes the two logins, and runs nothing else but the seed.
    const logins = embeddedLogins(dir);
    await ensureLogins(ownerUrl, logins);
    url = urlFor(ownerUrl, logins.app);
    sequencerUrl = urlFor(ownerUrl, logins.sequencer);
  }
  let rolesSeparated = sequencerUrl !== url;
  if (!rolesSeparated) {
    log(
      'Database roles are not separated: CUSTODIAN_SEQUENCER_DATABASE_URL is not set, so the audit ' +
        'sequencer connects with the login of DATABASE_URL too. Give it a login that is a member of ' +
        'custodian_sequencer only (README: "When Custodian does not own the database").',
    );
  } else if (config.DATABASE_URL) {
    // Two URLs do not make two roles: an operator's logins are checked, not trusted.
    const problem = await separationProblem(url, sequencerUrl);
    if (problem) {
      rolesSeparated = false;
      log(`Database roles are not separated: ${problem}.`);
    }
  }
  process.env.DATABASE_URL = url;
  // The audit trail's retention purge calls its function on the sequencer's login (ADR 033).
  setAuditPurgeConnection(sequencerUrl);
  const publishing = resolveCheckpointPublishing({
    dir: config.CUSTODIAN_AUDIT_CHECKPOINT_DIR,
    command: config.CUSTODIAN_AUDIT_CHECKPOINT_COMMAND,
    dataDir: dir,
    embedded: !config.DATABASE_URL,
  });
  setCheckpointPublishing(publishing);
  const runtime: Runtime = {
    env: config,
    dataDir: dir,
    url,
    sequencerUrl,
    ownerUrl,
    rolesSeparated,
    ring,
    audit,
    embedded,
    isEmbedded: !config.DATABASE_URL,
    publishing,
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
    url: rt.sequencerUrl,
    signer: rt.audit.signer,
    origin: rt.audit.origin,
    trusted: rt.audit.trusted,
    checkpointEveryMs: rt.env.CUSTODIAN_AUDIT_CHECKPOINT_SECONDS * 1000,
    publish: { dir: rt.publishing.dir, command: rt.publishing.command },
    log,
  });
}

/** The console's port cannot be listened on: one clear line, and nothing left running. */
export class PortUnavailableError extends Error {}
