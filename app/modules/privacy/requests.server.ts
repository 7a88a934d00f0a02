import { randomUUID } from 'node:crypto';
import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  gt,
  isNull,
  lte,
  or,
  sql,
  type SQL,
} from 'drizzle-orm';
import { z } from 'zod';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { privacyRequestEvents, privacyRequests } from '#app/db/schema.ts';
import { staffIdOf, type Actor, type StaffActor } from '#app/modules/actor.ts';
import {
  closePurposeGrants,
  purposeGrants,
  requestPurposeGrant,
  type PurposeGrant,
} from '#app/modules/access/grants.server.ts';
import { findLiveGrant } from '#app/modules/access/live.server.ts';
import { registerPurpose } from '#app/modules/access/purposes.server.ts';
import { openCategory } from '#app/modules/access/gate.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { enqueue } from '#app/modules/jobs/queue.server.ts';
import { qualified, staffName } from '#app/modules/staff-names.server.ts';
import {
  openForUser,
  readProfileFields,
  sealForUser,
  userFacts,
  type ProfileField,
} from '#app/modules/users/data.server.ts';
import { decodeCursor, encodeCursor } from '#app/utils/cursor.server.ts';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  InputError,
  NotFoundError,
} from '#app/utils/errors.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { deadline, pausedDaysBetween, regimeOf } from './deadlines.server.ts';
import { refuseIfHeld } from './holds.server.ts';
import { DetailsSchemas, NewRequestSchema, QueueQuerySchema } from './input.server.ts';
import { clockRuns, step, type RequestFacts, type Step } from './lifecycle.ts';
import { nudgeOutbox, queueUserMessage } from './outbox.server.ts';
import { isErased } from './tombstones.server.ts';
import {
  DUE_SOON_DAYS,
  FINAL_STATES,
  type HoldReason,
  type Proposal,
  type Regime,
  type RequestSource,
  type RequestState,
  type RequestType,
  type VerificationMethod,
} from './vocabulary.ts';

// Privacy requests: received (from the product's API or a privacy officer's intake), moved through
// their lifecycle by step() (lifecycle.ts), each move on the request's timeline and in the audit
// trail in one transaction. Deadlines come from deadlines.server.ts (ADR 022).

const DETAILS_FIELD = 'privacy_requests.details';

function actorLabel(actor: Actor): string {
  if (actor.kind === 'staff') return actor.displayName;
  if (actor.kind === 'visitor') return 'visitor';
  return `${actor.kind}: ${actor.name}`;
}

/**
 * A staff member needs the permission; Custodian itself (a job, the command line) acts on its
 * own authority; a service token was authorized by its scope in the API layer (ADR 023).
 */
function requirePermission(actor: Actor, permission: 'privacy:process' | 'privacy:approve') {
  if (actor.kind === 'staff' && !actor.permissions.has(permission)) {
    throw new ForbiddenError(`This takes the ${permission} permission`);
  }
}

// --- purpose binding (ADR 034) ---------------------------------------------------------------

/**
 * A grant asked for with the reason privacy_request names an open request of its user assigned to
 * the requester. Read in the grant's transaction, the row held against a concurrent close: the
 * close then revokes the new grant with the others (closePurposeGrants()).
 */
registerPurpose('privacy_request', async (tx, id) => {
  const [row] = await tx
    .select({
      userId: privacyRequests.userId,
      assigneeId: privacyRequests.assigneeId,
      state: privacyRequests.state,
    })
    .from(privacyRequests)
    .where(eq(privacyRequests.id, id))
    .for('share');
  if (!row) return null;
  return {
    userId: row.userId,
    assigneeId: row.assigneeId,
    open: !FINAL_STATES.includes(row.state as RequestState),
  };
});

/** A user's open requests assigned to this officer: what the grant form offers to bind to. */
export async function openRequestsAssignedTo(staffId: string, userId: string) {
  if (!z.uuid().safeParse(staffId).success || !z.uuid().safeParse(userId).success) return [];
  const rows = await getDb()
    .select({
      id: privacyRequests.id,
      type: privacyRequests.type,
      state: privacyRequests.state,
      receivedAt: privacyRequests.receivedAt,
    })
    .from(privacyRequests)
    .where(
      and(
        eq(privacyRequests.assigneeId, staffId),
        eq(privacyRequests.userId, userId),
        sql`${privacyRequests.state} not in ${FINAL_STATE_LIST}`,
      ),
    )
    .orderBy(privacyRequests.receivedAt, privacyRequests.id)
    .limit(50);
  return rows.map((r) => ({ ...r, type: r.type as RequestType }));
}

// --- intake ----------------------------------------------------------------------------------

export interface NewRequest {
  userId: string;
  type: RequestType;
  details?: unknown;
  channel?: string;
}

export interface CreatedRequest {
  id: string;
  type: RequestType;
  state: RequestState;
  verified: boolean;
  receivedAt: Date;
  dueDay: string;
}

/**
 * A request received: from the product (an API token's actor: its signed-in user, so verified)
 * or entered by a privacy officer (unverified until the user confirms, so its clock waits).
 * Details are checked against the type's schema; personal values are sealed under the user's key.
 */
export async function createRequest(
  input: NewRequest,
  actor: Actor,
  /**
   * When it was received, if not now (the demo seed's past requests); the transaction to write
   * in, when the caller commits more with it (the service API's idempotency record).
   */
  options: { receivedAt?: Date; tx?: Tx } = {},
): Promise<CreatedRequest> {
  requirePermission(actor, 'privacy:process');
  const base = parseParams(NewRequestSchema, input);
  const details = parseDetails(base.type, base.details);
  // An erased user's id is a pseudonym whose data is gone: gone (410), not unknown (404).
  if (await isErased(base.userId)) throw new GoneError('This user was erased');
  const user = await userFacts(base.userId);
  if (!user) throw new NotFoundError('No user has this id');
  const source: RequestSource = actor.kind === 'staff' ? 'staff' : 'api';
  if (source === 'staff' && !base.channel) {
    throw new InputError('channel', 'Say how the request was received');
  }
  const verified = source === 'api';
  const id = randomUUID();
  const at = options.receivedAt ?? now();
  const regime = regimeOf(user.country);
  const due = deadline({ regime, country: user.country, receivedAt: at });
  const personal =
    'changes' in details
      ? JSON.stringify(details.changes)
      : 'grounds' in details
        ? details.grounds
        : null;
  const detailsEnc =
    personal === null ? null : await sealForUser(user.id, DETAILS_FIELD, id, personal);
  const state: RequestState = verified ? 'received' : 'verifying';
  const write = async (tx: Tx) => {
    await tx.insert(privacyRequests).values({
      id,
      userId: user.id,
      type: base.type,
      state,
      source,
      channel: base.channel ?? null,
      createdBy: staffIdOf(actor),
      verified,
      verifiedAt: verified ? at : null,
      verificationMethod: verified ? 'product_session' : null,
      detailsEnc,
      purposes: 'purposes' in details ? details.purposes : [],
      regime,
      country: user.country,
      receivedAt: at,
      dueDay: due.dueDay,
      extendedDueDay: null,
      acknowledgeBy: due.acknowledgeBy,
      pausedSince: verified ? null : at,
      createdAt: at,
      updatedAt: at,
    });
    await addEvent(tx, actor, {
      requestId: id,
      at,
      kind: 'received',
      fromState: null,
      toState: state,
      note: source === 'staff' ? `Entered by staff (${base.channel})` : 'From the product',
    });
    await recordAudit(
      actor,
      {
        action: 'privacy.request',
        outcome: 'allowed',
        userId: user.id,
        privacyRequestId: id,
        details: {
          type: base.type,
          source,
          verified,
          regime,
          ...('changes' in details ? { fields: Object.keys(details.changes).sort() } : {}),
        },
      },
      tx,
    );
    // From the product: the user is told it arrived. Entered by staff: the user is asked to sign
    // in to the product and confirm it (ADR 024).
    await queueUserMessage(tx, {
      userId: user.id,
      requestId: id,
      template: verified ? 'acknowledgement' : 'confirm_request',
    });
  };
  if (options.tx) {
    // The caller commits; the outbox's every-minute run sends the message then.
    await write(options.tx);
  } else {
    await getDb().transaction(write);
    await nudgeOutbox();
  }
  return { id, type: base.type, state, verified, receivedAt: at, dueDay: due.dueDay };
}

/**
 * Checks a new request's input as createRequest() will, reading nothing: an InputError naming
 * the field (`details.changes.email`). The service API checks the body before it looks the user
 * up, so a bad body is a 400 whether or not the user exists.
 */
export function checkNewRequest(input: NewRequest): void {
  const base = parseParams(NewRequestSchema, input);
  parseDetails(base.type, base.details);
}

type Details =
  | Record<string, never>
  | { changes: Partial<Record<string, string>> }
  | { purposes: string[] }
  | { purposes: string[]; grounds: string };

function parseDetails(type: RequestType, raw: unknown): Details {
  const schema = DetailsSchemas[type] as z.ZodType<Details>;
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = ['details', ...issue.path.map(String)];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const what = issue.path.length ? 'change' : `${type} request's details`;
    throw new InputError([...path, key].join('.'), `A ${what} cannot name "${key}"`);
  }
  throw new InputError(path.join('.'), issue.message);
}

// --- moves -----------------------------------------------------------------------------------

type Row = typeof privacyRequests.$inferSelect;

const factsOf = (row: Row): RequestFacts => ({
  type: row.type as RequestType,
  state: row.state as RequestState,
  heldFrom: row.heldFrom as RequestState | null,
  holdReason: row.holdReason as HoldReason | null,
  proposal: row.proposal as Proposal | null,
  proposedBy: row.proposedBy,
});

export type StepInput =
  /** An officer verified the identity: the evidence, and how (ADR 024). */
  | { kind: 'verify'; evidence: string; method?: VerificationMethod }
  /** The product reports that the account's owner signed in and confirmed (the service API). */
  | { kind: 'verify'; method: 'product_confirmation' }
  | { kind: 'ask_verification' }
  | { kind: 'propose'; proposal: Proposal; note: string }
  | { kind: 'approve'; note?: string }
  | { kind: 'reject'; note: string }
  | { kind: 'start' }
  | { kind: 'complete' }
  | { kind: 'fail'; note?: string }
  | { kind: 'retry' }
  | { kind: 'hold'; reason: HoldReason; note: string }
  | { kind: 'resume' }
  | { kind: 'cancel'; note: string };

const PERMISSION: Record<StepInput['kind'], 'privacy:process' | 'privacy:approve'> = {
  verify: 'privacy:process',
  ask_verification: 'privacy:process',
  propose: 'privacy:process',
  approve: 'privacy:approve',
  reject: 'privacy:approve',
  start: 'privacy:process',
  complete: 'privacy:process',
  fail: 'privacy:process',
  retry: 'privacy:process',
  hold: 'privacy:process',
  resume: 'privacy:process',
  cancel: 'privacy:process',
};

function noteOf(input: StepInput): string | null {
  if (input.kind === 'verify' && input.method === 'product_confirmation')
    return 'Confirmed by the user in the product';
  const note = 'note' in input ? input.note : 'evidence' in input ? input.evidence : undefined;
  if (note === undefined) return null;
  const trimmed = note.trim();
  if (!trimmed) throw new InputError('note', 'Say why');
  if (trimmed.length > 2_000) throw new InputError('note', 'The note is at most 2000 characters');
  return trimmed;
}

/**
 * One move of a request, decided by step() on the row locked in this transaction, and recorded
 * on its timeline and in the audit trail with it. A move the state forbids is a ConflictError
 * with step()'s reason; four eyes is a ForbiddenError.
 */
export async function moveRequest(
  requestId: string,
  input: StepInput,
  actor: Actor,
  options: { tx?: Tx } = {},
): Promise<{ from: RequestState; to: RequestState }> {
  requirePermission(actor, PERMISSION[input.kind]);
  const note = noteOf(input);
  const by = staffIdOf(actor) ?? actorLabel(actor);
  const move: Step =
    input.kind === 'propose'
      ? { kind: 'propose', proposal: input.proposal, by }
      : input.kind === 'approve' || input.kind === 'reject'
        ? { kind: input.kind, by }
        : input.kind === 'hold'
          ? { kind: 'hold', reason: input.reason }
          : { kind: input.kind };
  const work = async (tx: Tx) => {
    const row = await lockRequest(tx, requestId);
    const facts = factsOf(row);
    const result = step(facts, move);
    // A legal hold on the user blocks their erasure from starting (ADR 026).
    if (result.ok && result.next.state === 'processing' && facts.type === 'erasure') {
      await refuseIfHeld(row.userId, tx);
    }
    if (!result.ok) {
      if (/second person/.test(result.message)) throw new ForbiddenError(result.message);
      throw new ConflictError(result.message);
    }
    const next = result.next;
    const at = now();
    // The clock: paused time moves the deadline when the clock starts again.
    let pausedDays = row.pausedDays;
    let pausedSince = row.pausedSince;
    const ranBefore = clockRuns(facts);
    const runsAfter = clockRuns(next);
    if (ranBefore && !runsAfter) pausedSince = at;
    if (!ranBefore && runsAfter && pausedSince) {
      pausedDays += pausedDaysBetween(pausedSince, at);
      pausedSince = null;
    }
    const due = deadline({
      regime: row.regime as Regime,
      country: row.country,
      receivedAt: row.receivedAt,
      pausedDays,
    });
    const closing = FINAL_STATES.includes(next.state);
    await tx
      .update(privacyRequests)
      .set({
        state: next.state,
        heldFrom: next.heldFrom,
        holdReason: next.holdReason,
        proposal: next.proposal,
        proposedBy: next.proposal ? next.proposedBy : null,
        pausedDays,
        pausedSince,
        // An extended request stays due on its extended day (which the pause moves too).
        dueDay: row.extendedDueDay && due.extendedDueDay ? due.extendedDueDay : due.dueDay,
        extendedDueDay: row.extendedDueDay ? due.extendedDueDay : null,
        ...(input.kind === 'verify'
          ? { verified: true, verifiedAt: at, verificationMethod: input.method ?? 'staff_evidence' }
          : {}),
        ...(next.state === 'completed' ? { completedAt: at } : {}),
        ...(closing ? { closedAt: at } : {}),
        updatedAt: at,
      })
      .where(eq(privacyRequests.id, row.id));
    await addEvent(tx, actor, {
      requestId: row.id,
      at,
      kind: input.kind,
      fromState: facts.state,
      toState: next.state,
      note,
    });
    // Law 2: a grant bound to this request ends with it, in this transaction (ADR 027).
    if (closing) await closePurposeGrants(tx, row.id, actor);
    await recordAudit(
      actor,
      {
        action: 'privacy.transition',
        outcome: 'allowed',
        userId: row.userId,
        privacyRequestId: row.id,
        details: {
          from: facts.state,
          to: next.state,
          step: input.kind,
          ...(input.kind === 'hold' ? { reason: input.reason } : {}),
          ...(input.kind === 'propose' ? { reason: input.proposal } : {}),
        },
      },
      tx,
    );
    if (next.state === 'denied') {
      // The user is told, with the reasons the approved proposal gave and where to complain.
      await queueUserMessage(tx, {
        userId: row.userId,
        requestId: row.id,
        template: 'denial',
        vars: { reason: (await proposalNote(tx, row.id)) ?? 'Not given.' },
      });
    }
    return { from: facts.state, to: next.state };
  };
  if (options.tx) return work(options.tx);
  const moved = await getDb().transaction(work);
  if (moved.to === 'processing') await startWork(requestId);
  if (moved.to === 'denied') await nudgeOutbox();
  return moved;
}

/** Why the request's pending proposal was made: the note of its latest `propose` step. */
async function proposalNote(tx: Tx, requestId: string): Promise<string | null> {
  const [event] = await tx
    .select({ note: privacyRequestEvents.note })
    .from(privacyRequestEvents)
    .where(
      and(eq(privacyRequestEvents.requestId, requestId), eq(privacyRequestEvents.kind, 'propose')),
    )
    .orderBy(desc(privacyRequestEvents.id))
    .limit(1);
  return event?.note ?? null;
}

/** The job kind that carries out a processing request (work.server.ts). */
export const WORK_JOB = 'privacy.work';

/**
 * Queues the work of a request that has just moved to processing, after its transaction. The
 * request's state is the truth and the queued job only a nudge: should the queue refuse it, or
 * this process stop in between, `privacy.resume` (every minute) finds the request processing with
 * no worker and queues it again. A caller that moves a request inside its own transaction calls
 * this once it has committed.
 */
export async function startWork(requestId: string): Promise<boolean> {
  try {
    await enqueue(WORK_JOB, { requestId });
    return true;
  } catch (error) {
    process.stderr.write(
      `privacy: could not queue the work of request ${requestId} (privacy.resume will): ${(error as Error).message}\n`,
    );
    return false;
  }
}

/** One line of the request's timeline, written in the transaction of the change it records. */
export async function addEvent(
  tx: Tx,
  actor: Actor,
  event: {
    requestId: string;
    at: Date;
    kind: string;
    fromState?: RequestState | null;
    toState?: RequestState | null;
    note?: string | null;
  },
) {
  await tx
    .insert(privacyRequestEvents)
    .values({ ...event, actorStaffId: staffIdOf(actor), actorLabel: actorLabel(actor) });
}

/** The request locked in this transaction, refused when it is already closed. */
async function lockOpenRequest(tx: Tx, requestId: string): Promise<Row> {
  const row = await lockRequest(tx, requestId);
  if (FINAL_STATES.includes(row.state as RequestState)) {
    throw new ConflictError('The request is closed');
  }
  return row;
}

async function lockRequest(tx: Tx, requestId: string): Promise<Row> {
  if (!z.uuid().safeParse(requestId).success) throw new NotFoundError('No such privacy request');
  const [row] = await tx
    .select()
    .from(privacyRequests)
    .where(eq(privacyRequests.id, requestId))
    .for('update');
  if (!row) throw new NotFoundError('No such privacy request');
  return row;
}

/** Assigns the request to an officer (or to nobody); audited. */
export async function assignRequest(requestId: string, assigneeId: string | null, actor: Actor) {
  requirePermission(actor, 'privacy:process');
  if (assigneeId !== null && !z.uuid().safeParse(assigneeId).success) {
    throw new InputError('assignee', 'Not a staff id');
  }
  await getDb().transaction(async (tx) => {
    const row = await lockOpenRequest(tx, requestId);
    const at = now();
    await tx
      .update(privacyRequests)
      .set({ assigneeId, updatedAt: at })
      .where(eq(privacyRequests.id, row.id));
    await addEvent(tx, actor, {
      requestId: row.id,
      at,
      kind: 'assign',
      note: assigneeId ? null : 'Unassigned',
    });
    await recordAudit(
      actor,
      {
        action: 'privacy.assign',
        outcome: 'allowed',
        userId: row.userId,
        privacyRequestId: row.id,
        details: { assignee: assigneeId },
      },
      tx,
    );
  });
}

/**
 * The regime's one extension, with its reason, sent before the first deadline passes: the due
 * day becomes the extended one.
 */
export async function extendRequest(requestId: string, reason: string, actor: Actor) {
  requirePermission(actor, 'privacy:process');
  const note = reason.trim();
  if (!note) throw new InputError('reason', 'Say why the request needs more time');
  if (note.length > 2_000) throw new InputError('reason', 'The reason is at most 2000 characters');
  const extended = await getDb().transaction(async (tx) => {
    const row = await lockOpenRequest(tx, requestId);
    if (row.extendedDueDay) throw new ConflictError('The deadline was already extended once');
    const at = now();
    const due = deadline({
      regime: row.regime as Regime,
      country: row.country,
      receivedAt: row.receivedAt,
      pausedDays: row.pausedDays,
    });
    if (!due.extendedDueDay) {
      throw new ConflictError('This regime allows no extension');
    }
    if (at.toISOString().slice(0, 10) > row.dueDay) {
      throw new ConflictError('An extension must be sent before the first deadline');
    }
    await tx
      .update(privacyRequests)
      .set({
        extendedDueDay: due.extendedDueDay,
        dueDay: due.extendedDueDay,
        extensionReason: note,
        updatedAt: at,
      })
      .where(eq(privacyRequests.id, row.id));
    await addEvent(tx, actor, {
      requestId: row.id,
      at,
      kind: 'extend',
      note,
    });
    await recordAudit(
      actor,
      {
        action: 'privacy.extend',
        outcome: 'allowed',
        userId: row.userId,
        privacyRequestId: row.id,
        details: { from: row.dueDay, to: due.extendedDueDay },
      },
      tx,
    );
    // The notice, with its reason, leaves before the first deadline (the check above).
    await queueUserMessage(tx, {
      userId: row.userId,
      requestId: row.id,
      template: 'extension',
      vars: { reason: note },
    });
    return { dueDay: due.extendedDueDay };
  });
  await nudgeOutbox();
  return extended;
}

// --- reading ---------------------------------------------------------------------------------

export interface QueueRow {
  id: string;
  userId: string;
  type: RequestType;
  state: RequestState;
  regime: Regime;
  source: RequestSource;
  verified: boolean;
  receivedAt: Date;
  dueDay: string;
  extended: boolean;
  assigneeId: string | null;
  assigneeName: string | null;
  overdue: boolean;
  dueSoon: boolean;
  /** Another open request of the same type for the same user was received earlier. */
  duplicateOf: string | null;
}

const CursorSchema = z
  .tuple([z.iso.date(), z.uuid()])
  .transform(([dueDay, id]) => ({ dueDay, id }));

// The final states as an SQL list: `state not in ${FINAL_STATE_LIST}` is an open request.
const FINAL_STATE_LIST = sql.raw(`('${FINAL_STATES.join("', '")}')`);

/** The queue, by deadline (earliest first), keyset-paged, filtered; open requests by default. */
export async function listRequests(
  params: Record<string, string | undefined>,
  viewer: Actor,
  limit = 50,
): Promise<{ rows: QueueRow[]; next: string | null }> {
  const query = parseParams(QueueQuerySchema, params);
  const cursor = decodeCursor(CursorSchema, query.after, 'after');
  const today = now().toISOString().slice(0, 10);
  const soon = new Date(`${today}T00:00:00Z`);
  soon.setUTCDate(soon.getUTCDate() + DUE_SOON_DAYS);
  const soonDay = soon.toISOString().slice(0, 10);
  const where: (SQL | undefined)[] = [];
  const state = query.state ?? 'open';
  if (state === 'open') where.push(sql`${privacyRequests.state} not in ${FINAL_STATE_LIST}`);
  else if (state !== 'all') where.push(eq(privacyRequests.state, state));
  if (query.type) where.push(eq(privacyRequests.type, query.type));
  if (query.regime) where.push(eq(privacyRequests.regime, query.regime));
  if (query.assignee === 'none') where.push(isNull(privacyRequests.assigneeId));
  else if (query.assignee === 'me') {
    const me = staffIdOf(viewer);
    where.push(me ? eq(privacyRequests.assigneeId, me) : sql`false`);
  } else if (query.assignee) where.push(eq(privacyRequests.assigneeId, query.assignee));
  if (query.due === 'overdue') {
    where.push(sql`${privacyRequests.dueDay} < ${today}::date`);
    where.push(sql`${privacyRequests.state} not in ${FINAL_STATE_LIST}`);
  } else if (query.due === 'soon') {
    where.push(
      and(sql`${privacyRequests.dueDay} >= ${today}::date`, lte(privacyRequests.dueDay, soonDay)),
    );
    where.push(sql`${privacyRequests.state} not in ${FINAL_STATE_LIST}`);
  }
  if (cursor) {
    where.push(
      or(
        gt(privacyRequests.dueDay, cursor.dueDay),
        and(eq(privacyRequests.dueDay, cursor.dueDay), gt(privacyRequests.id, cursor.id)),
      ),
    );
  }
  const rows = await getDb()
    .select({
      id: privacyRequests.id,
      userId: privacyRequests.userId,
      type: privacyRequests.type,
      state: privacyRequests.state,
      regime: privacyRequests.regime,
      source: privacyRequests.source,
      verified: privacyRequests.verified,
      receivedAt: privacyRequests.receivedAt,
      dueDay: privacyRequests.dueDay,
      extendedDueDay: privacyRequests.extendedDueDay,
      assigneeId: privacyRequests.assigneeId,
      assigneeName: staffName(privacyRequests.assigneeId),
      duplicateOf: sql<string | null>`(
        select d.id from console.privacy_requests d
        where d.user_id = ${qualified(privacyRequests.userId)}
          and d.type = ${qualified(privacyRequests.type)}
          and d.id <> ${qualified(privacyRequests.id)} and d.state not in ${FINAL_STATE_LIST}
          and (d.created_at, d.id)
              < (${qualified(privacyRequests.createdAt)}, ${qualified(privacyRequests.id)})
        order by d.created_at limit 1)`,
    })
    .from(privacyRequests)
    .where(and(...where))
    .orderBy(asc(privacyRequests.dueDay), asc(privacyRequests.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit).map((r): QueueRow => {
    const open = !FINAL_STATES.includes(r.state as RequestState);
    return {
      id: r.id,
      userId: r.userId,
      type: r.type as RequestType,
      state: r.state as RequestState,
      regime: r.regime as Regime,
      source: r.source as RequestSource,
      verified: r.verified,
      receivedAt: r.receivedAt,
      dueDay: r.dueDay,
      extended: r.extendedDueDay !== null,
      assigneeId: r.assigneeId,
      assigneeName: r.assigneeId ? r.assigneeName : null,
      overdue: open && r.dueDay < today,
      dueSoon: open && r.dueDay >= today && r.dueDay <= soonDay,
      duplicateOf: r.duplicateOf,
    };
  });
  const last = page[page.length - 1];
  return {
    rows: page,
    next: rows.length > limit && last ? encodeCursor([last.dueDay, last.id]) : null,
  };
}

export interface RequestEvent {
  id: number;
  at: Date;
  actorLabel: string;
  kind: string;
  fromState: RequestState | null;
  toState: RequestState | null;
  note: string | null;
}

export interface RequestDetail {
  request: Omit<Row, 'detailsEnc'> & { assigneeName: string | null };
  events: RequestEvent[];
}

/** One request with its timeline (newest last), or a NotFoundError. No personal details. */
export async function getRequest(requestId: string): Promise<RequestDetail> {
  if (!z.uuid().safeParse(requestId).success) throw new NotFoundError('No such privacy request');
  const { detailsEnc: _sealed, ...columns } = getTableColumns(privacyRequests);
  const [row] = await getDb()
    .select({ ...columns, assigneeName: staffName(privacyRequests.assigneeId) })
    .from(privacyRequests)
    .where(eq(privacyRequests.id, requestId));
  if (!row) throw new NotFoundError('No such privacy request');
  const events = await getDb()
    .select({
      id: privacyRequestEvents.id,
      at: privacyRequestEvents.at,
      actorLabel: privacyRequestEvents.actorLabel,
      kind: privacyRequestEvents.kind,
      fromState: privacyRequestEvents.fromState,
      toState: privacyRequestEvents.toState,
      note: privacyRequestEvents.note,
    })
    .from(privacyRequestEvents)
    .where(eq(privacyRequestEvents.requestId, requestId))
    .orderBy(asc(privacyRequestEvents.id));
  return {
    request: { ...row, assigneeName: row.assigneeId ? row.assigneeName : null },
    events: events.map((e) => ({
      ...e,
      fromState: e.fromState as RequestState | null,
      toState: e.toState as RequestState | null,
    })),
  };
}

export interface RequestStatus {
  id: string;
  userId: string;
  type: RequestType;
  state: RequestState;
  verified: boolean;
  receivedAt: Date;
  dueDay: string;
  extendedDueDay: string | null;
  completedAt: Date | null;
  progress: { step: string | null; done: number; total: number };
}

/** Where a request stands, as the product may know it (the service API); null when unknown. */
export async function requestStatus(
  requestId: string,
  db: Tx | ReturnType<typeof getDb> = getDb(),
): Promise<RequestStatus | null> {
  if (!z.uuid().safeParse(requestId).success) return null;
  const [row] = await db
    .select({
      id: privacyRequests.id,
      userId: privacyRequests.userId,
      type: privacyRequests.type,
      state: privacyRequests.state,
      verified: privacyRequests.verified,
      receivedAt: privacyRequests.receivedAt,
      dueDay: privacyRequests.dueDay,
      extendedDueDay: privacyRequests.extendedDueDay,
      completedAt: privacyRequests.completedAt,
      step: privacyRequests.progressStep,
      done: privacyRequests.progressDone,
      total: privacyRequests.progressTotal,
    })
    .from(privacyRequests)
    .where(eq(privacyRequests.id, requestId));
  if (!row) return null;
  const { step, done, total, ...rest } = row;
  return {
    ...rest,
    type: row.type as RequestType,
    state: row.state as RequestState,
    progress: { step, done, total },
  };
}

/**
 * What a rectification or an objection asked, opened under the user's key. Only for the code
 * that carries the request out (and its tests): the pages never show it without a grant bound to
 * the request.
 */
export async function requestDetails(requestId: string): Promise<unknown> {
  const [row] = await getDb()
    .select({
      userId: privacyRequests.userId,
      type: privacyRequests.type,
      detailsEnc: privacyRequests.detailsEnc,
    })
    .from(privacyRequests)
    .where(eq(privacyRequests.id, requestId));
  if (!row) throw new NotFoundError('No such privacy request');
  if (!row.detailsEnc) return null;
  try {
    const text = await openForUser(row.userId, DETAILS_FIELD, requestId, row.detailsEnc);
    return row.type === 'rectification' ? JSON.parse(text) : text;
  } catch (error) {
    if (error instanceof GoneError) return null;
    throw error;
  }
}

/** Requests per user, newest first (the user page lists them). */
export async function requestsOfUser(userId: string, limit = 20) {
  if (!z.uuid().safeParse(userId).success) return [];
  return getDb()
    .select({
      id: privacyRequests.id,
      type: privacyRequests.type,
      state: privacyRequests.state,
      receivedAt: privacyRequests.receivedAt,
      dueDay: privacyRequests.dueDay,
    })
    .from(privacyRequests)
    .where(eq(privacyRequests.userId, userId))
    .orderBy(desc(privacyRequests.createdAt))
    .limit(limit);
}

// --- reviewing a rectification under a grant bound to the request (ADR 027) ---------------------

/**
 * A privacy officer asks for a grant of the user's profile bound to this rectification, to review
 * its before/after diff. A holder of privacy:approve other than the officer approves it; it ends
 * at the profile policy's longest duration or when the request closes, whichever comes first.
 */
export async function askReviewGrant(requestId: string, actor: StaffActor): Promise<PurposeGrant> {
  requirePermission(actor, 'privacy:process');
  return getDb().transaction(async (tx) => {
    const row = await lockOpenRequest(tx, requestId);
    if (row.type !== 'rectification') {
      throw new ConflictError('Only a rectification is reviewed under a grant of the profile');
    }
    const grant = await requestPurposeGrant(tx, {
      requester: actor,
      userId: row.userId,
      privacyRequestId: row.id,
    });
    await addEvent(tx, actor, {
      requestId: row.id,
      at: now(),
      kind: 'review_grant',
      note: `Asked for a grant of the profile to review the change (grant ${grant.grantId.slice(0, 8)})`,
    });
    return grant;
  });
}

export { purposeGrants };

export interface RectificationLine {
  field: ProfileField;
  current: string | null;
  requested: string;
}

export type RectificationReview =
  { open: true; lines: RectificationLine[] } | { open: false; fields: ProfileField[] };

/**
 * What a rectification asks, field by field: with a live grant of the user's profile, the current
 * value beside the requested one (an audited view of the profile); without one, only the names of
 * the fields (no personal data, nothing audited).
 */
export async function reviewRectification(
  requestId: string,
  actor: StaffActor,
): Promise<RectificationReview> {
  requirePermission(actor, 'privacy:process');
  const { request } = await getRequest(requestId);
  if (request.type !== 'rectification') throw new ConflictError('Not a rectification');
  const target = { userId: request.userId, category: 'profile' as const };
  const fieldsOf = (changes: unknown) => Object.keys(changes ?? {}).sort() as ProfileField[];
  const live = await findLiveGrant({ staffId: actor.staffId, ...target });
  if (!live) {
    // The names of the fields are in the audit trail already (privacy.request); not the values.
    return { open: false, fields: fieldsOf(await namesOnly(requestId)) };
  }
  const gated = await openCategory(
    actor,
    { ...target, route: `/privacy/${requestId}`, page: 'privacy_review' },
    async () => {
      const [changes, current] = await Promise.all([
        requestDetails(requestId),
        readProfileFields(request.userId),
      ]);
      const asked = (changes ?? {}) as Partial<Record<ProfileField, string>>;
      return fieldsOf(asked).map((field) => ({
        field,
        current: current?.[field] ?? null,
        requested: asked[field] ?? '',
      }));
    },
  );
  if (!gated.open) return { open: false, fields: fieldsOf(await namesOnly(requestId)) };
  return { open: true, lines: gated.data };
}

/** The rectification's field names, opened from its details without keeping the values. */
async function namesOnly(requestId: string): Promise<Record<string, true>> {
  const changes = (await requestDetails(requestId)) as Record<string, unknown> | null;
  return Object.fromEntries(Object.keys(changes ?? {}).map((k) => [k, true] as const));
}

/** What waits on a privacy officer: the counts behind the home page's card. */
export interface PrivacyWorklist {
  assignedToMe: number;
  unassigned: number;
  toApprove: number;
  overdue: number;
}

/** Counts over open requests only (their partial indexes; the closed history is not read). */
export async function privacyWorklist(viewer: StaffActor): Promise<PrivacyWorklist> {
  const today = now().toISOString().slice(0, 10);
  const [row] = await getDb()
    .select({
      assignedToMe: sql<number>`count(*) filter (where ${privacyRequests.assigneeId} = ${viewer.staffId})::int`,
      unassigned: sql<number>`count(*) filter (where ${privacyRequests.assigneeId} is null)::int`,
      toApprove: sql<number>`count(*) filter (where ${privacyRequests.state} = 'awaiting_approval'
        and ${privacyRequests.proposedBy} is distinct from ${viewer.staffId})::int`,
      overdue: sql<number>`count(*) filter (where ${privacyRequests.dueDay} < ${today}::date)::int`,
    })
    .from(privacyRequests)
    .where(sql`${privacyRequests.state} not in ${FINAL_STATE_LIST}`);
  return row ?? { assignedToMe: 0, unassigned: 0, toApprove: 0, overdue: 0 };
}
