import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { removeCluster, startEmbeddedPostgres } from '#app/db/embedded.server.ts';
import {
  APP_LOGIN,
  ensureLogins,
  SEQUENCER_LOGIN,
  urlFor,
  type Logins,
} from '#app/db/logins.server.ts';
import { runMigrations } from '#app/db/migrate.server.ts';

// A PostgreSQL for a benchmark: DATABASE_URL's server, or a throwaway embedded one.

export const log = (line: string) => process.stderr.write(`${line}\n`);

export async function benchServer(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { adminUrl: process.env.DATABASE_URL, stop: async () => {} };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-bench-'));
  const pg = await startEmbeddedPostgres({ dataDir });
  return {
    adminUrl: pg.url,
    async stop() {
      await pg.stop();
      removeCluster(pg.home);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function withDatabase(url: string, name: string) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

let logins: Logins | undefined;

/**
 * The app's and the sequencer's logins on the database of `ownerUrl` (migrated), as the embedded
 * default has them (ADR 019): a benchmark measures the app as it runs.
 */
export async function benchLogins(ownerUrl: string): Promise<{ app: string; sequencer: string }> {
  if (!logins) {
    logins = {
      app: { user: APP_LOGIN, password: randomBytes(18).toString('base64url') },
      sequencer: { user: SEQUENCER_LOGIN, password: randomBytes(18).toString('base64url') },
    };
    await ensureLogins(ownerUrl, logins);
  }
  return { app: urlFor(ownerUrl, logins.app), sequencer: urlFor(ownerUrl, logins.sequencer) };
}

/** A fresh, migrated database on the bench server (its owner's URL). */
export async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  await runMigrations(url);
  return url;
}

export async function dropDatabase(adminUrl: string, name: string) {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}

export function percentile(sorted: number[], p: number) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
