import { sql, type SQL } from 'drizzle-orm';
import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
import { rolesAndPermissions } from '#app/modules/auth/permissions.server.ts';

// NOTE: drizzle spreads a JS array inside sql`` into a list of parameters, so `= any(${list})`
// would not be an array; these build a real text[] or uuid[].
export function textArray(values: readonly string[]): SQL {
  return values.length
    ? sql`array[${sql.join(
        values.map((v) => sql`${v}`),
        sql`, `,
      )}]::text[]`
    : sql`'{}'::text[]`;
}

export function uuidArray(values: readonly string[]): SQL {
  return values.length
    ? sql`array[${sql.join(
        values.map((v) => sql`${v}`),
        sql`, `,
      )}]::uuid[]`
    : sql`'{}'::uuid[]`;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StaffState {
  id: string;
  active: boolean;
  roles: string[];
  permissions: Set<string>;
}

/** A staff member's status, roles and permissions as the database holds them now. */
export async function loadStaff(staffId: string, tx: Db | Tx = getDb()): Promise<StaffState> {
  if (!UUID.test(staffId)) return { id: staffId, active: false, roles: [], permissions: new Set() };
  const rows = await tx.execute<{ status: string; roles: string[]; permissions: string[] }>(sql`
    select st.status, ${rolesAndPermissions()}
    from console.staff st where st.id = ${staffId}`);
  const row = rows[0];
  return {
    id: staffId,
    active: row?.status === 'active',
    roles: row?.roles ?? [],
    permissions: new Set(row?.permissions ?? []),
  };
}
