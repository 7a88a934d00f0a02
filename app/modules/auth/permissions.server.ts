import { sql, type SQL } from 'drizzle-orm';
import { textArray, uuidArray } from '#app/db/arrays.server.ts';
import { getDb, type getSql } from '#app/db/client.server.ts';

// The one reading of what a staff member holds: their roles (sorted) and the distinct permissions
// of those roles, from the live mapping in console.role_permissions. Select-list columns `roles`
// and `permissions` of the staff row aliased `st`; the text is constant, so a statement built
// with it stays one prepared statement.
const ROLES_AND_PERMISSIONS = `
  coalesce(array(select sr.role_code from console.staff_roles sr
                 where sr.staff_id = st.id order by sr.role_code), '{}') as roles,
  coalesce(array(select distinct rp.permission_code
                 from console.staff_roles sr
                 join console.role_permissions rp on rp.role_code = sr.role_code
                 where sr.staff_id = st.id), '{}') as permissions`;

/** The `roles` and `permissions` columns of staff `st`, in a drizzle query. */
export function rolesAndPermissions(): SQL {
  return sql.raw(ROLES_AND_PERMISSIONS);
}

/** The same columns in a query of the postgres.js client. */
export function rolesAndPermissionsOf(client: ReturnType<typeof getSql>) {
  return client.unsafe(ROLES_AND_PERMISSIONS);
}

/**
 * The ids of active staff members, as a subquery for a FROM clause (column `id`): those listed,
 * or those holding every one of `holdersOf` (or any of `holdersOfAny`) but those in `except`. How other
 * capabilities choose whom to tell (access's notifications), without reading auth's tables.
 */
export function activeStaff(
  who:
    | { staffIds: readonly string[] }
    | { holdersOf: readonly string[]; except?: readonly string[] }
    | { holdersOfAny: readonly string[]; except?: readonly string[] },
): SQL {
  if ('staffIds' in who) {
    return sql`(select st.id from console.staff st
                where st.id = any(${uuidArray(who.staffIds)}) and st.status = 'active')`;
  }
  if ('holdersOfAny' in who) {
    return sql`(select st.id from console.staff st
                where st.status = 'active'
                  and st.id <> all(${uuidArray(who.except ?? [])})
                  and exists (select 1
                              from console.staff_roles sr
                              join console.role_permissions rp on rp.role_code = sr.role_code
                              where sr.staff_id = st.id
                                and rp.permission_code = any(${textArray(who.holdersOfAny)})))`;
  }
  return sql`(select st.id from console.staff st
              where st.status = 'active'
                and st.id <> all(${uuidArray(who.except ?? [])})
                and (select count(distinct rp.permission_code)
                     from console.staff_roles sr
                     join console.role_permissions rp on rp.role_code = sr.role_code
                     where sr.staff_id = st.id
                       and rp.permission_code = any(${textArray(who.holdersOf)}))
                    = ${new Set(who.holdersOf).size})`;
}

/**
 * The roles that hold every one of `permissions` in the live mapping, sorted: how another
 * capability names who may do something (the grant request form names its approvers' roles).
 */
export async function rolesHolding(permissions: readonly string[]): Promise<string[]> {
  const wanted = [...new Set(permissions)];
  if (wanted.length === 0) return [];
  const rows = await getDb().execute<{ role_code: string }>(sql`
    select role_code from console.role_permissions
     where permission_code = any(${textArray(wanted)})
     group by role_code
    having count(distinct permission_code) = ${wanted.length}
     order by role_code`);
  return [...rows].map((r) => r.role_code);
}

/** Whether this staff member is active and holds `permission` now (in `tx`, when given). */
export async function staffHolds(
  staffId: string,
  permission: string,
  tx: Pick<ReturnType<typeof getDb>, 'execute'> = getDb(),
): Promise<boolean> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(staffId))
    return false;
  const rows = await tx.execute<{ ok: boolean }>(sql`
    select exists (select 1 from console.staff st
                     join console.staff_roles sr on sr.staff_id = st.id
                     join console.role_permissions rp on rp.role_code = sr.role_code
                    where st.id = ${staffId} and st.status = 'active'
                      and rp.permission_code = ${permission}) as ok`);
  return [...rows][0]?.ok === true;
}
