import type { Tx } from '#app/db/client.server.ts';
import type { ReasonCode } from '#app/modules/vocabulary.ts';

// Purpose binding (ADR 034): a grant asked for with the reason `support_inquiry` names an open
// inquiry, one with `privacy_request` an open privacy request, of the same user and assigned to
// the requester. The access module owns grants but not inquiries nor requests (and may not import
// their modules: they import it), so each of those modules registers here how to read its own
// purpose; requestGrant() asks, in its transaction, and decides. Nothing registered: the grant
// is refused (fail closed).

/** What a purpose's module tells the grant: whose it is, who holds it, whether it is open. */
export interface PurposeFacts {
  userId: string;
  assigneeId: string | null;
  open: boolean;
}

/**
 * Reads the purpose with this id inside the grant's transaction, locking it against a close
 * (`for share`) so that the grant is either written before the close (which then ends it) or
 * sees it closed. Null when there is none.
 */
export type PurposeReader = (tx: Tx, id: string) => Promise<PurposeFacts | null>;

/** The reasons whose grants are bound, and the form field naming their purpose. */
export const BOUND_REASONS = {
  support_inquiry: { field: 'inquiryId', noun: 'inquiry' },
  privacy_request: { field: 'privacyRequestId', noun: 'privacy request' },
} as const satisfies Partial<Record<ReasonCode, { field: string; noun: string }>>;
export type BoundReason = keyof typeof BOUND_REASONS;

export function isBoundReason(reason: string): reason is BoundReason {
  return Object.hasOwn(BOUND_REASONS, reason);
}

const readers = new Map<BoundReason, PurposeReader>();

/** Called once by the module that owns the purpose, when it loads. */
export function registerPurpose(reason: BoundReason, reader: PurposeReader): void {
  readers.set(reason, reader);
}

export function purposeReader(reason: BoundReason): PurposeReader | undefined {
  return readers.get(reason);
}
