import { sql } from 'drizzle-orm';
import { getDb, getSql, type Tx } from '#app/db/client.server.ts';

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
 * The physical addresses (ctid) of the user's rows in one table, read in one index scan as one
 * text and cut here into batches of at most `size`: each batch is a text of space-separated
 * addresses, sent back as it is (a hundred thousand addresses as rows, or as an array, cost the
 * driver more to parse than the read costs the database). An erasure deletes by these in
 * batches: deleting "the next N rows of the user" instead would walk the index entries of every
 * row already deleted again at each batch (they stay until VACUUM), which made batches cost more
 * and more. An address is only a hint: the delete also requires the user's id, so an address
 * reused by another row is never a reason to delete that row, and rows moved or added meanwhile
 * are found by the next read.
 */
export async function userRowBatches(
  table: ErasableTable,
  userId: string,
  size: number,
): Promise<string[]> {
  if (!Number.isSafeInteger(size) || size < 1) throw new Error('not a batch size');
  const [row] = await getSql()
    .unsafe(`select string_agg(ctid::text, ' ') from ${table} where ${USER_COLUMN[table]} = $1`, [
      userId,
    ])
    .values();
  const all = (row?.[0] as string | null) ?? '';
  const batches: string[] = [];
  for (let start = 0; start < all.length;) {
    let end = start;
    for (let n = 0; n < size && end !== -1; n++) end = all.indexOf(' ', end + 1);
    if (end === -1) end = all.length;
    batches.push(all.slice(start, end));
    start = end + 1;
  }
  return batches;
}

/** Which rows a batch deletes: those at these addresses, or every row of the user that is left. */
export type RowBatch = { addresses: string } | 'all';

const ADDRESSES = /^\(\d+,\d+\)(?: \(\d+,\d+\))*$/;
const tids = (addresses: string) => {
  if (!ADDRESSES.test(addresses)) throw new Error('not a list of row addresses');
  return sql`string_to_array(${addresses}, ' ')::tid[]`;
};

/**
 * The condition of one delete. By addresses, it runs as a TID scan. NOTE: left to itself the
 * planner prefers the user_id index (it cannot tell that the addresses are a few pages of a large
 * range) and walks every index entry of the user, dead ones included, at each batch — the cost
 * the addresses are there to avoid. Index and sequential scans are turned off for that one
 * statement only: SET LOCAL before it, and back on by the statement itself once planned (its
 * `restore` column), so the batch's other statements keep their indexes, with no round trip
 * spent on either.
 */
async function planned(tx: Tx, table: ErasableTable, userId: string, batch: RowBatch) {
  const mine = sql`${sql.raw(USER_COLUMN[table])} = ${userId}`;
  if (batch === 'all') return { where: mine, restore: sql`null` };
  await tx.execute(
    sql`select set_config('enable_indexscan', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)`,
  );
  return {
    where: sql`ctid = any(${tids(batch.addresses)}) and ${mine}`,
    restore: sql`(select set_config('enable_indexscan', 'on', true) || set_config('enable_bitmapscan', 'on', true) || set_config('enable_seqscan', 'on', true))`,
  };
}

/**
 * Deletes the user's rows of this batch from one table (not payment references: see
 * takePaymentReferences), in the caller's transaction; the number removed, counted by the
 * database (no row comes back).
 */
export async function deleteUserRows(
  tx: Tx,
  table: Exclude<ErasableTable, 'product.payment_references'>,
  userId: string,
  batch: RowBatch,
): Promise<number> {
  const { where, restore } = await planned(tx, table, userId, batch);
  const [row] = await tx.execute<{ n: number }>(sql`
    with gone as (delete from ${ident(table)} where ${where} returning 1)
    select count(*)::int as n, ${restore} as restored from gone`);
  return row?.n ?? 0;
}

export interface TakenPaymentReference {
  id: string;
  provider: string;
  customerToken: string;
  createdAt: Date;
}

/**
 * Deletes the user's payment references of this batch and returns what the tax rule keeps of
 * them (the provider and its customer reference, and when it was created); the card's brand,
 * last four digits and expiry go with the row.
 */
export async function takePaymentReferences(
  tx: Tx,
  userId: string,
  batch: RowBatch,
): Promise<TakenPaymentReference[]> {
  const { where, restore } = await planned(tx, 'product.payment_references', userId, batch);
  // One row back whatever the batch holds, so the statement always restores the planner.
  const [row] = await tx.execute<{
    taken: { id: string; provider: string; customer_token: string; created_at: string }[];
  }>(sql`
    with gone as (
      delete from product.payment_references where ${where}
      returning id, provider::text as provider, customer_token, created_at)
    select coalesce(json_agg(gone), '[]'::json) as taken, ${restore} as restored from gone`);
  return (row?.taken ?? []).map((r) => ({
    id: r.id,
    provider: r.provider,
    customerToken: r.customer_token,
    createdAt: new Date(r.created_at),
  }));
}

/**
 * Every product table that names a user (a `user_id` column, or product.users itself), read from
 * the database's catalogue rather than from ERASABLE_TABLES: the final check of an erasure counts
 * in all of them, so a table added later without being erased is found, not overlooked.
 */
export async function productTablesNamingUsers(tx?: Tx): Promise<string[]> {
  // pg_catalog rather than information_schema: the same answer, in a millisecond.
  const rows = await (tx ?? getDb()).execute<{ name: string }>(sql`
    select distinct 'product.' || c.relname as name
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'product' and c.relkind in ('r', 'p') and not c.relispartition
      and a.attnum > 0 and not a.attisdropped
      and (a.attname = 'user_id' or c.relname = 'users')
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
