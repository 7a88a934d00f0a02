import { sql } from 'drizzle-orm';
import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
import { NO_CLIENT, type Client, type StaffActor } from '#app/modules/actor.ts';
import { rolesAndPermissions } from './permissions.server.ts';
import type { Permission, Role } from './permissions.ts';

// A staff member as the database holds them at this moment. guard() reads the same facts with the
// session (session.server.ts); a change that decides on roles (a grant's four eyes) reads them
// again inside its own transaction, so a role removed a moment ago no longer counts.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CurrentStaff extends StaffActor {
  /** False once the account is disabled (or when it does not exist). */
  active: boolean;
}

interface Row extends Record<string, unknown> {
  email: string;
  display_name: string;
  status: string;
  must_change_password: boolean;
  roles: Role[];
  permissions: Permission[];
}

async function read(staffId: string, tx: Db | Tx): Promise<Row | undefined> {
  if (!UUID.test(staffId)) return undefined;
  const rows = await tx.execute<Row>(sql`
    select st.email, st.display_name, st.status, st.must_change_password, ${rolesAndPermissions()}
    from console.staff st where st.id = ${staffId}`);
  return rows[0];
}

/**
 * `actor` with the roles, permissions and status the database holds now (inside `tx`): what a
 * change decides on, and what its audit entry records.
 */
export async function reloadActor(actor: StaffActor, tx: Db | Tx = getDb()): Promise<CurrentStaff> {
  return asHeld(actor, await read(actor.staffId, tx));
}

function asHeld(actor: StaffActor, row: Row | undefined): CurrentStaff {
  return {
    ...actor,
    roles: row?.roles ?? [],
    permissions: new Set(row?.permissions ?? []),
    mustChangePassword: row?.must_change_password ?? false,
    active: row?.status === 'active',
  };
}

/**
 * A staff member acting outside a console request (a test, a benchmark, the seed): no session,
 * no client, roles as held now. Requests get theirs from guard().
 */
export async function staffActor(
  staffId: string,
  at: { sessionId?: string | null; client?: Client } = {},
  tx: Db | Tx = getDb(),
): Promise<CurrentStaff> {
  const row = await read(staffId, tx);
  return asHeld(
    {
      kind: 'staff',
      staffId,
      email: row?.email ?? '',
      displayName: row?.display_name ?? '',
      roles: [],
      permissions: new Set(),
      sessionId: at.sessionId ?? null,
      client: at.client ?? NO_CLIENT,
      mustChangePassword: false,
    },
    row,
  );
}
