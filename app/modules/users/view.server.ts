import { json } from '@remix-run/node';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { readRevealedField } from './data.server.ts';
import { categoryOfField, type RevealField } from './fields.ts';
import type { GrantRefusal } from '#app/modules/access/errors.ts';
import { checkLiveGrant, type LiveGrant } from './grant-gate.server.ts';
import { auditActorOf, type Viewer } from './viewer.server.ts';

// Law 2 and law 3 for the user pages: nothing personal without a live grant covering this staff
// member, this user and this category, checked at every request before any data is read; the view
// (or the refusal) is committed before anything is returned, so when the entry cannot be written
// the request fails and shows nothing. The read runs while the entry commits (ADR 013): its result
// is dropped unless the commit succeeded.

async function requireGrant(
  viewer: Viewer,
  target: { userId: string; category: DataCategory; route: string },
): Promise<LiveGrant> {
  const answer = await checkLiveGrant({
    staffId: viewer.staffId,
    userId: target.userId,
    category: target.category,
  });
  if (answer.live) return answer.grant;
  await recordAudit({
    action: 'access.denied',
    outcome: 'denied',
    actor: auditActorOf(viewer),
    userId: target.userId,
    sessionId: viewer.sessionId,
    client: viewer.client,
    details: { reason: `${answer.reason}:${target.category}`, route: target.route.slice(0, 200) },
  });
  const refusal: GrantRefusal = {
    kind: 'grant',
    message: answer.message,
    missing: answer.missing,
    at: answer.at?.toISOString() ?? null,
    userId: target.userId,
    category: target.category,
  };
  throw json(refusal, { status: 403 });
}

/** Waits for both; the audit write's failure wins, so nothing read is returned without its entry. */
async function auditAlongside<T>(audit: Promise<void>, read: Promise<T>): Promise<T> {
  const [written, data] = await Promise.allSettled([audit, read]);
  if (written.status === 'rejected') throw written.reason;
  if (data.status === 'rejected') throw data.reason;
  return data.value;
}

/**
 * Checks the grant, then records the view (user.view, with the grant's id) while `read` runs.
 * Throws a 403 (audited as access.denied) without a live grant, before `read` starts; returns
 * the read's result only once the view's entry has committed.
 */
export async function openCategory<T>(
  viewer: Viewer,
  target: { userId: string; category: DataCategory; page: string; route: string },
  read: () => Promise<T>,
): Promise<{ grant: LiveGrant; data: T }> {
  const grant = await requireGrant(viewer, target);
  const audit = recordAudit({
    action: 'user.view',
    outcome: 'allowed',
    actor: auditActorOf(viewer),
    userId: target.userId,
    grantId: grant.id,
    purpose: grant.reasonCode,
    sessionId: viewer.sessionId,
    client: viewer.client,
    details: { category: target.category, page: target.page },
  });
  return { grant, data: await auditAlongside(audit, read()) };
}

/**
 * Reveals one masked field under a live grant for its category: the reveal is recorded with the
 * field's code and committed, then the value is read and decrypted.
 */
export async function revealField(
  viewer: Viewer,
  target: { userId: string; field: RevealField; route: string },
): Promise<{ field: RevealField; value: string | null; grant: LiveGrant }> {
  const category = categoryOfField(target.field);
  const grant = await requireGrant(viewer, { ...target, category });
  await recordAudit({
    action: 'user.reveal',
    outcome: 'allowed',
    actor: auditActorOf(viewer),
    userId: target.userId,
    grantId: grant.id,
    purpose: grant.reasonCode,
    sessionId: viewer.sessionId,
    client: viewer.client,
    details: { category, field: target.field },
  });
  return {
    field: target.field,
    value: await readRevealedField(target.userId, target.field),
    grant,
  };
}
