import { sql } from 'drizzle-orm';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { countExpired, purgeBatch, ROW, type ExpiryTarget } from '#app/db/expiry.server.ts';
import { closedGrantTexts, expiredNotifications } from '#app/modules/access/expiry.server.ts';
import {
  countExpiredContributions,
  expiredContributionsBatch,
} from '#app/modules/analytics/contributions.server.ts';
import { endedSessions } from '#app/modules/auth/session.server.ts';
import { staleThrottleRecords } from '#app/modules/auth/throttle.server.ts';
import {
  closedRequestWorkingData,
  expiredExportPackages,
  expiredOutbox,
  sparedUsers,
} from '#app/modules/privacy/expiry.server.ts';
import { closedInquiryTexts } from '#app/modules/inquiries/expiry.server.ts';
import {
  expiredConversations,
  expiredMessages,
  expiredPaymentReferences,
  expiredUsageEvents,
} from '#app/modules/users/expiry.server.ts';
import {
  countAuditContentsBefore,
  purgeAuditContents,
} from '#app/modules/audit/retention.server.ts';
import type { RetentionCategory } from './vocabulary.ts';

// The registry of what each retention category removes (ADR 032). The owning module declares its
// rows past a cut-off; this file ties each category to that declaration. A new category (the
// inquiries were the last) is one entry here and a declaration in its own module.

/** What suspends a policy for a user, as the run froze it from the policy. */
export interface Suspension {
  hold: boolean;
  openRequest: boolean;
}

export interface Batch {
  removed: number;
  /** Rows of other tables that went with them (a conversation's messages, a request's notes). */
  cascaded: number;
  /** The position to continue after (a row address, or an audit seq), kept with the run's progress. */
  last: string | null;
  /** No more rows past the cut-off after this batch. */
  done: boolean;
}

export interface CategoryPurge {
  /** Its rows belong to one end user: a legal hold or an open request may suspend the policy. */
  perUser: boolean;
  /** Shown beside the policy when the category has nothing to remove by design. */
  note?: string;
  /** The audit contents run through their own role and transaction, not the engine's. */
  ownTransaction?: boolean;
  count(cutoff: Date, asOf: Date, suspension: Suspension): Promise<number>;
  batch(
    tx: Tx | null,
    cutoff: Date,
    asOf: Date,
    suspension: Suspension,
    after: string | null,
    limit: number,
  ): Promise<Batch>;
}

/** A category whose owner declares an ExpiryTarget: counted, and removed by batches of purgeBatch. */
function byTarget(
  target: (cutoff: Date, asOf: Date) => ExpiryTarget,
  perUser: boolean,
): CategoryPurge {
  const spare = (t: ExpiryTarget, s: Suspension) =>
    perUser && t.userColumn
      ? sparedUsers(sql`${ROW}.${sql.raw(t.userColumn)}`, {
          hold: s.hold,
          openRequest: s.openRequest,
        })
      : null;
  return {
    perUser,
    count: (cutoff, asOf, s) => {
      const t = target(cutoff, asOf);
      return countExpired(getDb(), t, spare(t, s));
    },
    async batch(tx, cutoff, asOf, s, after, limit) {
      if (!tx) throw new Error('a batch runs in the engine’s transaction');
      const t = target(cutoff, asOf);
      return purgeBatch(tx, t, spare(t, s), after, limit);
    },
  };
}

export const CATEGORIES: Record<RetentionCategory, CategoryPurge> = {
  // Messages before conversations: a conversation past its period takes the messages left in it.
  messages: byTarget(expiredMessages, true),
  conversations: byTarget(expiredConversations, true),
  usage_events: byTarget(expiredUsageEvents, true),
  payment_references: byTarget(expiredPaymentReferences, true),
  staff_sessions: byTarget(endedSessions, false),
  sign_in_throttle: byTarget(staleThrottleRecords, false),
  notifications: byTarget(expiredNotifications, false),
  user_outbox: byTarget(expiredOutbox, true),
  export_packages: byTarget(expiredExportPackages, true),
  closed_privacy_requests: byTarget(closedRequestWorkingData, true),
  grants: byTarget(closedGrantTexts, true),
  inquiries: byTarget(closedInquiryTexts, true),
  analytics_contributions: {
    perUser: false,
    count: (cutoff) => countExpiredContributions(cutoff),
    async batch(tx, cutoff, _asOf, _s, after, limit) {
      if (!tx) throw new Error('a contributions batch runs in the engine’s transaction');
      const { removed, done } = await expiredContributionsBatch(tx, cutoff, limit);
      return { removed, cascaded: 0, last: after, done };
    },
  },
  audit_contents: {
    perUser: false,
    ownTransaction: true,
    count: (cutoff) => countAuditContentsBefore(cutoff),
    async batch(_tx, cutoff, _asOf, _s, after) {
      const { emptied, toSeq } = await purgeAuditContents(cutoff);
      return {
        removed: emptied,
        cascaded: 0,
        last: toSeq === null ? after : String(toSeq),
        done: true,
      };
    },
  },
};

/** The order a run takes the categories in: the registry's (messages before conversations). */
export const RUN_ORDER = Object.keys(CATEGORIES) as RetentionCategory[];
