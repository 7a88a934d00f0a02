import type { Permission } from '#app/modules/auth/permissions.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';

// The grants vocabulary: statuses, decisions, notification kinds, limits and default policies. The
// database checks in app/db/schema.ts are built from these lists; nothing else spells them out.

/** Stored statuses. A grant that is `approved` may still be scheduled or past its end: see GRANT_STATES. */
export const GRANT_STATUSES = [
  'pending',
  'approved',
  'denied',
  'revoked',
  'expired',
  'cancelled',
] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];

/** What a grant is at a given instant, from its status and the clock (the expiry job may lag). */
export const GRANT_STATES = [
  'pending',
  'scheduled',
  'active',
  'denied',
  'revoked',
  'expired',
  'cancelled',
] as const;
export type GrantState = (typeof GRANT_STATES)[number];

export const DECISIONS = ['approve', 'deny'] as const;
export type Decision = (typeof DECISIONS)[number];

// `purpose_closed`: the privacy request or inquiry a grant was bound to closed, or the inquiry
// was given to someone else (ADR 027, ADR 034).
export const REVOKE_BASES = [
  'requester',
  'approver',
  'revoke_any',
  'staff_disabled',
  'purpose_closed',
] as const;
export type RevokeBasis = (typeof REVOKE_BASES)[number];

export const NOTIFICATION_KINDS = [
  'grant.requested',
  'grant.approved',
  'grant.denied',
  'grant.revoked',
  'grant.expired',
  'grant.break_glass',
  'lookup.limit',
  'staff.role_requested',
  'audit.invalid_entry',
  /** A single sign-on changed an account's roles from the provider's groups (ADR 039). */
  'staff.roles_synced',
  /** A passkey answered with a signature counter it had used before: perhaps a copied key. */
  'staff.passkey_clone',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** The permissions a category policy may ask of its approvers. */
export const APPROVER_PERMISSIONS = [
  'grants:approve',
  'grants:approve_sensitive',
] as const satisfies readonly Permission[];
export type ApproverPermission = (typeof APPROVER_PERMISSIONS)[number];

export const GRANT_LIMITS = {
  /** No policy may allow longer than this (8 hours). */
  maxDurationCapMinutes: 480,
  minDurationMinutes: 5,
  breakGlassMaxMinutes: 60,
  /** Undecided requests expire this long after they are made. */
  requestTtlMs: 24 * 3_600_000,
  /** How far ahead a requested start may lie. */
  maxStartAheadMs: 7 * 24 * 3_600_000,
  /** A requested start this far in the past is taken as "now" (clock skew, a slow form). */
  startSkewMs: 5 * 60_000,
  maxApprovals: 3,
  justificationMaxLength: 2000,
  commentMaxLength: 2000,
  ticketMaxLength: 64,
} as const;

export interface GrantPolicy {
  category: DataCategory;
  maxDurationMinutes: number;
  approvalsNeeded: number;
  approverPermission: ApproverPermission;
}

/** What drizzle/0008 seeds; DESIGN.md's role table. */
export const DEFAULT_GRANT_POLICIES: Record<DataCategory, Omit<GrantPolicy, 'category'>> = {
  profile: { maxDurationMinutes: 60, approvalsNeeded: 1, approverPermission: 'grants:approve' },
  conversations: {
    maxDurationMinutes: 60,
    approvalsNeeded: 1,
    approverPermission: 'grants:approve_sensitive',
  },
  payments: {
    maxDurationMinutes: 60,
    approvalsNeeded: 1,
    approverPermission: 'grants:approve_sensitive',
  },
  usage: { maxDurationMinutes: 60, approvalsNeeded: 1, approverPermission: 'grants:approve' },
  preferences: { maxDurationMinutes: 60, approvalsNeeded: 1, approverPermission: 'grants:approve' },
  // Bounds break-glass reads of threads; an inquiry's assignment grant needs no approver (ADR 034).
  inquiries: {
    maxDurationMinutes: 480,
    approvalsNeeded: 1,
    approverPermission: 'grants:approve_sensitive',
  },
};

/** The strictest of several category policies: every permission, the most approvals, the shortest cap. */
export function strictestPolicy(policies: readonly Omit<GrantPolicy, 'category'>[]) {
  return {
    approverPermissions: [...new Set(policies.map((p) => p.approverPermission))].sort(),
    approvalsNeeded: Math.max(1, ...policies.map((p) => p.approvalsNeeded)),
    maxDurationMinutes: Math.min(
      GRANT_LIMITS.maxDurationCapMinutes,
      ...policies.map((p) => p.maxDurationMinutes),
    ),
  };
}

export const DEFAULT_TICKET_PATTERN = '^[A-Z][A-Z0-9]+-\\d+$';

/**
 * Why a view of personal data falls outside the grant it names, first rule broken (the security
 * review lists them; law 2 says there are none).
 */
export type OutsideReason =
  | 'no_grant'
  | 'other_staff'
  | 'other_user'
  | 'category'
  | 'not_started'
  | 'before_start'
  | 'after_end'
  | 'after_revocation';
