import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, ilike, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
import { staffIdOf, type Actor, type StaffActor } from '#app/modules/actor.ts';
import { rolePermissions, sessions, staff, staffRoles } from '#app/db/schema.ts';
import { now } from '#app/modules/clock.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { hashPassword, passwordProblem } from './password.server.ts';
import { isRole, SECOND_PERSON_PERMISSIONS, type Role } from './permissions.ts';
import type { StaffSort } from './staff.ts';

/** Runs `work` in the caller's transaction, or in a new one. */
function within<T>(tx: Tx | undefined, work: (tx: Tx) => Promise<T>): Promise<T> {
  return tx ? work(tx) : getDb().transaction(work);
}

export class StaffError extends Error {
  constructor(
    public field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface NewStaff {
  email: string;
  displayName: string;
  password: string;
  roles: Role[];
  mustChangePassword: boolean;
  isDemo?: boolean;
}

function normalEmail(email: string) {
  return email.trim().toLowerCase();
}

/**
 * The roles among `roles` that hold a permission reaching personal data or deciding access, by the
 * live mapping in the database: given only with a second person's approval (law 5, ADR 021).
 */
export async function rolesNeedingSecondPerson(tx: Db | Tx, roles: readonly Role[]) {
  if (roles.length === 0) return [];
  const rows = await tx
    .selectDistinct({ role: rolePermissions.roleCode })
    .from(rolePermissions)
    .where(
      and(
        inArray(rolePermissions.roleCode, [...roles]),
        inArray(rolePermissions.permissionCode, [...SECOND_PERSON_PERMISSIONS]),
      ),
    );
  const held = new Set(rows.map((r) => r.role));
  return roles.filter((r) => held.has(r));
}

/**
 * Who may give roles at once: the command line on the server (it bootstraps the first admin and
 * is run by whoever runs the server) gives any; a staff member only roles that need no second
 * person, and the rest wait (access/role-requests.server.ts). Anyone else gives none.
 */
function exemptFromSecondPerson(actor: Actor) {
  if (actor.kind === 'command-line') return true;
  if (actor.kind === 'staff') return false;
  throw new StaffError('roles', 'Only a staff member or the command line gives roles');
}

/**
 * Staff accounts are created by an admin (staff:manage) or by the command line on the server.
 * Roles an admin may not give alone are not given: they come back as `pending`, for the caller to
 * ask a second person for in the same transaction.
 */
export async function createStaff(
  input: NewStaff,
  actor: Actor,
  outer?: Tx,
): Promise<{ id: string; pending: Role[] }> {
  const problem = passwordProblem(input.password);
  if (problem) throw new StaffError('password', problem);
  const wanted = [...new Set(input.roles)];
  if (wanted.some((r) => !isRole(r))) throw new StaffError('roles', 'Unknown role');
  const exempt = exemptFromSecondPerson(actor);
  const passwordHash = await hashPassword(input.password);
  const id = randomUUID();
  const at = now();
  return within(outer, async (tx) => {
    const pending = exempt ? [] : await rolesNeedingSecondPerson(tx, wanted);
    const roles = wanted.filter((r) => !pending.includes(r));
    const [taken] = await tx
      .select({ id: staff.id })
      .from(staff)
      .where(sql`lower(${staff.email}) = ${normalEmail(input.email)}`);
    if (taken) throw new StaffError('email', 'A staff account with this email already exists');
    await tx.insert(staff).values({
      id,
      email: normalEmail(input.email),
      displayName: input.displayName.trim(),
      passwordHash,
      mustChangePassword: input.mustChangePassword,
      isDemo: input.isDemo ?? false,
      createdAt: at,
      passwordChangedAt: at,
    });
    if (roles.length) {
      await tx.insert(staffRoles).values(
        roles.map((roleCode) => ({
          staffId: id,
          roleCode,
          grantedAt: at,
          grantedBy: staffIdOf(actor),
        })),
      );
    }
    await recordAudit(
      actor,
      {
        action: 'staff.create',
        outcome: 'allowed',
        subjectStaffId: id,
        details: {
          roles: [...roles].sort(),
          ...(pending.length ? { pending: [...pending].sort() } : {}),
          ...(actor.kind === 'command-line' ? { command: actor.name } : {}),
        },
      },
      tx,
    );
    return { id, pending };
  });
}

/** Ends every session of the account at once and revokes what later issues hang off it. */
async function endSessions(tx: Tx, staffId: string) {
  await tx.delete(sessions).where(eq(sessions.staffId, staffId));
}

/**
 * Enables or disables an account; disabling ends its sessions. The grants it holds are the access
 * module's: `disableStaff` there runs both in one transaction (pass it as `tx`).
 */
export async function setStaffStatus(
  staffId: string,
  status: 'active' | 'disabled',
  actor: Actor,
  tx?: Tx,
) {
  if (staffId === staffIdOf(actor) && status === 'disabled') {
    throw new StaffError('status', 'You cannot disable your own account');
  }
  await within(tx, async (tx) => {
    const [row] = await tx
      .update(staff)
      .set({ status, disabledAt: status === 'disabled' ? now() : null })
      .where(eq(staff.id, staffId))
      .returning({ id: staff.id });
    if (!row) throw new StaffError('staffId', 'No such staff account');
    if (status === 'disabled') await endSessions(tx, staffId);
    await recordAudit(
      actor,
      {
        action: status === 'disabled' ? 'staff.disable' : 'staff.enable',
        outcome: 'allowed',
        subjectStaffId: staffId,
        details: {},
      },
      tx,
    );
  });
}

/**
 * An admin requires a second factor of an account whose roles do not need one, or stops
 * requiring it (ADR 035). An account required to have one and without it is held to
 * /account/security from its next request.
 */
export async function setSecondFactorRequired(staffId: string, required: boolean, actor: Actor) {
  await getDb().transaction(async (tx) => {
    const [row] = await tx
      .update(staff)
      .set({ secondFactorRequired: required })
      .where(eq(staff.id, staffId))
      .returning({ id: staff.id });
    if (!row) throw new StaffError('staffId', 'No such staff account');
    await recordAudit(
      actor,
      {
        action: 'staff.second_factor_required',
        outcome: 'allowed',
        subjectStaffId: staffId,
        details: { required },
      },
      tx,
    );
  });
}

/**
 * Sets the account's roles as far as `actor` may alone: removals and roles that need no second
 * person apply at once; roles that do come back as `pending` (ADR 021), for the caller to ask a
 * second person for in the same transaction (`outer`).
 */
export async function setStaffRoles(
  staffId: string,
  roles: Role[],
  actor: Actor,
  outer?: Tx,
): Promise<{ pending: Role[] }> {
  if (staffId === staffIdOf(actor))
    throw new StaffError('roles', 'Nobody can change their own roles');
  const wanted = [...new Set(roles)];
  if (wanted.some((r) => !isRole(r))) throw new StaffError('roles', 'Unknown role');
  const exempt = exemptFromSecondPerson(actor);
  return within(outer, async (tx) => {
    const [row] = await tx
      .select({ id: staff.id })
      .from(staff)
      .where(eq(staff.id, staffId))
      .for('update');
    if (!row) throw new StaffError('staffId', 'No such staff account');
    const before = (
      await tx
        .select({ role: staffRoles.roleCode })
        .from(staffRoles)
        .where(eq(staffRoles.staffId, staffId))
    )
      .map((r) => r.role as Role)
      .sort();
    const added = wanted.filter((r) => !before.includes(r));
    const pending = exempt ? [] : await rolesNeedingSecondPerson(tx, added);
    const after = [...before.filter((r) => wanted.includes(r)), ...added]
      .filter((r) => !pending.includes(r))
      .sort();
    if (after.join() === before.join()) return { pending };
    await tx.delete(staffRoles).where(eq(staffRoles.staffId, staffId));
    if (after.length) {
      await tx.insert(staffRoles).values(
        after.map((roleCode) => ({
          staffId,
          roleCode,
          grantedAt: now(),
          grantedBy: staffIdOf(actor),
        })),
      );
    }
    await recordAudit(
      actor,
      {
        action: 'staff.roles_change',
        outcome: 'allowed',
        subjectStaffId: staffId,
        details: { before, after },
      },
      tx,
    );
    return { pending };
  });
}

/**
 * Adds approved roles to an account (those not held yet), for the approval of a role request
 * (access/role-requests.server.ts), which checks the second person and records the change.
 */
export async function addApprovedRoles(
  tx: Tx,
  staffId: string,
  roles: readonly Role[],
  approverId: string,
): Promise<{ before: Role[]; after: Role[] }> {
  const held = async () =>
    (
      await tx
        .select({ role: staffRoles.roleCode })
        .from(staffRoles)
        .where(eq(staffRoles.staffId, staffId))
    )
      .map((r) => r.role as Role)
      .sort();
  const before = await held();
  const missing = roles.filter((r) => !before.includes(r));
  if (missing.length) {
    await tx
      .insert(staffRoles)
      .values(
        missing.map((roleCode) => ({ staffId, roleCode, grantedAt: now(), grantedBy: approverId })),
      );
  }
  return { before, after: await held() };
}

/** The staff member changes their own password; their other sessions end. */
export async function changePassword(actor: StaffActor, password: string) {
  const staffId = actor.staffId;
  const problem = passwordProblem(password);
  if (problem) throw new StaffError('password', problem);
  const passwordHash = await hashPassword(password);
  await getDb().transaction(async (tx) => {
    await tx
      .update(staff)
      .set({ passwordHash, mustChangePassword: false, passwordChangedAt: now() })
      .where(eq(staff.id, staffId));
    // Other sessions of the account end: a changed password shuts out whoever knew the old one.
    await tx
      .delete(sessions)
      .where(
        and(
          eq(sessions.staffId, staffId),
          actor.sessionId ? sql`${sessions.id} <> ${actor.sessionId}` : undefined,
        ),
      );
    await recordAudit(
      actor,
      { action: 'auth.password_change', outcome: 'allowed', subjectStaffId: staffId, details: {} },
      tx,
    );
  });
}

export async function findStaffForSignIn(email: string) {
  const [row] = await getDb()
    .select({
      id: staff.id,
      email: staff.email,
      displayName: staff.displayName,
      passwordHash: staff.passwordHash,
      status: staff.status,
      roles: sql<
        Role[]
      >`coalesce((select array_agg(role_code order by role_code) from console.staff_roles r where r.staff_id = ${staff.id}), '{}')`,
    })
    .from(staff)
    .where(sql`lower(${staff.email}) = ${normalEmail(email)}`);
  return row ?? null;
}

export async function getStaffDetail(staffId: string) {
  const [row] = await getDb()
    .select({
      id: staff.id,
      email: staff.email,
      displayName: staff.displayName,
      status: staff.status,
      mustChangePassword: staff.mustChangePassword,
      secondFactorRequired: staff.secondFactorRequired,
      hasSecondFactor: sql<boolean>`exists(select 1 from console.staff_factors f
        where f.staff_id = ${staff.id} and f.confirmed_at is not null)`,
      createdAt: staff.createdAt,
      disabledAt: staff.disabledAt,
      roles: sql<
        string[]
      >`coalesce((select array_agg(role_code order by role_code) from console.staff_roles r where r.staff_id = ${staff.id}), '{}')`,
    })
    .from(staff)
    .where(eq(staff.id, staffId));
  return row ?? null;
}

export interface StaffListQuery {
  q?: string;
  role?: Role;
  status?: 'active' | 'disabled';
  sort: StaffSort;
  dir: 'asc' | 'desc';
  after?: { value: string; id: string };
  limit: number;
}

/** One page of staff, keyset-paged on (sort column, id). */
export async function listStaff(query: StaffListQuery) {
  const column = { name: staff.displayName, email: staff.email, created: staff.createdAt }[
    query.sort
  ];
  const filters: (SQL | undefined)[] = [];
  if (query.q) {
    const like = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    filters.push(or(ilike(staff.email, like), ilike(staff.displayName, like)));
  }
  if (query.status) filters.push(eq(staff.status, query.status));
  if (query.role) {
    filters.push(
      inArray(
        staff.id,
        getDb()
          .select({ id: staffRoles.staffId })
          .from(staffRoles)
          .where(eq(staffRoles.roleCode, query.role)),
      ),
    );
  }
  if (query.after) {
    const value = query.sort === 'created' ? new Date(query.after.value) : query.after.value;
    const cmp = query.dir === 'asc' ? gt : lt;
    filters.push(or(cmp(column, value), and(eq(column, value), cmp(staff.id, query.after.id))));
  }
  const order = query.dir === 'asc' ? asc : desc;
  const rows = await getDb()
    .select({
      id: staff.id,
      email: staff.email,
      displayName: staff.displayName,
      status: staff.status,
      createdAt: staff.createdAt,
      roles: sql<
        string[]
      >`coalesce((select array_agg(role_code order by role_code) from console.staff_roles r where r.staff_id = ${staff.id}), '{}')`,
    })
    .from(staff)
    .where(and(...filters))
    .orderBy(order(column), order(staff.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  const next =
    rows.length > query.limit && last
      ? {
          value:
            query.sort === 'created'
              ? last.createdAt.toISOString()
              : query.sort === 'name'
                ? last.displayName
                : last.email,
          id: last.id,
        }
      : undefined;
  return { rows: page, next };
}

/** Every staff member as a choice for a filter (disabled accounts included), by name. */
export async function staffChoices(limit = 1_000) {
  const rows = await getDb()
    .select({ id: staff.id, name: staff.displayName, email: staff.email })
    .from(staff)
    .orderBy(asc(staff.displayName), asc(staff.id))
    .limit(limit);
  return rows.map((r) => ({ id: r.id, label: `${r.name} (${r.email})` }));
}

/** An account's email and status, read in the caller's transaction; null when there is none. */
export async function accountOf(staffId: string, tx: Db | Tx = getDb()) {
  const [row] = await tx
    .select({ email: staff.email, accountStatus: staff.status })
    .from(staff)
    .where(eq(staff.id, staffId));
  return row ?? null;
}

/** The ids of the accounts with these emails (as stored, lower case), by email. */
export async function staffIdsByEmail(emails: readonly string[]) {
  if (emails.length === 0) return new Map<string, string>();
  const rows = await getDb()
    .select({ id: staff.id, email: staff.email })
    .from(staff)
    .where(inArray(staff.email, [...emails]));
  return new Map(rows.map((r) => [r.email, r.id]));
}

/** A staff account as single sign-on matches it (ADR 039). */
export interface ProviderCandidate {
  id: string;
  email: string;
  displayName: string;
  status: 'active' | 'disabled';
  idpIssuer: string | null;
  idpSubject: string | null;
}

/**
 * The accounts a provider's person may be: the one linked to (issuer, subject), and the one whose
 * email is `email` (pass it only when the provider says it is verified).
 */
export async function findStaffForProvider(
  issuer: string,
  subject: string,
  email: string | null,
): Promise<{ linked: ProviderCandidate | null; byEmail: ProviderCandidate | null }> {
  const columns = {
    id: staff.id,
    email: staff.email,
    displayName: staff.displayName,
    status: staff.status,
    idpIssuer: staff.idpIssuer,
    idpSubject: staff.idpSubject,
  };
  const [linked] = await getDb()
    .select(columns)
    .from(staff)
    .where(and(eq(staff.idpIssuer, issuer), eq(staff.idpSubject, subject)));
  const [byEmail] = email
    ? await getDb()
        .select(columns)
        .from(staff)
        .where(sql`lower(${staff.email}) = ${normalEmail(email)}`)
    : [];
  return { linked: linked ?? null, byEmail: byEmail ?? null };
}

/** Links the account to the provider's person; false when another sign-in linked it first. */
export async function linkProviderAccount(
  tx: Tx,
  staffId: string,
  issuer: string,
  subject: string,
): Promise<boolean> {
  const rows = await tx
    .update(staff)
    .set({ idpIssuer: issuer, idpSubject: subject })
    .where(and(eq(staff.id, staffId), sql`${staff.idpSubject} is null`))
    .returning({ id: staff.id });
  return rows.length === 1;
}

/**
 * Sets the account's roles to exactly `roles`, as the identity provider's groups map them at a
 * single sign-on (ADR 039): the provider's own process is the second person, so nothing waits.
 * The caller records the change (and alerts) in the same transaction; unchanged when equal.
 */
export async function setRolesFromProvider(
  tx: Tx,
  staffId: string,
  roles: readonly Role[],
): Promise<{ before: Role[]; after: Role[] }> {
  await tx.select({ id: staff.id }).from(staff).where(eq(staff.id, staffId)).for('update');
  const before = (
    await tx
      .select({ role: staffRoles.roleCode })
      .from(staffRoles)
      .where(eq(staffRoles.staffId, staffId))
  )
    .map((r) => r.role as Role)
    .sort();
  const after = [...new Set(roles)].sort();
  if (after.join() === before.join()) return { before, after };
  await tx.delete(staffRoles).where(eq(staffRoles.staffId, staffId));
  if (after.length) {
    await tx
      .insert(staffRoles)
      .values(after.map((roleCode) => ({ staffId, roleCode, grantedAt: now(), grantedBy: null })));
  }
  return { before, after };
}
