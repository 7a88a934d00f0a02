import { randomBytes, randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, lt, or, sql, type SQL } from 'drizzle-orm';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { roleRequests } from '#app/db/schema.ts';
import type { Actor, StaffActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { reloadActor, staffActor } from '#app/modules/auth/actor.server.ts';
import { replaceCredentialsWithLink } from '#app/modules/auth/password-links.server.ts';
import type { Permission, Role } from '#app/modules/auth/permissions.ts';
import {
  accountOf,
  addApprovedRoles,
  createStaff,
  staffIdsByEmail,
  setStaffRoles,
  type NewStaff,
} from '#app/modules/auth/staff.server.ts';
import type { RoleRequestStatus } from '#app/modules/auth/vocabulary.ts';
import { now } from '#app/modules/clock.server.ts';
import { staffEmail, staffMatches, staffName } from '#app/modules/staff-names.server.ts';
import { notify } from './notifications.server.ts';

// Law 5 for roles (ADR 021): a role that reaches personal data or decides access is given only
// when a second person approves — another admin or a security reviewer, never the one who asked
// nor the account's holder. The approval ends the account's password and sessions and issues a
// one-time link, so whoever asked holds no usable credential for it. The command line on the
// server (bootstrapping the first admin) is exempt (auth/staff.server.ts).

/** Who may decide a role request (besides being neither its requester nor its subject). */
export const ROLE_APPROVER_PERMISSIONS = [
  'staff:manage',
  'security:review',
] as const satisfies readonly Permission[];

export type RoleDecision = 'approve' | 'reject' | 'withdraw';

/** Why a decision was refused; each is recorded before the refusal is answered. */
export type RoleRefusal =
  | 'not_found'
  | 'not_pending'
  | 'own_request'
  | 'own_account'
  | 'missing_permission'
  | 'not_requester'
  | 'account_disabled';

export type RoleDecisionResult =
  | {
      ok: true;
      decision: 'approve';
      staffId: string;
      email: string;
      token: string;
      expiresAt: Date;
    }
  | { ok: true; decision: 'reject' | 'withdraw'; staffId: string }
  | { ok: false; reason: RoleRefusal };

const ACTIONS = {
  approve: 'staff.role_approve',
  reject: 'staff.role_reject',
  withdraw: 'staff.role_withdraw',
} as const;

/**
 * Asks a second person for `roles` on the account, in the caller's transaction: a pending request
 * for the same account is superseded (unless it asks for exactly these roles, then it stays), the
 * approvers are alerted, and the request is recorded.
 */
async function askSecondPerson(tx: Tx, staffId: string, roles: Role[], requester: StaffActor) {
  const wanted = [...new Set(roles)].sort();
  const [open] = await tx
    .select({ id: roleRequests.id, roles: roleRequests.roles })
    .from(roleRequests)
    .where(and(eq(roleRequests.staffId, staffId), eq(roleRequests.status, 'pending')))
    .for('update');
  if (open && [...open.roles].sort().join() === wanted.join()) return open.id;
  const at = now();
  if (open) {
    await tx
      .update(roleRequests)
      .set({ status: 'superseded', decidedBy: requester.staffId, decidedAt: at })
      .where(eq(roleRequests.id, open.id));
    await recordAudit(
      requester,
      {
        action: 'staff.role_withdraw',
        outcome: 'allowed',
        subjectStaffId: staffId,
        details: { request: open.id, roles: [...open.roles].sort(), basis: 'superseded' },
      },
      tx,
    );
  }
  const id = randomUUID();
  await tx.insert(roleRequests).values({
    id,
    staffId,
    roles: wanted,
    requestedBy: requester.staffId,
    requestedAt: at,
  });
  await notify(
    {
      kind: 'staff.role_requested',
      to: { holdersOfAny: ROLE_APPROVER_PERMISSIONS, except: [requester.staffId, staffId] },
      subjectStaffId: staffId,
    },
    tx,
  );
  await recordAudit(
    requester,
    {
      action: 'staff.role_request',
      outcome: 'allowed',
      subjectStaffId: staffId,
      details: { request: id, roles: wanted, ...(open ? { replaces: open.id } : {}) },
    },
    tx,
  );
  return id;
}

/**
 * Creates a staff account (an admin at /admin/staff/new, or the command line): roles that need a
 * second person wait in a request, made in the same transaction.
 */
export async function addStaff(
  input: NewStaff,
  actor: Actor,
): Promise<{ id: string; pending: Role[] }> {
  return getDb().transaction(async (tx) => {
    const created = await createStaff(input, actor, tx);
    if (created.pending.length && actor.kind === 'staff') {
      await askSecondPerson(tx, created.id, created.pending, actor);
    }
    return created;
  });
}

/**
 * Sets an account's roles as an admin: removals and roles that need no second person at once,
 * the others in a request for a second person (in the same transaction).
 */
export async function changeStaffRoles(
  staffId: string,
  roles: Role[],
  actor: StaffActor,
): Promise<{ pending: Role[] }> {
  return getDb().transaction(async (tx) => {
    const { pending } = await setStaffRoles(staffId, roles, actor, tx);
    if (pending.length) await askSecondPerson(tx, staffId, pending, actor);
    return { pending };
  });
}

/**
 * Approves, rejects or withdraws a pending request. Approving and rejecting take another admin
 * or a security reviewer, neither the requester nor the account's holder, judged on the roles
 * the decider holds inside this transaction; withdrawing takes the requester. Approval adds the
 * roles, ends the account's password and sessions and returns the one-time link's token (shown
 * once, stored only hashed). A refusal is recorded as denied, and committed, before it returns.
 */
export async function decideRoleRequest(input: {
  requestId: string;
  decision: RoleDecision;
  actor: StaffActor;
}): Promise<RoleDecisionResult> {
  const { requestId, decision } = input;
  return getDb().transaction(async (tx) => {
    const actor = await reloadActor(input.actor, tx);
    const [locked] = await tx
      .select({
        staffId: roleRequests.staffId,
        roles: roleRequests.roles,
        requestedBy: roleRequests.requestedBy,
        status: roleRequests.status,
      })
      .from(roleRequests)
      .where(eq(roleRequests.id, requestId))
      .for('update');
    const account = locked ? await accountOf(locked.staffId, tx) : null;
    const request = locked && account ? { ...locked, ...account } : undefined;
    const roles = request ? ([...request.roles].sort() as Role[]) : [];
    const refuse = async (reason: RoleRefusal): Promise<RoleDecisionResult> => {
      await recordAudit(
        actor,
        {
          action: ACTIONS[decision],
          outcome: 'denied',
          subjectStaffId: request?.staffId ?? null,
          details: { request: requestId, reason },
        },
        tx,
      );
      return { ok: false, reason };
    };
    if (!request) return refuse('not_found');
    if (decision === 'withdraw') {
      if (request.requestedBy !== actor.staffId) return refuse('not_requester');
    } else {
      if (!actor.active || !ROLE_APPROVER_PERMISSIONS.some((p) => actor.permissions.has(p))) {
        return refuse('missing_permission');
      }
      if (request.requestedBy === actor.staffId) return refuse('own_request');
      if (request.staffId === actor.staffId) return refuse('own_account');
    }
    if (request.status !== 'pending') return refuse('not_pending');
    if (decision === 'approve' && request.accountStatus !== 'active') {
      return refuse('account_disabled');
    }
    const at = now();
    const status: RoleRequestStatus =
      decision === 'approve' ? 'approved' : decision === 'reject' ? 'rejected' : 'withdrawn';
    await tx
      .update(roleRequests)
      .set({ status, decidedBy: actor.staffId, decidedAt: at })
      .where(eq(roleRequests.id, requestId));
    if (decision !== 'approve') {
      await recordAudit(
        actor,
        {
          action: ACTIONS[decision],
          outcome: 'allowed',
          subjectStaffId: request.staffId,
          details:
            decision === 'withdraw'
              ? { request: requestId, roles, basis: 'withdrawn' }
              : { request: requestId, roles },
        },
        tx,
      );
      return { ok: true, decision, staffId: request.staffId };
    }
    const change = await addApprovedRoles(tx, request.staffId, roles, actor.staffId);
    const link = await replaceCredentialsWithLink(tx, request.staffId, actor.staffId);
    await recordAudit(
      actor,
      {
        action: 'staff.role_approve',
        outcome: 'allowed',
        subjectStaffId: request.staffId,
        details: { request: requestId, roles, before: change.before, after: change.after },
      },
      tx,
    );
    return {
      ok: true,
      decision,
      staffId: request.staffId,
      email: request.email,
      token: link.token,
      expiresAt: link.expiresAt,
    };
  });
}

// --- the list on /admin/staff/requests ---------------------------------------------------------

export const ROLE_REQUEST_SORTS = ['requested', 'name'] as const;
export type RoleRequestSort = (typeof ROLE_REQUEST_SORTS)[number];

export interface RoleRequestQuery {
  status?: RoleRequestStatus;
  q?: string;
  sort: RoleRequestSort;
  dir: 'asc' | 'desc';
  after?: { value: string; id: string };
  limit: number;
}

/** One page of role requests (pending first by default), keyset-paged on (sort column, id). */
export async function listRoleRequests(query: RoleRequestQuery) {
  const column: SQL =
    query.sort === 'name' ? staffName(roleRequests.staffId) : sql`${roleRequests.requestedAt}`;
  const filters: (SQL | undefined)[] = [];
  if (query.status) filters.push(eq(roleRequests.status, query.status));
  if (query.q) filters.push(staffMatches(roleRequests.staffId, query.q));
  if (query.after) {
    const value =
      query.sort === 'name' ? query.after.value : new Date(query.after.value).toISOString();
    const cmp = query.dir === 'asc' ? gt : lt;
    filters.push(
      or(cmp(column, value), and(eq(column, value), cmp(roleRequests.id, query.after.id))),
    );
  }
  const order = query.dir === 'asc' ? asc : desc;
  const rows = await getDb()
    .select({
      id: roleRequests.id,
      staffId: roleRequests.staffId,
      staffName: staffName(roleRequests.staffId),
      staffEmail: staffEmail(roleRequests.staffId),
      roles: sql<Role[]>`${roleRequests.roles}`,
      status: sql<RoleRequestStatus>`${roleRequests.status}`,
      requestedAt: roleRequests.requestedAt,
      requestedBy: roleRequests.requestedBy,
      requesterName: staffName(roleRequests.requestedBy),
      decidedAt: roleRequests.decidedAt,
      deciderName: sql<string | null>`${staffName(roleRequests.decidedBy)}`,
    })
    .from(roleRequests)
    .where(and(...filters))
    .orderBy(order(column), order(roleRequests.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  const next =
    rows.length > query.limit && last
      ? {
          value: query.sort === 'name' ? last.staffName : last.requestedAt.toISOString(),
          id: last.id,
        }
      : undefined;
  return { rows: page, next };
}

/** The pending request of one account, if any (its staff page shows it). */
export async function pendingRoleRequestOf(staffId: string) {
  const [row] = await getDb()
    .select({
      id: roleRequests.id,
      roles: sql<Role[]>`${roleRequests.roles}`,
      requestedAt: roleRequests.requestedAt,
      requestedBy: roleRequests.requestedBy,
      requesterName: staffName(roleRequests.requestedBy),
    })
    .from(roleRequests)
    .where(and(eq(roleRequests.staffId, staffId), eq(roleRequests.status, 'pending')));
  return row ?? null;
}

// --- demo data -------------------------------------------------------------------------------

/** The demo's newcomer: asked for by the first demo admin, waiting for a second person. */
export const DEMO_NEWCOMER = {
  email: 'newcomer@custodian.test',
  displayName: 'Noa Newcomer',
  roles: ['security_auditor'] as Role[],
  requestedBy: 'admin@custodian.test',
};

/**
 * Seeds one pending role request through the real path (the first demo admin adds the newcomer
 * as a security auditor; the other admin and the auditor are alerted), once.
 */
export async function ensureDemoRoleRequest() {
  const ids = await staffIdsByEmail([DEMO_NEWCOMER.email, DEMO_NEWCOMER.requestedBy]);
  const adminId = ids.get(DEMO_NEWCOMER.requestedBy);
  if (!adminId || ids.has(DEMO_NEWCOMER.email)) return;
  await addStaff(
    {
      email: DEMO_NEWCOMER.email,
      displayName: DEMO_NEWCOMER.displayName,
      // Nobody learns it: the approval replaces it with a one-time link.
      password: randomBytes(18).toString('base64url'),
      roles: DEMO_NEWCOMER.roles,
      mustChangePassword: true,
      isDemo: true,
    },
    await staffActor(adminId),
  );
}
