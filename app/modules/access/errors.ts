import type { DataCategory } from '#app/modules/vocabulary.ts';
import type { FieldErrors } from '#app/utils/forms.server.ts';

// What the grants domain throws. Routes map `status` to the response and show `fieldErrors`
// under their fields; a GrantRefusedError has already been audited as a denied attempt.

export type { FieldErrors };

export class GrantError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404 | 409,
    /** A code: `invalid_input`, `not_found`, or why the attempt was refused. */
    readonly reason: string,
    readonly fieldErrors: FieldErrors = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The first field in error, when the input was at fault. */
  get field(): string | undefined {
    return Object.keys(this.fieldErrors)[0];
  }
}

/** Bad input: a 400 naming each field. Nothing was written and nothing audited. */
export class GrantInputError extends GrantError {
  constructor(fieldErrors: FieldErrors) {
    const first = Object.entries(fieldErrors)[0];
    super(first ? `${first[0]}: ${first[1]}` : 'Invalid input', 400, 'invalid_input', fieldErrors);
  }
}

export class GrantNotFoundError extends GrantError {
  constructor(what = 'grant') {
    super(`No such ${what}`, 404, 'not_found');
  }
}

/** A rule said no (four eyes, a missing permission, a grant no longer pending). Audited as denied. */
export class GrantRefusedError extends GrantError {
  constructor(
    message: string,
    status: 403 | 409,
    reason: string,
    /** The permission that was missing, when that is why. */
    readonly permission?: string,
  ) {
    super(message, status, reason);
  }
}

/** Why there is no live grant: what the 403 page says, and the `reason` its audit entry carries. */
export const MISSING_GRANT = {
  none: 'You have no grant to this data.',
  pending: 'Your request for this data is waiting for approval.',
  scheduled: 'Your grant to this data has not started yet.',
  expired: 'Your grant to this data has expired.',
  revoked: 'Your grant to this data was revoked.',
  denied: 'Your request for this data was denied.',
} as const;
export type MissingGrant = keyof typeof MISSING_GRANT;

/**
 * Why personal data was refused: the one refusal of law 2, a value the gate returns (and audits),
 * and what a user data page's 403 shows. Browser-safe.
 */
export interface GrantRefusal {
  kind: 'grant';
  /** What is missing: none, pending, scheduled, expired, revoked, denied. */
  missing: MissingGrant;
  message: string;
  /** When a scheduled grant starts or an expired one ended (ISO). */
  at: string | null;
  userId: string;
  category: DataCategory;
  /** The latest grant or request that would have covered it, if any. */
  grantId: string | null;
}

/** The code a refusal's audit entry carries: no_grant, grant_pending, grant_expired, … */
export function refusalReason(missing: MissingGrant): string {
  return missing === 'none' ? 'no_grant' : `grant_${missing}`;
}
