import { sql, type SQL } from 'drizzle-orm';
import type { getSql } from '#app/db/client.server.ts';

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
