import { Column, getTableName, inArray, is, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { getDb, type getSql } from '#app/db/client.server.ts';
import { staff } from '#app/db/schema.ts';

// Every capability shows who did something (a grant's requester, an entry's actor) by name.
// console.staff belongs to auth, which writes it; the others read a name through these fragments,
// never by joining the table (ADR 009). They sit at the root of app/modules/, beside actor.ts,
// because the trail needs them too and auth depends on the trail. A scalar subquery on the primary
// key: one index probe per row of the page.

/**
 * The display name of the staff member whose id is `id` (a column or an SQL expression). Typed
 * as text for a column that references console.staff; a null id gives null.
 */
export function staffName(id: SQL | AnyColumn): SQL<string> {
  return sql<string>`(select st.display_name from console.staff st where st.id = ${qualified(id)})`;
}

/**
 * A column named with its table. Drizzle writes a column bare in a one-table query, and a bare
 * name inside a subquery binds to the subquery's own table first when it has such a column.
 */
export function qualified(id: SQL | AnyColumn): SQL {
  if (!is(id, Column)) return sql`${id}`;
  return sql`${sql.identifier(getTableName(id.table))}.${sql.identifier(id.name)}`;
}

const COLUMN = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/**
 * The same in a query of the postgres.js client: `column` names the id column (`p.actor_staff_id`);
 * it must be a plain identifier, since it becomes statement text.
 */
export function staffNameOf(client: ReturnType<typeof getSql>, column: string) {
  if (!COLUMN.test(column)) throw new Error(`staffNameOf: not a column name: ${column}`);
  return client.unsafe(`(select st.display_name from console.staff st where st.id = ${column})`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Display names of these staff members, by id (disabled accounts included). */
export async function staffNames(ids: readonly (string | null | undefined)[]) {
  const wanted = [...new Set(ids.filter((id): id is string => !!id && UUID.test(id)))];
  if (wanted.length === 0) return {} as Record<string, string>;
  const rows = await getDb()
    .select({ id: staff.id, name: staff.displayName })
    .from(staff)
    .where(inArray(staff.id, wanted));
  return Object.fromEntries(rows.map((r) => [r.id, r.name])) as Record<string, string>;
}
