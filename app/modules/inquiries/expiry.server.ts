import { sql } from 'drizzle-orm';
import type { ExpiryTarget } from '#app/db/expiry.server.ts';

// What retention removes of the inquiries (ADR 032, the `inquiries` policy): the texts of an
// inquiry closed before the cut-off — its subject emptied, its thread's messages deleted. The
// inquiry's row stays (state, dates, category, assignee), because the grants its assignment gave
// name it and the audit trail refers to it; it holds no text of the user's after this.

const at = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/** Closed inquiries whose texts are still there, closed before the cut-off. */
export function closedInquiryTexts(cutoff: Date): ExpiryTarget {
  return {
    table: 'console.inquiries',
    key: 'id',
    expired: sql`state = 'closed' and closed_at < ${at(cutoff)} and octet_length(subject_enc) > 0`,
    userColumn: 'user_id',
    update: sql`subject_enc = '\\x'::bytea`,
    alsoDelete: [{ table: 'console.inquiry_messages', column: 'inquiry_id' }],
  };
}
