import { sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from './client.server.ts';

// What retention may remove from a table, as its owner declares it (ADR 032): the owning module
// says which rows are past a cut-off (its table, its columns, its rules); the retention engine
// counts them, spares the users a hold or an open request protects, and removes them in bounded
// batches walked by primary key. This file only assembles the statements, so no capability has
// to name another's tables.

export interface ExpiryTarget {
  /** Schema-qualified table, e.g. `product.messages`. */
  table: string;
  /** The primary key column (one column), and its type for the keyset comparison. */
  key: string;
  keyType: 'uuid' | 'text' | 'bigint';
  /** The rows past the cut-off, as a condition on the table's own columns. */
  expired: SQL;
  /** The column naming the end user the row belongs to, when it has one. */
  userColumn?: string;
  /**
   * What a batch does to its rows: delete them (the default), or update them (a purge that
   * empties contents and keeps the row; `expired` must then exclude rows already emptied).
   */
  update?: SQL;
  /**
   * Rows of other tables that go with each removed row (`table.column = key`): deleted, or
   * updated with `update` when given (then `where` should skip rows already emptied).
   */
  alsoDelete?: { table: string; column: string; update?: SQL; where?: SQL }[];
}

const ident = (name: string) => {
  if (!/^[a-z_]+(\.[a-z_]+)?$/.test(name)) throw new Error(`not an identifier: ${name}`);
  return sql.raw(
    name
      .split('.')
      .map((p) => `"${p}"`)
      .join('.'),
  );
};

function condition(target: ExpiryTarget, spare: SQL | null): SQL {
  return spare ? sql`(${target.expired}) and not (${spare})` : sql`(${target.expired})`;
}

/** How many rows a purge would remove now. */
export async function countExpired(
  db: Db | Tx,
  target: ExpiryTarget,
  spare: SQL | null,
): Promise<number> {
  const [row] = await db.execute<{ n: string }>(
    sql`select count(*)::bigint::text as n from ${ident(target.table)} where ${condition(target, spare)}`,
  );
  return Number(row?.n ?? 0);
}

export interface BatchResult {
  /** Rows removed (or emptied) from the target table. */
  removed: number;
  /** Rows of the `alsoDelete` tables removed with them. */
  cascaded: number;
  /** The keyset position after this batch; null when the batch found nothing. */
  last: string | null;
}

/**
 * One batch in the caller's transaction: the next `limit` rows past `after` (by primary key) that
 * are expired and not spared, removed or emptied. A batch that finds fewer than `limit` rows is
 * the last one.
 */
export async function purgeBatch(
  tx: Tx,
  target: ExpiryTarget,
  spare: SQL | null,
  after: string | null,
  limit: number,
): Promise<BatchResult> {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error('not a batch size');
  const table = ident(target.table);
  const key = ident(target.key);
  const type = sql.raw(target.keyType);
  const from = after === null ? sql`true` : sql`${key} > ${after}::${type}`;
  const act = target.update
    ? sql`update ${table} t set ${target.update} from batch b where t.${key} = b.k returning 1`
    : sql`delete from ${table} t using batch b where t.${key} = b.k returning 1`;
  const cascades = (target.alsoDelete ?? []).map((c, i) => {
    const match = sql`x.${ident(c.column)} = b.k and ${c.where ?? sql`true`}`;
    const statement = c.update
      ? sql`update ${ident(c.table)} x set ${c.update} from batch b where ${match} returning 1`
      : sql`delete from ${ident(c.table)} x using batch b where ${match} returning 1`;
    return sql`, ${sql.raw(`c${i}`)} as (${statement})`;
  });
  const cascaded = (target.alsoDelete ?? []).map(
    (_, i) => sql`(select count(*) from ${sql.raw(`c${i}`)})`,
  );
  const [row] = await tx.execute<{ n: number; cascaded: number; last: string | null }>(sql`
    with batch as (
      select ${key} as k from ${table}
       where ${from} and ${condition(target, spare)}
       order by ${key} limit ${limit}
    )${sql.join(cascades, sql``)},
    done as (${act})
    select (select count(*) from done)::int as n,
           (${cascaded.length ? sql.join(cascaded, sql` + `) : sql`0`})::int as cascaded,
           (select k::text from batch order by k desc limit 1) as last`);
  return { removed: row?.n ?? 0, cascaded: row?.cascaded ?? 0, last: row?.last ?? null };
}
