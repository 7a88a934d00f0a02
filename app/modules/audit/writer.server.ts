import { z } from 'zod';
import { getSql, type Db, type Tx } from '#app/db/client.server.ts';
import { sql } from 'drizzle-orm';
import { now } from '#app/modules/clock.server.ts';
import { canonicalBytes } from './canonical.ts';
import { AUDIT_ACTIONS, type AuditAction } from './catalogue.server.ts';
import { EnvelopeSchema } from './entry.server.ts';
import { batched } from '#app/db/batch.server.ts';
import type { Actor } from '#app/modules/actor.ts';

// The one audit writer. Routes and modules call recordAudit(); nothing else inserts into the
// trail. The entry is queued in the same transaction as the change it records (or, for a view,
// committed before the response), and the sequencer gives it its position in the log.

export type Outcome = 'allowed' | 'denied' | 'failed';

export type AuditEvent<A extends AuditAction = AuditAction> = {
  action: A;
  outcome: Outcome;
  subjectStaffId?: string | null;
  userId?: string | null;
  grantId?: string | null;
  privacyRequestId?: string | null;
  purpose?: string | null;
  details: z.input<(typeof AUDIT_ACTIONS)[A]['details']>;
};

export class AuditWriteError extends Error {}

/**
 * The entry as queued: everything but its position (`seq`) and the previous leaf (`prev`). The
 * actor, its session and its client come from the one Actor; Custodian itself (the command line,
 * a job) and a visitor who is not signed in are recorded with no actor; a service token by its
 * name and id.
 */
export function buildEntry(actor: Actor, event: AuditEvent, at: Date) {
  const spec = AUDIT_ACTIONS[event.action];
  if (!spec) throw new AuditWriteError(`unknown audit action ${String(event.action)}`);
  const details = spec.details.safeParse(event.details);
  if (!details.success) {
    throw new AuditWriteError(
      `audit ${event.action}: details.${String(details.error.issues[0]?.path.join('.'))}: ${details.error.issues[0]?.message}`,
    );
  }
  const envelope = EnvelopeSchema.safeParse({
    outcome: event.outcome,
    actor:
      actor.kind === 'staff'
        ? { staffId: actor.staffId, roles: [...actor.roles].sort() }
        : actor.kind === 'service'
          ? { service: actor.name, tokenId: actor.tokenId }
          : null,
    subjectStaffId: event.subjectStaffId ?? null,
    userId: event.userId ?? null,
    grantId: event.grantId ?? null,
    privacyRequestId: event.privacyRequestId ?? null,
    sessionId: actor.kind === 'staff' ? actor.sessionId : null,
    purpose: event.purpose ?? null,
    client: {
      address: actor.client.address || null,
      userAgent: actor.client.userAgent ? actor.client.userAgent.slice(0, 256) : null,
    },
  });
  if (!envelope.success) {
    const issue = envelope.error.issues[0]!;
    throw new AuditWriteError(`audit ${event.action}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return {
    v: 1,
    time: at.toISOString(),
    action: event.action,
    category: spec.category,
    ...envelope.data,
    details: details.data,
  };
}

/**
 * The canonical bytes of one entry, for the one statement that queues an entry itself: the user
 * lookup's `console.record_lookup` (drizzle/0014), which counts the lookup and queues its entry
 * in one round trip. Everything else goes through recordAudit().
 */
export function auditBody<A extends AuditAction>(
  actor: Actor,
  event: AuditEvent<A>,
  at: Date,
): Buffer {
  return canonicalBytes(buildEntry(actor, event, at));
}

/**
 * Entries queued on their own (views), many in one prepared statement: one commit, one round trip.
 * Each caller waits for the commit of the statement that carried its entry; when it fails, every
 * entry in it fails, and so does every request that was waiting for one.
 */
const queueView = batched<{ body: Buffer; at: string }, null>(async (entries) => {
  // Bytes travel as hex: the driver sends an array of buffers as a single bytea.
  await getSql()`insert into console.audit_intake (body, enqueued_at)
                 select decode(b, 'hex'), at::timestamptz
                   from unnest(${entries.map((e) => e.body.toString('hex'))}::text[],
                               ${entries.map((e) => e.at)}::text[]) as k(b, at)`;
  return entries.map(() => null);
});

/**
 * Queues one audit entry of what `actor` did. Pass the transaction of the change it records;
 * without one (a view), the entry commits on its own before this returns.
 */
export async function recordAudit<A extends AuditAction>(
  actor: Actor,
  event: AuditEvent<A>,
  tx?: Db | Tx,
): Promise<void> {
  const at = now();
  const body = auditBody(actor, event, at);
  if (!tx) {
    // A view's entry, on every request for personal data: concurrent views are queued together
    // (ADR 014), and this returns when the statement that carried this entry has committed.
    await queueView({ body, at: at.toISOString() });
    return;
  }
  // A plain statement in the change's transaction: the query builder's cost shows here too.
  await tx.execute(
    sql`insert into console.audit_intake (body, enqueued_at) values (${body}, ${at.toISOString()})`,
  );
}
