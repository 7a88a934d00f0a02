import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { closeDb, getDb, getSql } from '#app/db/client.server.ts';
import { versioned, setKeyRing, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { assertActorRoles } from './actor-roles.ts';

// Each test file gets its own database, cloned from the migrated template, and points the app's
// one client at it through DATABASE_URL.

export function testDatabaseUrl(name: string) {
  const u = new URL(inject('adminUrl'));
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabase(): Promise<string> {
  const name = `custodian_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(inject('adminUrl'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template custodian_test_template`);
  } finally {
    await admin.end();
  }
  return testDatabaseUrl(name);
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
