import { sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from './client.server.ts';

// What retention may remove from a table, as its owner declares it (ADR 032): the owning module
// says which rows are past a cut-off (its table, its columns, its rules); the retention engine
// counts them, spares the users a hold or an open request protects, and removes them in bounded
// batches walked in the table's physical order (purgeBatch). This file only assembles the statements, so no capability has
// to name another's tables.

export interface ExpiryTarget {
  /** Schema-qualified table, e.g. `product.messages`. */
  table: string;
  /** The primary key column (one column): what a batch hands to `alsoDelete`. */
  key: string;
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

/**
 * The row being judged, for a condition that must name it (a correlated subquery, a spared user):
 * the target table is read under this alias, both when counting and in a batch's window.
 */
export const ROW = sql.raw('purge_window');

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
    sql`select count(*)::bigint::text as n from ${ident(target.table)} as ${ROW} where ${condition(target, spare)}`,
  );
  return Number(row?.n ?? 0);
}

export interface BatchResult {
  /** Rows removed (or emptied) from the target table. */
  removed: number;
  /** Rows of the `alsoDelete` tables removed with them. */
  cascaded: number;
  /** Where the walk continues: the row address (`(block,offset)`) after which the next batch looks. */
  last: string;
  /** The walk has passed the table's last page: nothing past the cut-off is left behind it. */
  done: boolean;
}

/**
 * How many pages one batch looks through at most. A batch walks the table in its physical order
 * (a TID range scan: sequential reads, like the plain DELETE it is measured against), not by
 * primary key: rows past a cut-off are scattered over the key's order, and walking the key index
 * fetched every row of the table at random to find them. 2,000 pages are 16 MB of the table.
 */
export const WINDOW_PAGES = 2_000;

const TID = /^\((\d{1,10}),(\d{1,5})\)$/;

/**
 * One batch in the caller's transaction: within the next `windowPages` pages after the position
 * `after` (a row address; null to start), the first `limit` rows (in the table's order) that are
 * expired and not spared, removed or emptied. When the window holds fewer, the batch covers the
 * whole window and the next one starts after it; the walk is done past the table's last page.
 * A row that an update moves behind the walk during a run is left to the next run.
 */
export async function purgeBatch(
  tx: Tx,
  target: ExpiryTarget,
  spare: SQL | null,
  after: string | null,
  limit: number,
  windowPages: number = WINDOW_PAGES,
): Promise<BatchResult> {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error('not a batch size');
  if (!Number.isSafeInteger(windowPages) || windowPages < 1) throw new Error('not a window');
  const position = TID.exec(after ?? '(0,0)');
  if (!position) throw new Error(`not a row address: ${String(after).slice(0, 40)}`);
  const block = Number(position[1]);
  const from = `(${block},${Number(position[2])})`;
  const until = `(${block + windowPages},0)`;
  const table = ident(target.table);
  const key = ident(target.key);
  // The window is a subquery of its own (`offset 0` keeps the planner from merging it): read by a
  // TID range scan, never by an index on the cut-off's column that would read the whole index for
  // each window. The batch's rows go by row address, a TID scan: joining on the key made the
  // planner hash the whole table for each batch.
  // NOTE: `last` orders the addresses as tids, then casts: `c::text … order by c` would order the
  // text ('(0,8)' after '(0,13)') and restart a walk behind rows it had already passed.
  const act = target.update
    ? sql`update ${table} t set ${target.update} where t.ctid = any(array(select c from batch)) returning 1`
    : sql`delete from ${table} t where t.ctid = any(array(select c from batch)) returning 1`;
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
  const [row] = await tx.execute<{
    n: number;
    taken: number;
    cascaded: number;
    last: string | null;
    pages: string;
  }>(sql`
    with batch as (
      select ${ROW}.purge_ctid as c, ${ROW}.${key} as k
        from (select ctid as purge_ctid, * from ${table}
               where ctid > ${from}::tid and ctid < ${until}::tid offset 0) as ${ROW}
       where ${condition(target, spare)}
       order by ${ROW}.purge_ctid limit ${limit}
    )${sql.join(cascades, sql``)},
    done as (${act})
    select (select count(*) from done)::int as n,
           (select count(*) from batch)::int as taken,
           (${cascaded.length ? sql.join(cascaded, sql` + `) : sql`0`})::int as cascaded,
           (select b.c from batch b order by b.c desc limit 1)::text as last,
           (pg_relation_size(${target.table}::regclass) / current_setting('block_size')::int)::text as pages`);
  const taken = row?.taken ?? 0;
  const removed = row?.n ?? 0;
  const result = { removed, cascaded: row?.cascaded ?? 0 };
  // A full batch: continue right after its last row, in the same window.
  if (taken >= limit && row?.last) return { ...result, last: row.last, done: false };
  // The window is through: the next batch starts at the next window, unless the table ends here.
  const next = block + windowPages;
  // `(n,0)` is no row (offsets start at 1): after it is the whole of page n.
  return { ...result, last: `(${next},0)`, done: next >= Number(row?.pages ?? 0) };
}
