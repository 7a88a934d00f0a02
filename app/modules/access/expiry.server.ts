import { sql } from 'drizzle-orm';
import type { ExpiryTarget } from '#app/db/expiry.server.ts';

// What retention may remove from the access capability's tables (ADR 032), declared here, where
// the tables are owned; the retention engine counts and removes in batches.

const at = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/** Notifications created before the cut-off. */
export function expiredNotifications(cutoff: Date): ExpiryTarget {
  return {
    table: 'console.notifications',
    key: 'id',
    expired: sql`created_at < ${at(cutoff)}`,
  };
}

/**
 * Closed grants (denied, revoked, expired, cancelled) closed before the cut-off keep their row:
 * the access history a user reads, the security review and the trail all name it, and the app's
 * role may not delete one (drizzle/0009). What goes is what staff typed: the justification, the
 * ticket reference and the review comment. A break-glass use still waiting for its review is kept
 * whole. The approvers' decision comments stay (append-only, drizzle/0009).
 */
export function closedGrantTexts(cutoff: Date, asOf: Date): ExpiryTarget {
  return {
    table: 'console.grants',
    key: 'id',
    expired: sql`status in ('denied', 'revoked', 'expired', 'cancelled') and closed_at < ${at(cutoff)}
      and texts_purged_at is null and not (break_glass and reviewed_at is null)`,
    userColumn: 'user_id',
    update: sql`justification = '', ticket_ref = null, review_comment = null, texts_purged_at = ${at(asOf)}`,
  };
}
