// The staff vocabulary the database checks are built from (app/db/schema.ts).

/**
 * A request to give an account roles that need a second person (ADR 021): pending until another
 * admin or a security reviewer approves or rejects it; withdrawn by its requester; superseded
 * when another request for the same account replaces it.
 */
export const ROLE_REQUEST_STATUSES = [
  'pending',
  'approved',
  'rejected',
  'withdrawn',
  'superseded',
] as const;
export type RoleRequestStatus = (typeof ROLE_REQUEST_STATUSES)[number];

/** How long a one-time password link stays valid. */
export const PASSWORD_LINK_TTL_MS = 24 * 3_600_000;

/** Why an admin removed a staff member's second factors (ADR 038); the audit entry keeps it. */
export const FACTOR_RESET_REASONS = [
  'lost_device',
  'stolen_device',
  'suspected_compromise',
  'other',
] as const;
export type FactorResetReason = (typeof FACTOR_RESET_REASONS)[number];

export const FACTOR_RESET_REASON_NAMES: Record<FactorResetReason, string> = {
  lost_device: 'Lost device or security key',
  stolen_device: 'Stolen device or security key',
  suspected_compromise: 'Suspected compromise',
  other: 'Other (recorded in the ticket)',
};
