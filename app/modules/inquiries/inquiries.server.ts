import { randomUUID } from 'node:crypto';
import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { inquiries, inquiryMessages } from '#app/db/schema.ts';
import { staffIdOf, type Actor, type StaffActor } from '#app/modules/actor.ts';
import { openInquiryThread, type Gated } from '#app/modules/access/gate.server.ts';
import {
  endInquiryGrants,
  holdsLiveInquiryGrant,
  openInquiryGrant,
} from '#app/modules/access/grants.server.ts';
import { registerPurpose } from '#app/modules/access/purposes.server.ts';
import { activeStaff, staffHolds } from '#app/modules/auth/permissions.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { nudgeOutbox, queueInquiryReply } from '#app/modules/privacy/outbox.server.ts';
import { createRequest } from '#app/modules/privacy/requests.server.ts';
import { isErased } from '#app/modules/privacy/tombstones.server.ts';
import { qualified, staffName } from '#app/modules/staff-names.server.ts';
import {
  maskedEmailsOf,
  openForUser,
  sealForUserIn,
  userFacts,
  userIdByEmail,
} from '#app/modules/users/data.server.ts';
import { decodeCursor, encodeCursor } from '#app/utils/cursor.server.ts';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  InputError,
  NotFoundError,
} from '#app/utils/errors.ts';
import type { InquiryQuery } from './input.server.ts';
import {
  ASSIGNMENT_GRANT_MINUTES,
  DUE_SOON_HOURS,
  INQUIRY_TARGETS,
  type InquiryCategory,
  type InquirySource,
  type InquiryState,
  type MessageAuthor,
  type SettableState,
} from './vocabulary.ts';

// Support inquiries (issue 15, ADR 034): users' questions, filed by the product through the
// service API or entered by staff, worked from a queue. The subject and every message are sealed
// under the user's data key. Reading a thread is reading personal data (category `inquiries`):
// the assignment gives its assignee a grant of that thread alone, bound to the inquiry and ended
// in the same transaction when the inquiry goes to someone else or closes.

const SUBJECT_FIELD = 'inquiries.subject';
const BODY_FIELD = 'inquiry_messages.body';
const HOUR = 3_600_000;

type Row = typeof inquiries.$inferSelect;

function requirePermission(actor: Actor, permission: 'inquiries:answer' | 'inquiries:assign') {
  if (actor.kind === 'staff' && !actor.permissions.has(permission)) {
    throw new ForbiddenError(`This takes the ${permission} permission`);
  }
}

async function lockInquiry(tx: Tx, inquiryId: string): Promise<Row> {
  if (!z.uuid().safeParse(inquiryId).success) throw new NotFoundError('No inquiry has this id');
  const [row] = await tx.select().from(inquiries).where(eq(inquiries.id, inquiryId)).for('update');
  if (!row) throw new NotFoundError('No inquiry has this id');
  return row;
}

async function lockOpenInquiry(tx: Tx, inquiryId: string): Promise<Row> {
  const row = await lockInquiry(tx, inquiryId);
  if (row.state === 'closed') throw new ConflictError('This inquiry is closed');
  return row;
}

/** A change of state, audited (the state itself is written by the caller). */
async function transition(tx: Tx, actor: Actor, row: Row, to: InquiryState) {
  if (row.state === to) return;
  await recordAudit(
    actor,
    {
      action: 'inquiry.transition',
      outcome: 'allowed',
      userId: row.userId,
      details: { inquiry: row.id, from: row.state, to },
    },
    tx,
  );
}

// --- purpose binding -------------------------------------------------------------------------

/**
 * A grant asked for with the reason support_inquiry names an open inquiry of its user assigned to
 * the requester (ADR 034). Read in the grant's transaction; the row is held against a concurrent
 * close or reassignment, which then ends the new grant with the others.
 */
registerPurpose('support_inquiry', async (tx, id) => {
  const [row] = await tx
    .select({ userId: inquiries.userId, assigneeId: inquiries.assigneeId, state: inquiries.state })
    .from(inquiries)
    .where(eq(inquiries.id, id))
    .for('share');
  if (!row) return null;
  return { userId: row.userId, assigneeId: row.assigneeId, open: row.state !== 'closed' };
});

// --- intake ----------------------------------------------------------------------------------

export interface NewInquiry {
  userId: string;
  subject: string;
  body: string;
  category: InquiryCategory;
}

export interface CreatedInquiry {
  id: string;
  state: 'new';
  firstResponseDueAt: Date;
  resolutionDueAt: Date;
}

/** The user an email names, or a 404 naming the field `email`. */
export async function userOfEmail(email: string): Promise<string> {
  const id = await userIdByEmail(email);
  if (!id) throw new NotFoundError('No user has this email');
  return id;
}

/**
 * An inquiry received: from the product (a service token) or entered by staff (inquiries:answer).
 * The user must exist and not be erased. Subject and first message are sealed under the user's
 * key in the transaction that writes the inquiry and its audit entry (the caller's, when given).
 */
export async function createInquiry(
  input: NewInquiry,
  actor: Actor,
  options: { tx?: Tx; receivedAt?: Date } = {},
): Promise<CreatedInquiry> {
  requirePermission(actor, 'inquiries:answer');
  if (await isErased(input.userId)) throw new GoneError('This user was erased');
  if (!(await userFacts(input.userId))) throw new NotFoundError('No user has this id');
  const id = randomUUID();
  const messageId = randomUUID();
  const at = options.receivedAt ?? now();
  const target = INQUIRY_TARGETS[input.category];
  const firstResponseDueAt = new Date(at.getTime() + target.firstResponseHours * HOUR);
  const resolutionDueAt = new Date(at.getTime() + target.resolutionHours * HOUR);
  const source: InquirySource = actor.kind === 'staff' ? 'staff' : 'api';
  const write = async (tx: Tx) => {
    const subjectEnc = await sealForUserIn(tx, input.userId, SUBJECT_FIELD, id, input.subject);
    const bodyEnc = await sealForUserIn(tx, input.userId, BODY_FIELD, messageId, input.body);
    await tx.insert(inquiries).values({
      id,
      userId: input.userId,
      category: input.category,
      state: 'new',
      source,
      subjectEnc,
      createdBy: staffIdOf(actor),
      assigneeId: null,
      receivedAt: at,
      firstResponseDueAt,
      resolutionDueAt,
      createdAt: at,
      updatedAt: at,
    });
    await tx.insert(inquiryMessages).values({
      id: messageId,
      inquiryId: id,
      userId: input.userId,
      author: 'user',
      staffId: null,
      bodyEnc,
      createdAt: at,
    });
    await recordAudit(
      actor,
      {
        action: 'inquiry.create',
        outcome: 'allowed',
        userId: input.userId,
        details: { inquiry: id, category: input.category, source },
      },
      tx,
    );
  };
  if (options.tx) await write(options.tx);
  else await getDb().transaction(write);
  return { id, state: 'new', firstResponseDueAt, resolutionDueAt };
}

// --- assignment ------------------------------------------------------------------------------

/**
 * Gives the inquiry to `assigneeId`: a holder of inquiries:assign gives it to anyone holding
 * inquiries:answer; a holder of inquiries:answer takes an unassigned one for themselves. The
 * previous assignee's grants bound to it end, and the new assignee's grant of the thread opens,
 * in this one transaction.
 */
export async function assignInquiry(
  inquiryId: string,
  assigneeId: string,
  actor: StaffActor,
): Promise<{ grantId: string }> {
  if (!z.uuid().safeParse(assigneeId).success) {
    throw new InputError('assignee', 'Choose a staff member');
  }
  const taking = assigneeId === actor.staffId;
  requirePermission(actor, 'inquiries:answer');
  if (!taking) requirePermission(actor, 'inquiries:assign');
  const result = await getDb().transaction(async (tx) => {
    const row = await lockOpenInquiry(tx, inquiryId);
    if (taking && row.assigneeId && !actor.permissions.has('inquiries:assign')) {
      throw new ConflictError('This inquiry is already assigned; a lead can give it to you');
    }
    if (row.assigneeId === assigneeId) {
      throw new ConflictError('This inquiry is already assigned to this person');
    }
    if (!(await staffHolds(assigneeId, 'inquiries:answer', tx))) {
      throw new InputError('assignee', 'This staff member does not work inquiries');
    }
    const at = now();
    if (row.assigneeId) await endInquiryGrants(tx, row.id, actor, row.assigneeId);
    const grant = await openInquiryGrant(tx, {
      actor,
      assigneeId,
      userId: row.userId,
      inquiryId: row.id,
      minutes: ASSIGNMENT_GRANT_MINUTES,
    });
    const state: InquiryState = row.state === 'new' ? 'assigned' : (row.state as InquiryState);
    await tx
      .update(inquiries)
      .set({ assigneeId, state, updatedAt: at })
      .where(eq(inquiries.id, row.id));
    await recordAudit(
      actor,
      {
        action: 'inquiry.assign',
        outcome: 'allowed',
        userId: row.userId,
        subjectStaffId: assigneeId,
        grantId: grant.grantId,
        details: { inquiry: row.id, from: row.assigneeId, to: assigneeId, grant: grant.grantId },
      },
      tx,
    );
    await transition(tx, actor, row, state);
    return { grantId: grant.grantId };
  });
  return result;
}

/**
 * The assignee's grant of the thread lasts ASSIGNMENT_GRANT_MINUTES; while the inquiry stays
 * theirs and open, they renew it (audited like the assignment). Refused while one is live.
 */
export async function renewAssignmentGrant(
  inquiryId: string,
  actor: StaffActor,
): Promise<{ grantId: string }> {
  requirePermission(actor, 'inquiries:answer');
  return getDb().transaction(async (tx) => {
    const row = await lockOpenInquiry(tx, inquiryId);
    if (row.assigneeId !== actor.staffId) {
      throw new ForbiddenError('Only the inquiry’s assignee renews its grant');
    }
    if (await holdsLiveInquiryGrant(tx, row.id, actor.staffId)) {
      throw new ConflictError('Your grant of this thread is still live');
    }
    const grant = await openInquiryGrant(tx, {
      actor,
      assigneeId: actor.staffId,
      userId: row.userId,
      inquiryId: row.id,
      minutes: ASSIGNMENT_GRANT_MINUTES,
    });
    await recordAudit(
      actor,
      {
        action: 'inquiry.assign',
        outcome: 'allowed',
        userId: row.userId,
        subjectStaffId: actor.staffId,
        grantId: grant.grantId,
        details: {
          inquiry: row.id,
          from: actor.staffId,
          to: actor.staffId,
          grant: grant.grantId,
          renew: true,
        },
      },
      tx,
    );
    return { grantId: grant.grantId };
  });
}

// --- the assignee's work ---------------------------------------------------------------------

async function lockAsAssignee(tx: Tx, inquiryId: string, actor: StaffActor) {
  const row = await lockOpenInquiry(tx, inquiryId);
  if (row.assigneeId !== actor.staffId) {
    throw new ForbiddenError('Only the inquiry’s assignee does this');
  }
  return row;
}

/**
 * The assignee answers: the reply is stored on the thread (sealed) and queued to the user's
 * address through the end-user outbox, in one transaction; the inquiry moves to `next`.
 */
export async function replyToInquiry(
  inquiryId: string,
  reply: { body: string; next: SettableState },
  actor: StaffActor,
): Promise<{ messageId: string; queued: boolean }> {
  requirePermission(actor, 'inquiries:answer');
  const result = await getDb().transaction(async (tx) => {
    const row = await lockAsAssignee(tx, inquiryId, actor);
    const at = now();
    const messageId = randomUUID();
    const bodyEnc = await sealForUserIn(tx, row.userId, BODY_FIELD, messageId, reply.body);
    await tx.insert(inquiryMessages).values({
      id: messageId,
      inquiryId: row.id,
      userId: row.userId,
      author: 'staff',
      staffId: actor.staffId,
      bodyEnc,
      createdAt: at,
    });
    const subject = await openForUser(row.userId, SUBJECT_FIELD, row.id, row.subjectEnc);
    const outboxId = await queueInquiryReply(tx, {
      userId: row.userId,
      inquiryId: row.id,
      subject,
      body: reply.body,
    });
    await tx
      .update(inquiries)
      .set({ state: reply.next, firstResponseAt: row.firstResponseAt ?? at, updatedAt: at })
      .where(eq(inquiries.id, row.id));
    await recordAudit(
      actor,
      {
        action: 'inquiry.reply',
        outcome: 'allowed',
        userId: row.userId,
        details: { inquiry: row.id, queued: outboxId !== null },
      },
      tx,
    );
    await transition(tx, actor, row, reply.next);
    return { messageId, queued: outboxId !== null };
  });
  await nudgeOutbox();
  return result;
}

/** The assignee marks the inquiry waiting on the user, or answered. */
export async function setInquiryState(
  inquiryId: string,
  state: SettableState,
  actor: StaffActor,
): Promise<void> {
  requirePermission(actor, 'inquiries:answer');
  await getDb().transaction(async (tx) => {
    const row = await lockAsAssignee(tx, inquiryId, actor);
    if (row.state === state) throw new ConflictError('The inquiry is already in this state');
    const at = now();
    await tx.update(inquiries).set({ state, updatedAt: at }).where(eq(inquiries.id, row.id));
    await transition(tx, actor, row, state);
  });
}

/**
 * Closes the inquiry: its assignee, or a holder of inquiries:assign. Every grant bound to it ends
 * in the same transaction (basis purpose_closed): the next request under one is refused.
 */
export async function closeInquiry(inquiryId: string, actor: Actor): Promise<void> {
  requirePermission(actor, 'inquiries:answer');
  await getDb().transaction(async (tx) => {
    const row = await lockOpenInquiry(tx, inquiryId);
    if (
      actor.kind === 'staff' &&
      row.assigneeId !== actor.staffId &&
      !actor.permissions.has('inquiries:assign')
    ) {
      throw new ForbiddenError('Only the inquiry’s assignee or a lead closes it');
    }
    const at = now();
    await tx
      .update(inquiries)
      .set({ state: 'closed', closedAt: at, updatedAt: at })
      .where(eq(inquiries.id, row.id));
    await endInquiryGrants(tx, row.id, actor);
    await transition(tx, actor, row, 'closed');
  });
}

/**
 * A privacy inquiry becomes a privacy request of the type the officer chose (privacy:process):
 * one action, linked both ways (the inquiry holds the request's id; the request page finds the
 * inquiry by it). Entered as staff-entered, so the user confirms it as any such request.
 */
export async function inquiryToPrivacyRequest(
  inquiryId: string,
  type: 'access' | 'portability' | 'erasure',
  actor: StaffActor,
): Promise<{ privacyRequestId: string }> {
  if (!actor.permissions.has('privacy:process')) {
    throw new ForbiddenError('This takes the privacy:process permission');
  }
  const requestId = await getDb().transaction(async (tx) => {
    const row = await lockOpenInquiry(tx, inquiryId);
    if (row.category !== 'privacy') {
      throw new ConflictError('Only a privacy inquiry turns into a privacy request');
    }
    if (row.privacyRequestId) {
      throw new ConflictError('This inquiry already turned into a privacy request');
    }
    const created = await createRequest({ userId: row.userId, type, channel: 'other' }, actor, {
      tx,
    });
    await tx
      .update(inquiries)
      .set({ privacyRequestId: created.id, updatedAt: now() })
      .where(eq(inquiries.id, row.id));
    await recordAudit(
      actor,
      {
        action: 'inquiry.to_privacy_request',
        outcome: 'allowed',
        userId: row.userId,
        privacyRequestId: created.id,
        details: { inquiry: row.id, type },
      },
      tx,
    );
    return created.id;
  });
  await nudgeOutbox();
  return { privacyRequestId: requestId };
}

// --- reading ---------------------------------------------------------------------------------

export interface InquirySummary {
  id: string;
  userId: string;
  category: InquiryCategory;
  state: InquiryState;
  source: InquirySource;
  assigneeId: string | null;
  assigneeName: string | null;
  receivedAt: Date;
  firstResponseDueAt: Date;
  resolutionDueAt: Date;
  firstResponseAt: Date | null;
  closedAt: Date | null;
  privacyRequestId: string | null;
  emailMasked: string | null;
  messages: number;
}

/** An inquiry as the queue and the page show it: codes, dates, counts; no subject, no text. */
export async function getInquiry(inquiryId: string): Promise<InquirySummary | null> {
  if (!z.uuid().safeParse(inquiryId).success) return null;
  const [row] = await getDb()
    .select({
      id: inquiries.id,
      userId: inquiries.userId,
      category: inquiries.category,
      state: inquiries.state,
      source: inquiries.source,
      assigneeId: inquiries.assigneeId,
      assigneeName: staffName(inquiries.assigneeId),
      receivedAt: inquiries.receivedAt,
      firstResponseDueAt: inquiries.firstResponseDueAt,
      resolutionDueAt: inquiries.resolutionDueAt,
      firstResponseAt: inquiries.firstResponseAt,
      closedAt: inquiries.closedAt,
      privacyRequestId: inquiries.privacyRequestId,
      messages: sql<number>`(select count(*)::int from console.inquiry_messages m where m.inquiry_id = ${qualified(inquiries.id)})`,
    })
    .from(inquiries)
    .where(eq(inquiries.id, inquiryId));
  if (!row) return null;
  const emails = await maskedEmailsOf([row.userId]);
  return {
    ...row,
    category: row.category as InquiryCategory,
    state: row.state as InquiryState,
    source: row.source as InquirySource,
    emailMasked: emails[row.userId] ?? null,
  };
}

/** The inquiry a privacy request came from, if any (the request page links back to it). */
export async function inquiryOfRequest(privacyRequestId: string): Promise<string | null> {
  if (!z.uuid().safeParse(privacyRequestId).success) return null;
  const [row] = await getDb()
    .select({ id: inquiries.id })
    .from(inquiries)
    .where(eq(inquiries.privacyRequestId, privacyRequestId));
  return row?.id ?? null;
}

export interface ThreadMessage {
  id: string;
  author: MessageAuthor;
  staffName: string | null;
  at: Date;
  body: string;
}

export interface Thread {
  subject: string;
  messages: ThreadMessage[];
}

async function readThread(row: { id: string; userId: string; subjectEnc: Buffer }) {
  const messages = await getDb()
    .select({
      id: inquiryMessages.id,
      author: inquiryMessages.author,
      staffName: staffName(inquiryMessages.staffId),
      at: inquiryMessages.createdAt,
      bodyEnc: inquiryMessages.bodyEnc,
    })
    .from(inquiryMessages)
    .where(eq(inquiryMessages.inquiryId, row.id))
    .orderBy(asc(inquiryMessages.createdAt), asc(inquiryMessages.id));
  const subject = await openForUser(row.userId, SUBJECT_FIELD, row.id, row.subjectEnc);
  const out: ThreadMessage[] = [];
  for (const m of messages) {
    out.push({
      id: m.id,
      author: m.author as MessageAuthor,
      staffName: m.staffName,
      at: m.at,
      body: await openForUser(row.userId, BODY_FIELD, m.id, m.bodyEnc),
    });
  }
  return { subject, messages: out };
}

/**
 * The thread (subject and messages), through the personal-data gate: only under a live grant
 * bound to this inquiry (its current assignee's) or break-glass; the read is audited before it
 * is returned, a refusal is audited as access.denied.
 */
export async function openThread(
  actor: StaffActor,
  inquiryId: string,
  route: string,
): Promise<Gated<Thread>> {
  if (!z.uuid().safeParse(inquiryId).success) throw new NotFoundError('No inquiry has this id');
  const [row] = await getDb()
    .select({ id: inquiries.id, userId: inquiries.userId, subjectEnc: inquiries.subjectEnc })
    .from(inquiries)
    .where(eq(inquiries.id, inquiryId));
  if (!row) throw new NotFoundError('No inquiry has this id');
  return openInquiryThread(
    actor,
    { userId: row.userId, inquiryId: row.id, route, page: 'inquiry' },
    () => readThread(row),
  );
}

// --- the queue -------------------------------------------------------------------------------

export interface QueueRow {
  id: string;
  userId: string;
  category: InquiryCategory;
  state: InquiryState;
  assigneeName: string | null;
  receivedAt: Date;
  /** The next target: first response until there is one, then resolution. */
  dueAt: Date;
  emailMasked: string | null;
}

const PAGE = 50;
const CursorSchema = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

/**
 * The agent's queue, keyset-paged on (received, id), oldest first: mine (open, assigned to me),
 * unassigned (new), due soon (open, the next target within DUE_SOON_HOURS or past), open, closed.
 */
export async function listInquiries(
  viewer: StaffActor,
  query: InquiryQuery,
): Promise<{ rows: QueueRow[]; next: string | null }> {
  requirePermission(viewer, 'inquiries:answer');
  const after = decodeCursor(CursorSchema, query.after);
  const at = now();
  const due = sql`case when ${inquiries.firstResponseAt} is null then least(${inquiries.firstResponseDueAt}, ${inquiries.resolutionDueAt}) else ${inquiries.resolutionDueAt} end`;
  const where: SQL[] = [];
  switch (query.view) {
    case 'mine':
      where.push(
        sql`${inquiries.assigneeId} = ${viewer.staffId}`,
        sql`${inquiries.state} <> 'closed'`,
      );
      break;
    case 'unassigned':
      where.push(sql`${inquiries.state} = 'new'`);
      break;
    case 'due_soon':
      where.push(
        sql`${inquiries.state} <> 'closed'`,
        sql`${due} <= ${new Date(at.getTime() + DUE_SOON_HOURS * HOUR).toISOString()}::timestamptz`,
      );
      break;
    case 'open':
      where.push(sql`${inquiries.state} <> 'closed'`);
      break;
    case 'closed':
      where.push(sql`${inquiries.state} = 'closed'`);
      break;
  }
  if (query.category) where.push(sql`${inquiries.category} = ${query.category}`);
  if (query.state) where.push(sql`${inquiries.state} = ${query.state}`);
  if (after) {
    where.push(
      sql`(${inquiries.receivedAt}, ${inquiries.id}) > (${after[0]}::timestamptz, ${after[1]}::uuid)`,
    );
  }
  const rows = await getDb()
    .select({
      id: inquiries.id,
      userId: inquiries.userId,
      category: inquiries.category,
      state: inquiries.state,
      assigneeName: staffName(inquiries.assigneeId),
      receivedAt: inquiries.receivedAt,
      dueAt: sql<string>`${due}`,
    })
    .from(inquiries)
    .where(and(...where))
    .orderBy(asc(inquiries.receivedAt), asc(inquiries.id))
    .limit(PAGE + 1);
  const page = rows.slice(0, PAGE);
  const emails = await maskedEmailsOf(page.map((r) => r.userId));
  const last = page[page.length - 1];
  return {
    rows: page.map((r) => ({
      ...r,
      category: r.category as InquiryCategory,
      state: r.state as InquiryState,
      dueAt: new Date(r.dueAt),
      emailMasked: emails[r.userId] ?? null,
    })),
    next:
      rows.length > PAGE && last ? encodeCursor([last.receivedAt.toISOString(), last.id]) : null,
  };
}

/** A user's open inquiries assigned to this staff member: what the grant form offers. */
export async function openInquiriesAssignedTo(staffId: string, userId: string) {
  if (!z.uuid().safeParse(staffId).success || !z.uuid().safeParse(userId).success) return [];
  const rows = await getDb()
    .select({
      id: inquiries.id,
      category: inquiries.category,
      state: inquiries.state,
      receivedAt: inquiries.receivedAt,
    })
    .from(inquiries)
    .where(
      and(
        eq(inquiries.assigneeId, staffId),
        eq(inquiries.userId, userId),
        sql`${inquiries.state} <> 'closed'`,
      ),
    )
    .orderBy(asc(inquiries.receivedAt), asc(inquiries.id))
    .limit(50);
  return rows.map((r) => ({
    ...r,
    category: r.category as InquiryCategory,
    state: r.state as InquiryState,
  }));
}

/** The staff who may be given an inquiry (active holders of inquiries:answer), by name. */
export async function inquiryStaffChoices(): Promise<{ id: string; name: string }[]> {
  const rows = await getDb().execute<{ id: string; name: string }>(sql`
    select s.id, ${staffName(sql`s.id`)} as name
      from ${activeStaff({ holdersOf: ['inquiries:answer'] })} s
     order by 2, 1
     limit 500`);
  return [...rows];
}
