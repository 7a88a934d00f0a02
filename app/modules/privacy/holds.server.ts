import { randomUUID } from 'node:crypto';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { legalHolds } from '#app/db/schema.ts';
import { staffIdOf, type Actor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { staffName } from '#app/modules/staff-names.server.ts';
import { userFacts } from '#app/modules/users/data.server.ts';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  InputError,
  NotFoundError,
} from '#app/utils/errors.ts';
import { isErased } from './tombstones.server.ts';

// Legal holds (ADR 026): a privacy officer puts a user's data under a hold (litigation, an
// authority's order) with a reason, and lifts it with a reason. While a hold is active no erasure
// of the user starts, and an erasure already running stops at its next batch and fails with the
// hold's reason. Holds are on the user, not on a request: every request of the user sees them.

export class LegalHoldError extends ConflictError {}

const UUID = z.uuid();

function requireOfficer(actor: Actor) {
  if (actor.kind === 'staff' && !actor.permissions.has('privacy:process')) {
    throw new ForbiddenError('This takes the privacy:process permission');
  }
}

function reasonOf(raw: string, field: string): string {
  const reason = raw.trim();
  if (!reason) throw new InputError(field, 'Say why');
  if (reason.length > 2_000) throw new InputError(field, 'The reason is at most 2000 characters');
  return reason;
}

export interface LegalHold {
  id: string;
  userId: string;
  reason: string;
  setAt: Date;
  setByName: string | null;
  liftedAt: Date | null;
  liftReason: string | null;
  liftedByName: string | null;
}

/** The active hold on the user, if any (in `tx`, locked against a concurrent lift, when given). */
export async function activeHold(userId: string, tx?: Tx) {
  if (!UUID.safeParse(userId).success) return null;
  const query = (tx ?? getDb())
    .select({ id: legalHolds.id, reason: legalHolds.reason, setAt: legalHolds.setAt })
    .from(legalHolds)
    .where(and(eq(legalHolds.userId, userId), isNull(legalHolds.liftedAt)));
  const [row] = tx ? await query.for('share') : await query;
  return row ?? null;
}

/** Throws a LegalHoldError (a ConflictError, 409) naming the hold's reason when one is active. */
export async function refuseIfHeld(userId: string, tx?: Tx): Promise<void> {
  const hold = await activeHold(userId, tx);
  if (hold) {
    throw new LegalHoldError(
      `A legal hold blocks erasing this user (set ${hold.setAt.toISOString().slice(0, 10)}): ${hold.reason}`,
    );
  }
}

/** Every hold of the user, newest first (the request page and the user page show them). */
export async function holdsOfUser(userId: string): Promise<LegalHold[]> {
  if (!UUID.safeParse(userId).success) return [];
  const rows = await getDb()
    .select({
      id: legalHolds.id,
      userId: legalHolds.userId,
      reason: legalHolds.reason,
      setAt: legalHolds.setAt,
      setBy: legalHolds.setBy,
      setByName: staffName(legalHolds.setBy),
      liftedAt: legalHolds.liftedAt,
      liftReason: legalHolds.liftReason,
      liftedBy: legalHolds.liftedBy,
      liftedByName: staffName(legalHolds.liftedBy),
    })
    .from(legalHolds)
    .where(eq(legalHolds.userId, userId))
    .orderBy(desc(legalHolds.setAt), desc(legalHolds.id))
    .limit(50);
  return rows.map((r) => ({
    id: r.id,
    userId: r.userId,
    reason: r.reason,
    setAt: r.setAt,
    setByName: r.setBy ? r.setByName : null,
    liftedAt: r.liftedAt,
    liftReason: r.liftReason,
    liftedByName: r.liftedBy ? r.liftedByName : null,
  }));
}

/** Puts the user under a legal hold, with its reason; audited. One active hold per user. */
export async function setLegalHold(userId: string, reason: string, actor: Actor) {
  requireOfficer(actor);
  if (!UUID.safeParse(userId).success) throw new InputError('userId', 'Not a user id');
  const text = reasonOf(reason, 'reason');
  if (await isErased(userId)) throw new GoneError('This user was erased: there is nothing to hold');
  if (!(await userFacts(userId))) throw new NotFoundError('No user has this id');
  const id = randomUUID();
  await getDb().transaction(async (tx) => {
    if (await activeHold(userId, tx)) {
      throw new ConflictError('This user is already under a legal hold');
    }
    const at = now();
    await tx
      .insert(legalHolds)
      .values({ id, userId, reason: text, setBy: staffIdOf(actor), setAt: at })
      .onConflictDoNothing();
    const [stored] = await tx
      .select({ id: legalHolds.id })
      .from(legalHolds)
      .where(eq(legalHolds.id, id));
    if (!stored) throw new ConflictError('This user is already under a legal hold');
    await recordAudit(
      actor,
      {
        action: 'privacy.legal_hold',
        outcome: 'allowed',
        userId,
        details: { hold: id, change: 'set' },
      },
      tx,
    );
  });
  return { id };
}

/** Lifts the user's active hold, with a reason; audited. */
export async function liftLegalHold(userId: string, reason: string, actor: Actor) {
  requireOfficer(actor);
  if (!UUID.safeParse(userId).success) throw new InputError('userId', 'Not a user id');
  const text = reasonOf(reason, 'reason');
  return getDb().transaction(async (tx) => {
    const [hold] = await tx
      .select({ id: legalHolds.id })
      .from(legalHolds)
      .where(and(eq(legalHolds.userId, userId), isNull(legalHolds.liftedAt)))
      .for('update');
    if (!hold) throw new ConflictError('This user is under no legal hold');
    await tx
      .update(legalHolds)
      .set({ liftedAt: now(), liftedBy: staffIdOf(actor), liftReason: text })
      .where(eq(legalHolds.id, hold.id));
    await recordAudit(
      actor,
      {
        action: 'privacy.legal_hold',
        outcome: 'allowed',
        userId,
        details: { hold: hold.id, change: 'lift' },
      },
      tx,
    );
    return { id: hold.id };
  });
}
