import { sql } from 'drizzle-orm';
import type { ExpiryTarget } from '#app/db/expiry.server.ts';

// What retention may remove from the product tables (ADR 032), declared by the module that owns
// them. The retention engine counts and removes these rows in batches; an erasure removes the
// same tables for one user (erasure.server.ts). No foreign key joins the product tables, so the
// only thing to keep consistent is a conversation's messages, which go with it.

const at = (cutoff: Date) => sql`${cutoff.toISOString()}::timestamptz`;

/** Conversations untouched since the cut-off, with every message they still hold. */
export function expiredConversations(cutoff: Date): ExpiryTarget {
  return {
    table: 'product.conversations',
    key: 'id',
    expired: sql`updated_at < ${at(cutoff)}`,
    userColumn: 'user_id',
    alsoDelete: [{ table: 'product.messages', column: 'conversation_id' }],
  };
}

/** Messages written before the cut-off. */
export function expiredMessages(cutoff: Date): ExpiryTarget {
  return {
    table: 'product.messages',
    key: 'id',
    expired: sql`created_at < ${at(cutoff)}`,
    userColumn: 'user_id',
  };
}

/** Usage events that occurred before the cut-off. */
export function expiredUsageEvents(cutoff: Date): ExpiryTarget {
  return {
    table: 'product.usage_events',
    key: 'id',
    expired: sql`occurred_at < ${at(cutoff)}`,
    userColumn: 'user_id',
  };
}

/** Payment references created before the cut-off (the tax rule's period). */
export function expiredPaymentReferences(cutoff: Date): ExpiryTarget {
  return {
    table: 'product.payment_references',
    key: 'id',
    expired: sql`created_at < ${at(cutoff)}`,
    userColumn: 'user_id',
  };
}
