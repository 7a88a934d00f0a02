import { sql } from 'drizzle-orm';
import { getDb, type Tx } from '#app/db/client.server.ts';

// The product side of an erasure: the users module owns the product tables, so it alone deletes
// from them. Each function works in the caller's transaction and on at most `limit` rows, so the
// privacy module can count what it removed in the same transaction (a run resumed after a crash
// never counts a row twice) and keep every transaction short. Nothing here reads a personal value.

/**
 * Every product table that holds rows of a user, in the order an erasure empties them (the key
 * first: from then on every ciphertext of the user is unreadable; the users row last, so the user
 * stays findable by the erasure until the end). A product table with a `user_id` column that is
 * not listed here fails the erasure's final check and test/integration/privacy-erasure.test.ts.
 */
export const ERASABLE_TABLES = [
  'product.user_keys',
  'product.messages',
  'product.conversations',
  'product.usage_events',
  'product.data_use_preference_changes',
  'product.data_use_preferences',
  'product.payment_references',
  'product.users',
] as const;
export type ErasableTable = (typeof ERASABLE_TABLES)[number];

/** The column naming the user in each table. */
const USER_COLUMN: Record<ErasableTable, string> = {
  'product.user_keys': 'user_id',
  'product.messages': 'user_id',
  'product.conversations': 'user_id',
  'product.usage_events': 'user_id',
  'product.data_use_preference_changes': 'user_id',
  'product.data_use_preferences': 'user_id',
  'product.payment_references': 'user_id',
  'product.users': 'id',
};

const ident = (table: string) =>
  sql.raw(
    table
      .split('.')
      .map((p) => `"${p}"`)
      .join('.'),
  );

/** How many rows of the user each erasable table holds now. */
export async function countUserRows(
  userId: string,
  tx?: Tx,
): Promise<Record<ErasableTable, number>> {
  const parts = ERASABLE_TABLES.map(
    (t) =>
      sql`(select count(*) from ${ident(t)} where ${sql.raw(USER_COLUMN[t])} = ${userId})::bigint::text as ${sql.raw(`"${t}"`)}`,
  );
  const rows = await (tx ?? getDb()).execute<Record<string, string>>(
    sql`select ${sql.join(parts, sql`, `)}`,
  );
  const row = rows[0]!;
  return Object.fromEntries(ERASABLE_TABLES.map((t) => [t, Number(row[t])])) as Record<
    ErasableTable,
    number
  >;
}

export interface ErasureFacts {
  /** The email's blind index (not the email): for the tombstone and the final lookup check. */
  emailIndex: Buffer;
  indexKeyId: string;
  /** The wrapped data key's version and master key, or null when the key is already gone. */
  key: { version: number; masterKeyId: string } | null;
}

/** What an erasure must note of the user before it deletes anything; null when no such user. */
export async function erasureFacts(userId: string, tx?: Tx): Promise<ErasureFacts | null> {
  const rows = await (tx ?? getDb()).execute<{
    email_index: Buffer;
    email_index_key_id: string;
    key_version: number | null;
    master_key_id: string | null;
  }>(sql`
    select u.email_index, u.email_index_key_id, k.key_version, k.master_key_id
    from product.users u left join product.user_keys k on k.user_id = u.id
    where u.id = ${userId}`);
  const row = rows[0];
  if (!row) return null;
  return {
    emailIndex: Buffer.from(row.email_index),
    indexKeyId: row.email_index_key_id,
    key:
      row.key_version === null || row.master_key_id === null
        ? null
        : { version: row.key_version, masterKeyId: row.master_key_id },
  };
}

/**
 * Deletes up to `limit` rows of the user from one table (not payment references: see
 * takePaymentReferences), by physical row address so no index is walked twice; the number removed.
 */
export async function deleteUserRows(
  tx: Tx,
  table: Exclude<ErasableTable, 'product.payment_references'>,
  userId: string,
  limit: number,
): Promise<number> {
  const rows = await tx.execute(sql`
    delete from ${ident(table)}
    where ctid = any(array(
      select ctid from ${ident(table)} where ${sql.raw(USER_COLUMN[table])} = ${userId}
      limit ${limit}))
    returning 1`);
  return rows.length;
}

export interface TakenPaymentReference {
  id: string;
  provider: string;
  customerToken: string;
  createdAt: Date;
}

/**
 * Deletes up to `limit` payment references of the user and returns what the tax rule keeps of
 * them (the provider and its customer reference, and when it was created); the card's brand, last
 * four digits and expiry go with the row.
 */
export async function takePaymentReferences(
  tx: Tx,
  userId: string,
  limit: number,
): Promise<TakenPaymentReference[]> {
  const rows = await tx.execute<{
    id: string;
    provider: string;
    customer_token: string;
    created_at: Date | string;
  }>(sql`
    delete from product.payment_references
    where ctid = any(array(
      select ctid from product.payment_references where user_id = ${userId} limit ${limit}))
    returning id, provider::text as provider, customer_token, created_at`);
  return rows.map((r) => ({
    id: r.id,
    provider: r.provider,
    customerToken: r.customer_token,
    createdAt: r.created_at instanceof Date ? r.created_at : new Date(r.created_at),
  }));
}

/**
 * Every product table that names a user (a `user_id` column, or product.users itself), read from
 * the database's catalogue rather than from ERASABLE_TABLES: the final check of an erasure counts
 * in all of them, so a table added later without being erased is found, not overlooked.
 */
export async function productTablesNamingUsers(tx?: Tx): Promise<string[]> {
  const rows = await (tx ?? getDb()).execute<{ name: string }>(sql`
    select distinct 'product.' || c.table_name as name
    from information_schema.columns c
    join information_schema.tables t
      on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = 'product' and t.table_type = 'BASE TABLE'
      and (c.column_name = 'user_id' or c.table_name = 'users')
    order by 1`);
  return rows.map((r) => r.name);
}

/** The rows of the user left in every product table that names users (see above). */
export async function rowsLeftOfUser(
  userId: string,
  emailIndex: Buffer | null,
): Promise<Record<string, number>> {
  const tables = await productTablesNamingUsers();
  const parts = tables.map((t) => {
    const where =
      t === 'product.users'
        ? emailIndex
          ? sql`id = ${userId} or email_index = ${emailIndex}`
          : sql`id = ${userId}`
        : sql`user_id = ${userId}`;
    return sql`(select count(*) from ${ident(t)} where ${where})::bigint::text as ${sql.raw(`"${t}"`)}`;
  });
  const rows = await getDb().execute<Record<string, string>>(
    sql`select ${sql.join(parts, sql`, `)}`,
  );
  return Object.fromEntries(tables.map((t) => [t, Number(rows[0]![t])]));
}
