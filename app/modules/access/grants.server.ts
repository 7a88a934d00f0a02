import { randomUUID } from 'node:crypto';
import { and, count, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { env } from '#app/config.server.ts';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { grantDecisions, grants } from '#app/db/schema.ts';
import { job, staffIdOf, type Actor, type StaffActor } from '#app/modules/actor.ts';
import { setStaffStatus } from '#app/modules/auth/staff.server.ts';
import { reloadActor } from '#app/modules/auth/actor.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { ConflictError, ForbiddenError } from '#app/utils/errors.ts';
import { GrantInputError, GrantNotFoundError, GrantRefusedError } from './errors.ts';
import { breakGlassSchema, commentSchema, grantRequestSchema } from './input.server.ts';
import { notify } from './notifications.server.ts';
import { getPolicies } from './policies.server.ts';
import { BOUND_REASONS, isBoundReason, purposeReader } from './purposes.server.ts';
import { inTransaction, lacks, parseInput, refuse } from './run.server.ts';
import {
  DECISIONS,
  GRANT_LIMITS,
  strictestPolicy,
  type Decision,
  type GrantPolicy,
  type GrantStatus,
  type RevokeBasis,
} from './vocabulary.ts';

// The life of a just-in-time grant: request → decisions → approved (live from starts_at until
// ends_at) → revoked or expired; or break-glass, live at once and reviewed afterwards. Each
// function is one transaction with its audit entry (see ./run.server.ts for refusals).

let compiledTicketPattern: { source: string; pattern: RegExp } | undefined;

/** CUSTODIAN_TICKET_PATTERN, compiled once per value. */
export function ticketPattern(): RegExp {
  const source = env().CUSTODIAN_TICKET_PATTERN;
  if (compiledTicketPattern?.source !== source) {
    compiledTicketPattern = { source, pattern: new RegExp(source) };
  }
  return compiledTicketPattern.pattern;
}

const minutes = (n: number) => n * 60_000;

async function userExists(tx: Tx, userId: string) {
  const rows = await tx.execute(sql`select 1 from product.users where id = ${userId}`);
  return rows.length > 0;
}

/** The longest a grant of these categories may last, and which category sets that bound. */
function durationBound(policies: GrantPolicy[], ceiling: number) {
  let bound = { minutes: ceiling, category: undefined as DataCategory | undefined };
  for (const p of policies) {
    if (p.maxDurationMinutes < bound.minutes) {
      bound = { minutes: p.maxDurationMinutes, category: p.category };
    }
  }
  return bound;
}

function durationProblem(requested: number, bound: ReturnType<typeof durationBound>) {
  if (requested <= bound.minutes) return undefined;
  return bound.category
    ? `Duration must be at most ${bound.minutes} minutes: the policy for ${bound.category} allows no longer`
    : `Duration must be at most ${bound.minutes} minutes`;
}

async function lockGrant(tx: Tx, grantId: string) {
  const [row] = await tx.select().from(grants).where(eq(grants.id, grantId)).for('update');
  if (!row) throw new GrantNotFoundError();
  return row;
}

// ---------------------------------------------------------------------------------------------

/** Form values may come as they are: the function validates every field itself. */
export interface RequestGrantInput {
  requester: StaffActor;
  userId: string;
  categories: readonly string[];
  reasonCode: string;
  justification: string;
  ticketRef: string;
  durationMinutes: number | string;
  startsAt?: Date | string | null;
  /** With reason support_inquiry: the open inquiry of this user assigned to the requester. */
  inquiryId?: string | null;
  /** With reason privacy_request: the open privacy request of this user assigned to the requester. */
  privacyRequestId?: string | null;
}

export interface RequestedGrant {
  grantId: string;
  status: 'pending';
  categories: DataCategory[];
  durationMinutes: number;
  requestedStartAt: Date | null;
  requestExpiresAt: Date;
  approvalsNeeded: number;
  approverPermissions: string[];
}

/** A staff member (grants:request) asks for access to one user's data categories. */
export async function requestGrant(input: RequestGrantInput): Promise<RequestedGrant> {
  const { requester, ...fields } = input;
  const request = parseInput(grantRequestSchema(ticketPattern()), {
    ...fields,
    startsAt: fields.startsAt || undefined,
    inquiryId: fields.inquiryId || undefined,
    privacyRequestId: fields.privacyRequestId || undefined,
  });
  // Purpose binding (ADR 034): these reasons name their purpose; the others never do.
  const purposeId = isBoundReason(request.reasonCode)
    ? request[BOUND_REASONS[request.reasonCode].field]
    : undefined;
  for (const [reason, { field, noun }] of Object.entries(BOUND_REASONS)) {
    if (request[field] && request.reasonCode !== reason) {
      throw new GrantInputError({ [field]: `Only a grant for a ${noun} names one` });
    }
  }
  const at = now();
  let requestedStartAt: Date | null = null;
  if (request.startsAt) {
    if (request.startsAt.getTime() < at.getTime() - GRANT_LIMITS.startSkewMs) {
      throw new GrantInputError({ startsAt: 'Start must not be in the past' });
    }
    if (request.startsAt.getTime() > at.getTime() + GRANT_LIMITS.maxStartAheadMs) {
      throw new GrantInputError({ startsAt: 'Start must be within the next 7 days' });
    }
    if (request.startsAt.getTime() > at.getTime()) requestedStartAt = request.startsAt;
  }
  return inTransaction(async (tx) => {
    const actor = await reloadActor(requester, tx);
    const event = {
      action: 'grant.request' as const,
      userId: request.userId,
      details: { categories: request.categories, reasonCode: request.reasonCode },
    };
    const refusal = lacks(actor, 'grants:request');
    if (refusal) return refuse(tx, actor, event, refusal);
    if (!(await userExists(tx, request.userId))) {
      throw new GrantInputError({ userId: 'No user has this id' });
    }
    const policies = await getPolicies(request.categories, tx);
    const strict = strictestPolicy(policies);
    const tooLong = durationProblem(
      request.durationMinutes,
      durationBound(policies, GRANT_LIMITS.maxDurationCapMinutes),
    );
    if (tooLong) throw new GrantInputError({ durationMinutes: tooLong });
    if (isBoundReason(request.reasonCode) && !purposeId) {
      const { field, noun } = BOUND_REASONS[request.reasonCode];
      throw new GrantInputError({ [field]: `Choose the ${noun} of this user assigned to you` });
    }
    let bound: { inquiryId: string | null; privacyRequestId: string | null } = {
      inquiryId: null,
      privacyRequestId: null,
    };
    if (purposeId && isBoundReason(request.reasonCode)) {
      const reason = request.reasonCode;
      const { noun } = BOUND_REASONS[reason];
      const read = purposeReader(reason);
      const facts = read ? await read(tx, purposeId) : null;
      const purposeEvent = {
        ...event,
        details: {
          ...event.details,
          ...(reason === 'support_inquiry' ? { inquiry: purposeId } : {}),
        },
        ...(reason === 'privacy_request' && facts ? { privacyRequestId: purposeId } : {}),
      };
      const refusal = !read
        ? new GrantRefusedError(
            `Grants for a ${noun} cannot be bound now.`,
            409,
            'purpose_unavailable',
          )
        : !facts || facts.userId !== request.userId
          ? new GrantRefusedError(`No ${noun} of this user has this id.`, 403, 'purpose_other_user')
          : !facts.open
            ? new GrantRefusedError(`This ${noun} is closed.`, 409, 'purpose_closed')
            : facts.assigneeId !== actor.staffId
              ? new GrantRefusedError(
                  `This ${noun} is not assigned to you.`,
                  403,
                  'purpose_not_assignee',
                )
              : undefined;
      if (refusal) return refuse(tx, actor, purposeEvent, refusal);
      bound =
        reason === 'support_inquiry'
          ? { inquiryId: purposeId, privacyRequestId: null }
          : { inquiryId: null, privacyRequestId: purposeId };
    }

    const grantId = randomUUID();
    const requestExpiresAt = new Date(at.getTime() + GRANT_LIMITS.requestTtlMs);
    await tx.insert(grants).values({
      id: grantId,
      requesterId: actor.staffId,
      userId: request.userId,
      categories: request.categories,
      reasonCode: request.reasonCode,
      justification: request.justification,
      ticketRef: request.ticketRef,
      durationMinutes: request.durationMinutes,
      requestedStartAt,
      approvalsNeeded: strict.approvalsNeeded,
      approverPermissions: strict.approverPermissions,
      status: 'pending',
      createdAt: at,
      requestExpiresAt,
      ...bound,
    });
    await notify(
      {
        kind: 'grant.requested',
        to: { holdersOf: strict.approverPermissions, except: [actor.staffId] },
        grantId,
      },
      tx,
    );
    await recordAudit(
      actor,
      {
        ...event,
        outcome: 'allowed',
        grantId,
        ...(bound.privacyRequestId ? { privacyRequestId: bound.privacyRequestId } : {}),
        details: {
          ...event.details,
          durationMinutes: request.durationMinutes,
          ...(bound.inquiryId ? { inquiry: bound.inquiryId } : {}),
        },
      },
      tx,
    );
    return {
      grantId,
      status: 'pending' as const,
      categories: request.categories,
      durationMinutes: request.durationMinutes,
      requestedStartAt,
      requestExpiresAt,
      approvalsNeeded: strict.approvalsNeeded,
      approverPermissions: strict.approverPermissions,
    };
  });
}

// ---------------------------------------------------------------------------------------------

const DecideSchema = z
  .object({
    grantId: z.uuid('Not a grant id'),
    decision: z.enum(DECISIONS, 'Choose approve or deny'),
    comment: commentSchema.optional(),
  })
  // A denial says why, for the requester; an approval may (issue 13: approve from the list in one
  // click). The table's check says the same (drizzle/0027).
  .refine((d) => d.decision === 'approve' || d.comment !== undefined, {
    path: ['comment'],
    message: 'Comment is required',
  });

export interface DecidedGrant {
  grantId: string;
  status: GrantStatus;
  approvals: number;
  approvalsNeeded: number;
  startsAt: Date | null;
  endsAt: Date | null;
}

/**
 * An approver approves or denies a pending request, with a comment (required to deny). Nobody decides their own
 * request; the approver holds the approver permission of every requested category; each approval
 * comes from a different person; one denial ends the request.
 */
export async function decideGrant(input: {
  grantId: string;
  approver: StaffActor;
  decision: Decision;
  comment?: string;
}): Promise<DecidedGrant> {
  const { grantId, decision, comment } = parseInput(DecideSchema, {
    ...input,
    comment: input.comment?.trim() ? input.comment : undefined,
  });
  return inTransaction(async (tx) => {
    const grant = await lockGrant(tx, grantId);
    const actor = await reloadActor(input.approver, tx);
    const at = now();
    const event = {
      action: decision === 'approve' ? ('grant.approve' as const) : ('grant.deny' as const),
      userId: grant.userId,
      grantId,
      details: {},
    };
    const inactive = lacks(actor);
    if (inactive) return refuse(tx, actor, event, inactive);
    if (grant.requesterId === actor.staffId) {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError('Nobody decides their own request.', 403, 'self_decision'),
      );
    }
    if (grant.status !== 'pending') {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError(`This request is already ${grant.status}.`, 409, 'not_pending'),
      );
    }
    if (grant.requestExpiresAt.getTime() <= at.getTime()) {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError(
          'This request expired: nobody decided it within 24 hours.',
          409,
          'request_expired',
        ),
      );
    }
    // The policy as requested, tightened by any change since: the stricter of the two binds. A
    // grant bound to a privacy request is approved like the request itself (ADR 027): by a
    // holder of privacy:approve, whatever the category's usual approvers. Only while the request
    // is open: closing it withdraws its pending grants in the same transaction, so a closed
    // request's grant is no longer pending here (the row lock above orders the two).
    let required: string[];
    let needed: number;
    if (grant.privacyRequestId && grant.approverPermissions.includes(PURPOSE_APPROVER)) {
      required = [...grant.approverPermissions];
      needed = grant.approvalsNeeded;
    } else {
      const current = strictestPolicy(await getPolicies(grant.categories as DataCategory[], tx));
      required = [...new Set([...grant.approverPermissions, ...current.approverPermissions])];
      needed = Math.max(grant.approvalsNeeded, current.approvalsNeeded);
    }
    for (const permission of required.sort()) {
      const missing = lacks(actor, permission);
      if (missing) return refuse(tx, actor, event, missing);
    }
    const [already] = await tx
      .select({ decision: grantDecisions.decision })
      .from(grantDecisions)
      .where(
        and(eq(grantDecisions.grantId, grantId), eq(grantDecisions.approverId, actor.staffId)),
      );
    if (already) {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError(
          'You have already decided on this request; another person must give the next approval.',
          409,
          'already_decided',
        ),
      );
    }

    await tx.insert(grantDecisions).values({
      grantId,
      approverId: actor.staffId,
      decision,
      comment: comment ?? null,
      decidedAt: at,
    });
    const [tally] = await tx
      .select({ n: count() })
      .from(grantDecisions)
      .where(and(eq(grantDecisions.grantId, grantId), eq(grantDecisions.decision, 'approve')));
    const approvals = tally?.n ?? 0;

    if (decision === 'deny') {
      await tx
        .update(grants)
        .set({ status: 'denied', decidedAt: at, closedAt: at })
        .where(eq(grants.id, grantId));
      await notify({ kind: 'grant.denied', to: { staffIds: [grant.requesterId] }, grantId }, tx);
      await recordAudit(actor, { ...event, action: 'grant.deny', outcome: 'allowed' }, tx);
      return {
        grantId,
        status: 'denied' as const,
        approvals,
        approvalsNeeded: needed,
        startsAt: null,
        endsAt: null,
      };
    }

    let result: DecidedGrant = {
      grantId,
      status: 'pending',
      approvals,
      approvalsNeeded: needed,
      startsAt: null,
      endsAt: null,
    };
    if (approvals >= needed) {
      const requested = grant.requestedStartAt?.getTime() ?? 0;
      const startsAt = new Date(Math.max(at.getTime(), requested));
      const endsAt = new Date(startsAt.getTime() + minutes(grant.durationMinutes));
      await tx
        .update(grants)
        .set({ status: 'approved', decidedAt: at, startsAt, endsAt })
        .where(eq(grants.id, grantId));
      await notify({ kind: 'grant.approved', to: { staffIds: [grant.requesterId] }, grantId }, tx);
      result = { ...result, status: 'approved', startsAt, endsAt };
    }
    await recordAudit(
      actor,
      {
        ...event,
        action: 'grant.approve',
        outcome: 'allowed',
        details: { approvals, needed },
      },
      tx,
    );
    return result;
  });
}

// ---------------------------------------------------------------------------------------------

const GrantIdSchema = z.object({ grantId: z.uuid('Not a grant id') });

/** The requester withdraws a pending request. */
export async function cancelGrant(input: {
  grantId: string;
  by: StaffActor;
}): Promise<{ grantId: string; status: 'cancelled' }> {
  const { grantId } = parseInput(GrantIdSchema, input);
  return inTransaction(async (tx) => {
    const grant = await lockGrant(tx, grantId);
    const actor = await reloadActor(input.by, tx);
    const event = {
      action: 'grant.cancel' as const,
      userId: grant.userId,
      grantId,
      details: {},
    };
    if (grant.requesterId !== actor.staffId) {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError('Only the requester can withdraw a request.', 403, 'not_requester'),
      );
    }
    if (grant.status !== 'pending') {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError(`This request is already ${grant.status}.`, 409, 'not_pending'),
      );
    }
    await tx
      .update(grants)
      .set({ status: 'cancelled', closedAt: now() })
      .where(eq(grants.id, grantId));
    await recordAudit(actor, { ...event, outcome: 'allowed' }, tx);
    return { grantId, status: 'cancelled' as const };
  });
}

/**
 * Ends an approved grant (live or scheduled) at once: the very next check refuses it. Allowed to
 * its requester, to whoever approved it, and to holders of grants:revoke_any.
 */
export async function revokeGrant(input: {
  grantId: string;
  by: StaffActor;
}): Promise<{ grantId: string; status: 'revoked'; revokedAt: Date; basis: RevokeBasis }> {
  const { grantId } = parseInput(GrantIdSchema, input);
  return inTransaction(async (tx) => {
    const grant = await lockGrant(tx, grantId);
    const actor = await reloadActor(input.by, tx);
    const at = now();
    const event = {
      action: 'grant.revoke' as const,
      userId: grant.userId,
      grantId,
      details: {},
    };
    const inactive = lacks(actor);
    if (inactive) return refuse(tx, actor, event, inactive);
    if (grant.status !== 'approved' || (grant.endsAt && grant.endsAt.getTime() <= at.getTime())) {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError(
          'Only an active or scheduled grant can be revoked.',
          409,
          'not_active',
        ),
      );
    }
    let basis: RevokeBasis | undefined;
    if (grant.requesterId === actor.staffId) basis = 'requester';
    else if (actor.permissions.has('grants:revoke_any')) basis = 'revoke_any';
    else {
      const [approved] = await tx
        .select({ at: grantDecisions.decidedAt })
        .from(grantDecisions)
        .where(
          and(
            eq(grantDecisions.grantId, grantId),
            eq(grantDecisions.approverId, actor.staffId),
            eq(grantDecisions.decision, 'approve'),
          ),
        );
      if (approved) basis = 'approver';
    }
    if (!basis) return refuse(tx, actor, event, lacks(actor, 'grants:revoke_any')!);

    await tx
      .update(grants)
      .set({
        status: 'revoked',
        revokedAt: at,
        revokedBy: actor.staffId,
        revokeBasis: basis,
        closedAt: at,
      })
      .where(eq(grants.id, grantId));
    if (basis !== 'requester') {
      await notify({ kind: 'grant.revoked', to: { staffIds: [grant.requesterId] }, grantId }, tx);
    }
    await recordAudit(actor, { ...event, outcome: 'allowed', details: { basis } }, tx);
    return { grantId, status: 'revoked' as const, revokedAt: at, basis };
  });
}

/**
 * Disabling a staff account ends what it holds: approved grants are revoked and pending requests
 * withdrawn, each with its audit entry, in the transaction that disables the account.
 */
export async function disableStaff(staffId: string, actor: Actor) {
  await getDb().transaction(async (tx) => {
    await setStaffStatus(staffId, 'disabled', actor, tx);
    await revokeGrantsOfStaff(tx, staffId, actor);
  });
}

async function revokeGrantsOfStaff(
  tx: Tx,
  staffId: string,
  actor: Actor,
): Promise<{ revoked: number; cancelled: number }> {
  const at = now().toISOString();
  const by = staffIdOf(actor);
  const revoked = await tx.execute<{ id: string; user_id: string }>(sql`
    update console.grants
    set status = 'revoked', revoked_at = ${at}, revoked_by = ${by}::uuid,
        revoke_basis = 'staff_disabled', closed_at = ${at}
    where requester_id = ${staffId} and status = 'approved' and ends_at > ${at}
    returning id, user_id`);
  const cancelled = await tx.execute<{ id: string; user_id: string }>(sql`
    update console.grants set status = 'cancelled', closed_at = ${at}
    where requester_id = ${staffId} and status = 'pending'
    returning id, user_id`);
  for (const row of revoked) {
    await recordAudit(
      actor,
      {
        action: 'grant.revoke',
        outcome: 'allowed',
        subjectStaffId: staffId,
        grantId: row.id,
        userId: row.user_id,
        details: { basis: 'staff_disabled' },
      },
      tx,
    );
  }
  for (const row of cancelled) {
    await recordAudit(
      actor,
      {
        action: 'grant.cancel',
        outcome: 'allowed',
        subjectStaffId: staffId,
        grantId: row.id,
        userId: row.user_id,
        details: { reason: 'staff_disabled' },
      },
      tx,
    );
  }
  return { revoked: revoked.length, cancelled: cancelled.length };
}

// ---------------------------------------------------------------------------------------------
// Grants bound to a privacy request (ADR 027). The privacy module asks for one, in the
// transaction that holds the request locked, to let an officer review a rectification; and ends
// them, in the transaction that closes the request. The live-grant check needs nothing more: a
// bound grant is an ordinary grant of the profile, revoked when its purpose closes.

/** Who approves a grant bound to a privacy request: a privacy approver, as for the request. */
export const PURPOSE_APPROVER = 'privacy:approve';
const PURPOSE_CATEGORIES: DataCategory[] = ['profile'];

export interface PurposeGrant {
  grantId: string;
  status: GrantStatus;
  requesterId: string;
  startsAt: Date | null;
  endsAt: Date | null;
}

/**
 * Asks, for `requester`, a grant of the user's profile bound to an open privacy request, for the
 * profile policy's longest duration. Pending until a holder of privacy:approve other than the
 * requester approves it. Refused while the requester already has one pending or live for it.
 * Run inside the caller's transaction, which holds the request locked and open.
 */
export async function requestPurposeGrant(
  tx: Tx,
  input: { requester: StaffActor; userId: string; privacyRequestId: string },
): Promise<PurposeGrant> {
  const actor = await reloadActor(input.requester, tx);
  const at = now();
  const event = {
    action: 'grant.request' as const,
    userId: input.userId,
    privacyRequestId: input.privacyRequestId,
    details: { categories: PURPOSE_CATEGORIES, reasonCode: 'privacy_request' },
  };
  // Refusals here throw and roll back the caller's transaction: the privacy module has checked
  // privacy:process before, so these are a stale session's or a double click's.
  const refusal = lacks(actor, 'grants:request');
  if (refusal) throw new ForbiddenError(refusal.message);
  const [held] = await tx
    .select({ id: grants.id })
    .from(grants)
    .where(
      and(
        eq(grants.privacyRequestId, input.privacyRequestId),
        eq(grants.requesterId, actor.staffId),
        sql`(${grants.status} = 'pending' or (${grants.status} = 'approved' and ${grants.endsAt} > ${at.toISOString()}))`,
      ),
    );
  if (held) throw new ConflictError('You already have a grant for this request, pending or live.');
  const [policy] = await getPolicies(PURPOSE_CATEGORIES, tx);
  const grantId = randomUUID();
  await tx.insert(grants).values({
    id: grantId,
    requesterId: actor.staffId,
    userId: input.userId,
    categories: PURPOSE_CATEGORIES,
    reasonCode: 'privacy_request',
    // Codes and ids only: the grant's reason is the request, whose page says the rest.
    justification: `Review of privacy request ${input.privacyRequestId}`,
    ticketRef: null,
    durationMinutes: policy!.maxDurationMinutes,
    requestedStartAt: null,
    approvalsNeeded: 1,
    approverPermissions: [PURPOSE_APPROVER],
    status: 'pending',
    createdAt: at,
    requestExpiresAt: new Date(at.getTime() + GRANT_LIMITS.requestTtlMs),
    privacyRequestId: input.privacyRequestId,
  });
  await notify(
    {
      kind: 'grant.requested',
      to: { holdersOf: [PURPOSE_APPROVER], except: [actor.staffId] },
      grantId,
    },
    tx,
  );
  await recordAudit(
    actor,
    {
      ...event,
      outcome: 'allowed',
      grantId,
      details: { ...event.details, durationMinutes: policy!.maxDurationMinutes },
    },
    tx,
  );
  return { grantId, status: 'pending', requesterId: actor.staffId, startsAt: null, endsAt: null };
}

/** The grants bound to a privacy request, newest first (the request page shows them). */
export async function purposeGrants(privacyRequestId: string): Promise<PurposeGrant[]> {
  if (!z.uuid().safeParse(privacyRequestId).success) return [];
  const rows = await getDb()
    .select({
      grantId: grants.id,
      status: grants.status,
      requesterId: grants.requesterId,
      startsAt: grants.startsAt,
      endsAt: grants.endsAt,
    })
    .from(grants)
    .where(eq(grants.privacyRequestId, privacyRequestId))
    .orderBy(sql`${grants.createdAt} desc`, grants.id);
  return rows.map((r) => ({ ...r, status: r.status as GrantStatus }));
}

/**
 * The privacy request closed: every grant bound to it ends in this transaction, the caller's,
 * which closes the request. Approved grants not yet past their end are revoked (basis
 * `purpose_closed`), pending ones withdrawn; each audited. One statement decides both, so a grant
 * approved concurrently is re-read after that approval commits and revoked all the same.
 */
export async function closePurposeGrants(
  tx: Tx,
  privacyRequestId: string,
  actor: Actor,
): Promise<{ revoked: number; cancelled: number }> {
  const at = now().toISOString();
  const by = staffIdOf(actor);
  const ended = await tx.execute<{ id: string; user_id: string; status: GrantStatus }>(sql`
    update console.grants
    set status = case when status = 'pending' then 'cancelled' else 'revoked' end,
        revoked_at = case when status = 'pending' then null else ${at}::timestamptz end,
        revoked_by = case when status = 'pending' then null else ${by}::uuid end,
        revoke_basis = case when status = 'pending' then null else 'purpose_closed' end,
        closed_at = ${at}
    where privacy_request_id = ${privacyRequestId}
      and (status = 'pending' or (status = 'approved' and ends_at > ${at}))
    returning id, user_id, status`);
  let revoked = 0;
  for (const row of ended) {
    const isRevoked = row.status === 'revoked';
    if (isRevoked) revoked++;
    await recordAudit(
      actor,
      {
        action: isRevoked ? 'grant.revoke' : 'grant.cancel',
        outcome: 'allowed',
        grantId: row.id,
        userId: row.user_id,
        privacyRequestId,
        details: isRevoked ? { basis: 'purpose_closed' } : { reason: 'purpose_closed' },
      },
      tx,
    );
  }
  return { revoked, cancelled: ended.length - revoked };
}

// ---------------------------------------------------------------------------------------------
// Grants bound to an inquiry (ADR 034). Assigning an inquiry is the authorization: the user asked
// for help. The inquiries module calls these in the transaction that assigns, reassigns or closes
// the inquiry, which holds its row locked.

const INQUIRY_CATEGORIES: DataCategory[] = ['inquiries'];

/**
 * The assignee's grant of the inquiry's thread (category inquiries alone, bound to it): approved
 * at once, no approver, for `minutes`. Audited as grant.request with the inquiry's id.
 */
export async function openInquiryGrant(
  tx: Tx,
  input: { actor: Actor; assigneeId: string; userId: string; inquiryId: string; minutes: number },
): Promise<{ grantId: string; startsAt: Date; endsAt: Date }> {
  const at = now();
  const grantId = randomUUID();
  const endsAt = new Date(at.getTime() + minutes(input.minutes));
  await tx.insert(grants).values({
    id: grantId,
    requesterId: input.assigneeId,
    userId: input.userId,
    categories: INQUIRY_CATEGORIES,
    reasonCode: 'support_inquiry',
    // Codes and ids only: the inquiry's page says the rest.
    justification: `Assignment of inquiry ${input.inquiryId}`,
    ticketRef: null,
    durationMinutes: input.minutes,
    requestedStartAt: null,
    approvalsNeeded: 0,
    approverPermissions: [],
    status: 'approved',
    createdAt: at,
    requestExpiresAt: at,
    decidedAt: at,
    startsAt: at,
    endsAt,
    inquiryId: input.inquiryId,
  });
  await recordAudit(
    input.actor,
    {
      action: 'grant.request',
      outcome: 'allowed',
      userId: input.userId,
      grantId,
      subjectStaffId: input.assigneeId,
      details: {
        categories: INQUIRY_CATEGORIES,
        reasonCode: 'support_inquiry',
        durationMinutes: input.minutes,
        inquiry: input.inquiryId,
      },
    },
    tx,
  );
  return { grantId, startsAt: at, endsAt };
}

/** Whether `staffId` holds a live grant of this inquiry's thread now (in the caller's transaction). */
export async function holdsLiveInquiryGrant(
  tx: Tx,
  inquiryId: string,
  staffId: string,
): Promise<boolean> {
  const at = now().toISOString();
  const [live] = await tx
    .select({ id: grants.id })
    .from(grants)
    .where(
      and(
        eq(grants.inquiryId, inquiryId),
        eq(grants.requesterId, staffId),
        sql`${grants.status} = 'approved' and 'inquiries' = any(${grants.categories}) and ${grants.startsAt} <= ${at} and ${grants.endsAt} > ${at}`,
      ),
    );
  return Boolean(live);
}

/**
 * The inquiry closed, or went to someone else: its grants end in the caller's transaction (only
 * `holderId`'s when given). Live or scheduled ones are revoked (basis `purpose_closed`), pending
 * ones withdrawn, each audited; one statement, as closePurposeGrants().
 */
export async function endInquiryGrants(
  tx: Tx,
  inquiryId: string,
  actor: Actor,
  holderId?: string | null,
): Promise<{ revoked: number; cancelled: number }> {
  const at = now().toISOString();
  const by = staffIdOf(actor);
  const holder = holderId ? sql`and requester_id = ${holderId}` : sql``;
  const ended = await tx.execute<{ id: string; user_id: string; status: GrantStatus }>(sql`
    update console.grants
    set status = case when status = 'pending' then 'cancelled' else 'revoked' end,
        revoked_at = case when status = 'pending' then null else ${at}::timestamptz end,
        revoked_by = case when status = 'pending' then null else ${by}::uuid end,
        revoke_basis = case when status = 'pending' then null else 'purpose_closed' end,
        closed_at = ${at}
    where inquiry_id = ${inquiryId} ${holder}
      and (status = 'pending' or (status = 'approved' and ends_at > ${at}))
    returning id, user_id, status`);
  let revoked = 0;
  for (const row of ended) {
    const isRevoked = row.status === 'revoked';
    if (isRevoked) revoked++;
    await recordAudit(
      actor,
      {
        action: isRevoked ? 'grant.revoke' : 'grant.cancel',
        outcome: 'allowed',
        grantId: row.id,
        userId: row.user_id,
        details: isRevoked
          ? { basis: 'purpose_closed', inquiry: inquiryId }
          : { reason: 'purpose_closed', inquiry: inquiryId },
      },
      tx,
    );
  }
  return { revoked, cancelled: ended.length - revoked };
}

// ---------------------------------------------------------------------------------------------

export interface BreakGlassArgs {
  staff: StaffActor;
  userId: string;
  categories: readonly string[];
  justification: string;
  ticketRef?: string | null;
  /** Defaults to `other`. */
  reasonCode?: string;
  /** At most 60, and no longer than the categories' policies allow; defaults to that bound. */
  durationMinutes?: number | string | null;
}

/**
 * Emergency access (grants:break_glass): live at once for at most an hour, flagged, announced to
 * holders of security:review, one of whom (not the breaker) must review it. Until then the same
 * person cannot break glass again.
 */
export async function breakGlass(
  input: BreakGlassArgs,
): Promise<{ grantId: string; startsAt: Date; endsAt: Date; categories: DataCategory[] }> {
  const { staff, ...fields } = input;
  const durationGiven = fields.durationMinutes !== '' && fields.durationMinutes != null;
  const request = parseInput(breakGlassSchema(ticketPattern()), {
    ...fields,
    ticketRef: fields.ticketRef || undefined,
    reasonCode: fields.reasonCode || undefined,
    durationMinutes: durationGiven ? fields.durationMinutes : undefined,
  });
  return inTransaction(async (tx) => {
    // One break-glass attempt per person at a time, so the review gate cannot be raced.
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`break_glass:${staff.staffId}`}, 0))`,
    );
    const actor = await reloadActor(staff, tx);
    const event = {
      action: 'grant.break_glass' as const,
      userId: request.userId,
      details: { categories: request.categories },
    };
    const refusal = lacks(actor, 'grants:break_glass');
    if (refusal) return refuse(tx, actor, event, refusal);
    const [unreviewed] = await tx
      .select({ id: grants.id })
      .from(grants)
      .where(
        and(
          eq(grants.requesterId, actor.staffId),
          eq(grants.breakGlass, true),
          sql`${grants.reviewedAt} is null`,
        ),
      );
    if (unreviewed) {
      return refuse(
        tx,
        actor,
        { ...event, grantId: null },
        new GrantRefusedError(
          'Your last break-glass use has not been reviewed yet; a security reviewer must review it first.',
          409,
          'unreviewed_break_glass',
        ),
      );
    }
    if (!(await userExists(tx, request.userId))) {
      throw new GrantInputError({ userId: 'No user has this id' });
    }
    const policies = await getPolicies(request.categories, tx);
    const bound = durationBound(policies, GRANT_LIMITS.breakGlassMaxMinutes);
    let duration = request.durationMinutes;
    if (!durationGiven) {
      duration = Math.min(duration, bound.minutes);
    }
    const tooLong = durationProblem(duration, bound);
    if (tooLong) throw new GrantInputError({ durationMinutes: tooLong });

    const grantId = randomUUID();
    const at = now();
    const endsAt = new Date(at.getTime() + minutes(duration));
    await tx.insert(grants).values({
      id: grantId,
      requesterId: actor.staffId,
      userId: request.userId,
      categories: request.categories,
      reasonCode: request.reasonCode,
      justification: request.justification,
      ticketRef: request.ticketRef ?? null,
      durationMinutes: duration,
      approvalsNeeded: 0,
      approverPermissions: [],
      status: 'approved',
      createdAt: at,
      requestExpiresAt: at,
      decidedAt: at,
      startsAt: at,
      endsAt,
      breakGlass: true,
    });
    await notify(
      {
        kind: 'grant.break_glass',
        to: { holdersOf: ['security:review'], except: [actor.staffId] },
        grantId,
      },
      tx,
    );
    await recordAudit(
      actor,
      {
        ...event,
        outcome: 'allowed',
        grantId,
        details: { categories: request.categories, durationMinutes: duration },
      },
      tx,
    );
    return { grantId, startsAt: at, endsAt, categories: request.categories };
  });
}

const ReviewSchema = z.object({
  grantId: z.uuid('Not a grant id'),
  comment: commentSchema.optional(),
});

/** A holder of security:review, other than the breaker, reviews a break-glass use. */
export async function reviewBreakGlass(input: {
  grantId: string;
  reviewer: StaffActor;
  comment?: string;
}): Promise<{ grantId: string; reviewedAt: Date }> {
  const { grantId, comment } = parseInput(ReviewSchema, {
    ...input,
    comment: input.comment || undefined,
  });
  return inTransaction(async (tx) => {
    const grant = await lockGrant(tx, grantId);
    const actor = await reloadActor(input.reviewer, tx);
    const event = {
      action: 'grant.review' as const,
      userId: grant.userId,
      grantId,
      details: {},
    };
    const refusal = lacks(actor, 'security:review');
    if (refusal) return refuse(tx, actor, event, refusal);
    if (!grant.breakGlass) {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError('This is not a break-glass grant.', 409, 'not_break_glass'),
      );
    }
    if (grant.requesterId === actor.staffId) {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError('Nobody reviews their own break-glass use.', 403, 'self_review'),
      );
    }
    if (grant.reviewedAt) {
      return refuse(
        tx,
        actor,
        event,
        new GrantRefusedError('This break-glass use has been reviewed.', 409, 'already_reviewed'),
      );
    }
    const at = now();
    await tx
      .update(grants)
      .set({ reviewedAt: at, reviewedBy: actor.staffId, reviewComment: comment ?? null })
      .where(eq(grants.id, grantId));
    await recordAudit(actor, { ...event, outcome: 'allowed' }, tx);
    return { grantId, reviewedAt: at };
  });
}

// ---------------------------------------------------------------------------------------------

const EXPIRY_BATCH = 200;
const EXPIRY = job('access.expire');

async function expireBatch(from: 'pending' | 'approved', at: Date): Promise<number> {
  const iso = at.toISOString();
  const due =
    from === 'pending'
      ? sql`status = 'pending' and request_expires_at <= ${iso}`
      : sql`status = 'approved' and ends_at <= ${iso}`;
  return inTransaction(async (tx) => {
    const rows = await tx.execute<{ id: string; requester_id: string; user_id: string }>(sql`
      update console.grants g set status = 'expired', closed_at = ${iso}
      where g.id in (select id from console.grants where ${due}
                     limit ${EXPIRY_BATCH} for update skip locked)
      returning g.id, g.requester_id, g.user_id`);
    for (const row of rows) {
      await recordAudit(
        EXPIRY,
        {
          action: 'grant.expire',
          outcome: 'allowed',
          grantId: row.id,
          userId: row.user_id,
          details: { from },
        },
        tx,
      );
      if (from === 'pending') {
        await notify(
          { kind: 'grant.expired', to: { staffIds: [row.requester_id] }, grantId: row.id },
          tx,
        );
      }
    }
    return rows.length;
  });
}

/**
 * The recurring expiry job: requests nobody decided within 24 hours, and approved grants past
 * their end, become `expired` (each audited). Access never waits for it: the live-grant check
 * compares with the clock at every request.
 */
export async function expireDue(): Promise<{ pending: number; approved: number }> {
  const at = now();
  const counts = { pending: 0, approved: 0 };
  for (const from of ['pending', 'approved'] as const) {
    for (;;) {
      const n = await expireBatch(from, at);
      counts[from] += n;
      if (n < EXPIRY_BATCH) break;
    }
  }
  return counts;
}
