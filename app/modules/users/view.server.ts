import { json } from '@remix-run/node';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { readRevealedField } from './data.server.ts';
import { categoryOfField, type RevealField } from './fields.ts';
import type { GrantRefusal } from './grant-refusal.tsx';
import { checkLiveGrant, type LiveGrant } from './grant-gate.server.ts';
import { auditActorOf, type Viewer } from './viewer.server.ts';

// Law 2 and law 3 for the user pages: nothing personal without a live grant covering this staff
// member, this user and this category, checked at every request; the view (or the refusal) is
// recorded and committed before any data is read, so when the entry cannot be written the request
// fails and shows nothing.

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

/**
 * Checks the grant and records the view (user.view, with the grant's id).
 * Throws a 403 (audited as access.denied) without a live grant. Call before reading any data.
 */
export async function openCategory(
  viewer: Viewer,
  target: { userId: string; category: DataCategory; page: string; route: string },
): Promise<LiveGrant> {
  const grant = await requireGrant(viewer, target);
  await recordAudit({
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
  return grant;
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
