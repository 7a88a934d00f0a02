import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { closeDb, getDb, getSql } from '#app/db/client.server.ts';
import { urlFor } from '#app/db/logins.server.ts';
import { versioned, setKeyRing, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { setAuditPurgeConnection } from '#app/modules/audit/retention.server.ts';
import { assertActorRoles } from './actor-roles.ts';

// Each test file gets its own database, cloned from the migrated template, and points the app's
// one client at it through DATABASE_URL, with the app's login (a member of custodian_app only),
// as in the embedded default. The sequencer's login and the owner's are for the file's database
// too: sequencerUrl() and ownerUrl().

function databaseUrl(name: string) {
  const u = new URL(inject('adminUrl'));
  u.pathname = `/${name}`;
  return u.toString();
}

function databaseName(url: string) {
  return new URL(url).pathname.slice(1);
}

/** The app's login on the database `name` (what DATABASE_URL holds in the tests). */
export function testDatabaseUrl(name: string) {
  return urlFor(databaseUrl(name), inject('logins').app);
}

/** The owner's login (a superuser) on the database of `url`: fixtures the app may not write. */
export function ownerUrl(url = process.env.DATABASE_URL!) {
  return databaseUrl(databaseName(url));
}

/** The audit sequencer's login on the database of `url`. */
export function sequencerUrl(url = process.env.DATABASE_URL!) {
  return urlFor(databaseUrl(databaseName(url)), inject('logins').sequencer);
}

/** A new database copied from `template` (no one may be connected to it); its name. */
async function copyDatabase(template: string): Promise<string> {
  const name = `custodian_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(inject('adminUrl'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template ${template}`);
  } finally {
    await admin.end();
  }
  return name;
}

export async function createTestDatabase(): Promise<string> {
  return testDatabaseUrl(await copyDatabase('custodian_test_template'));
}

/**
 * Keeps the app's database as it is now, as a template for restoreDatabaseState(): each test that
 * needs this state starts from a copy of it, whatever the tests before it did. Closes the app's
 * connections (a template must have none); the next query opens them again.
 */
export async function saveDatabaseState(): Promise<string> {
  await closeDb();
  return copyDatabase(databaseName(process.env.DATABASE_URL!));
}

/** Points the app, and a test server sharing its client, at a fresh copy of a saved state. */
export async function restoreDatabaseState(state: string): Promise<void> {
  await closeDb();
  process.env.DATABASE_URL = testDatabaseUrl(await copyDatabase(state));
}

export const testKeyRing: KeyRing = {
  master: versioned(Buffer.alloc(32, 1)),
  previousMasters: [],
  index: versioned(Buffer.alloc(32, 2)),
};

/** Call at the top of a test file: a fresh database and key ring for the file. */
export function useTestDatabase() {
  beforeAll(async () => {
    process.env.DATABASE_URL = await createTestDatabase();
    setKeyRing(testKeyRing);
    // The audit purge connects as the sequencer (ADR 033), to whichever database the file uses now.
    setAuditPurgeConnection(() => sequencerUrl());
  });
  afterAll(async () => {
    try {
      await assertActorRoles();
    } finally {
      await closeDb();
    }
  });
  return { db: () => getDb(), sql: () => getSql() };
}
