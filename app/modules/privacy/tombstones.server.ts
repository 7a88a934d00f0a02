import { createHmac } from 'node:crypto';
import type postgres from 'postgres';
import { getSql } from '#app/db/client.server.ts';
import type { VersionedKey } from '#app/modules/crypto/keys.server.ts';
import { keyRing } from '#app/modules/crypto/keys.server.ts';

// Tombstones of erased users (ADR 026): a keyed hash (HMAC-SHA-256 under the index key, the key
// of the email blind index) of the user id and of the email's blind index. They say "this account
// was erased" without holding anything that names the person: the id hash stops the account from
// being re-seeded or restored under its id, the email hash under its email. Written in the first
// transaction of an erasure, so the user reads as gone from the moment their data starts to go.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tombstone hash of a user id. */
export function idTombstone(index: VersionedKey, userId: string): Buffer {
  return createHmac('sha256', index.key).update(`tombstone|id|${userId.toLowerCase()}`).digest();
}

/** The tombstone hash of an email's blind index (the blind index, never the email). */
export function emailTombstone(index: VersionedKey, emailIndex: Uint8Array): Buffer {
  return createHmac('sha256', index.key).update('tombstone|email|').update(emailIndex).digest();
}

/** Whether this user id belonged to a user who was erased (or whose erasure has begun). */
export async function isErased(userId: string): Promise<boolean> {
  if (!UUID.test(userId)) return false;
  const [row] = await getSql()<{ found: boolean }[]>`
    select exists (select 1 from console.erasure_tombstones
                   where id_hash = ${idTombstone(keyRing().index, userId)}) as found`;
  return row?.found ?? false;
}

/** The tombstones of a database, to test many accounts against (the seed's refusal). */
export interface Tombstones {
  size: number;
  /** 'id' or 'email' when the account matches a tombstone, else null. */
  match(userId: string, emailIndex: Uint8Array): 'id' | 'email' | null;
}

/**
 * Reads every tombstone through `sql` (the seed's own connection to the database it fills) into
 * memory: there is one per erased user, few next to the users a seed writes.
 */
export async function readTombstones(sql: postgres.Sql, index: VersionedKey): Promise<Tombstones> {
  const rows = await sql<{ id_hash: Buffer; email_hash: Buffer | null }[]>`
    select id_hash, email_hash from console.erasure_tombstones
    where index_key_id = ${index.id}`;
  const ids = new Set(rows.map((r) => r.id_hash.toString('hex')));
  const emails = new Set(rows.flatMap((r) => (r.email_hash ? [r.email_hash.toString('hex')] : [])));
  return {
    size: rows.length,
    match(userId, emailIndex) {
      if (rows.length === 0) return null;
      if (ids.has(idTombstone(index, userId).toString('hex'))) return 'id';
      if (emails.has(emailTombstone(index, emailIndex).toString('hex'))) return 'email';
      return null;
    },
  };
}
