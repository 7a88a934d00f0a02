import type { StaffActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { refusalReason, type GrantRefusal } from './errors.ts';
import { checkInquiryGrant, checkLiveGrant, type LiveGrant } from './live.server.ts';

// The personal-data gate: law 2 and law 3 in one place. Nothing personal without a live grant
// covering this staff member, this user and this category, checked at every request before any
// data is read; the view (or the refusal) is committed before anything is returned, so when the
// entry cannot be written the request fails and shows nothing. The read runs while the entry
// commits (ADR 013): its result is dropped unless the commit succeeded. A refusal is a value,
// already audited; the route decides how to answer it.

export type Gated<T> =
  { open: true; grant: LiveGrant; data: T } | { open: false; refusal: GrantRefusal };

interface Target {
  userId: string;
  category: DataCategory;
  /** The path asked for, in the refusal's audit entry. */
  route: string;
}

/** The live grant, or the refusal with its access.denied entry committed. */
async function admit(actor: StaffActor, target: Target & { inquiryId?: string }) {
  const check = target.inquiryId
    ? await checkInquiryGrant({
        staffId: actor.staffId,
        userId: target.userId,
        inquiryId: target.inquiryId,
      })
    : await checkLiveGrant({ staffId: actor.staffId, ...target });
  if (check.live) return check;
  await recordAudit(actor, {
    action: 'access.denied',
    outcome: 'denied',
    userId: target.userId,
    // The grant the refusal concerns (revoked, expired, denied, pending, not yet started), so that
    // filtering the trail by a grant finds the attempts made after it ended.
    grantId: check.refusal.grantId,
    details: {
      reason: `${refusalReason(check.refusal.missing)}:${target.category}`,
      route: target.route.slice(0, 200),
    },
  });
  return check;
}

/** Waits for both; the audit write's failure wins, so nothing read is returned without its entry. */
async function auditAlongside<T>(audit: Promise<void>, read: Promise<T>): Promise<T> {
  const [written, data] = await Promise.allSettled([audit, read]);
  if (written.status === 'rejected') throw written.reason;
  if (data.status === 'rejected') throw data.reason;
  return data.value;
}

/**
 * Opens one category of a user's data for `actor`: checks the grant, then records the view
 * (user.view, with the grant's id and purpose) while `read` runs. Without a live grant it returns
 * the refusal, audited as access.denied, and `read` never starts.
 */
export async function openCategory<T>(
  actor: StaffActor,
  target: Target & { page: string },
  read: () => Promise<T>,
): Promise<Gated<T>> {
  const check = await admit(actor, target);
  if (!check.live) return { open: false, refusal: check.refusal };
  const { grant } = check;
  const audit = recordAudit(actor, {
    action: 'user.view',
    outcome: 'allowed',
    userId: target.userId,
    grantId: grant.grantId,
    purpose: grant.reasonCode,
    details: { category: target.category, page: target.page },
  });
  return { open: true, grant, data: await auditAlongside(audit, read()) };
}

/**
 * Opens one inquiry's thread (category inquiries) for `actor`: only under a grant bound to this
 * inquiry, or break-glass (ADR 034). The read is recorded as user.view with the inquiry's id;
 * without such a grant the refusal is audited as access.denied and `read` never starts.
 */
export async function openInquiryThread<T>(
  actor: StaffActor,
  target: { userId: string; inquiryId: string; route: string; page: string },
  read: () => Promise<T>,
): Promise<Gated<T>> {
  const check = await admit(actor, { ...target, category: 'inquiries' });
  if (!check.live) return { open: false, refusal: check.refusal };
  const { grant } = check;
  const audit = recordAudit(actor, {
    action: 'user.view',
    outcome: 'allowed',
    userId: target.userId,
    grantId: grant.grantId,
    purpose: grant.reasonCode,
    details: { category: 'inquiries', page: target.page, inquiry: target.inquiryId },
  });
  return { open: true, grant, data: await auditAlongside(audit, read()) };
}

/**
 * Reveals one masked field under a live grant for its category: the reveal (user.reveal, with the
 * field's code) is committed, then `read` decrypts the value.
 */
export async function revealField<T>(
  actor: StaffActor,
  target: Target & { field: string },
  read: () => Promise<T>,
): Promise<Gated<T>> {
  const check = await admit(actor, target);
  if (!check.live) return { open: false, refusal: check.refusal };
  const { grant } = check;
  await recordAudit(actor, {
    action: 'user.reveal',
    outcome: 'allowed',
    userId: target.userId,
    grantId: grant.grantId,
    purpose: grant.reasonCode,
    details: { category: target.category, field: target.field },
  });
  return { open: true, grant, data: await read() };
}
