// What the security review's page and its queries share. Browser-safe: the page renders with it.

import type { OutsideReason } from '#app/modules/access/vocabulary.ts';

const DAY = 86_400_000;

/** The UTC day after `day` (YYYY-MM-DD). */
export function dayAfter(day: string) {
  return new Date(new Date(`${day}T00:00:00Z`).getTime() + DAY).toISOString().slice(0, 10);
}

/** Why a view falls outside its grant, first rule broken. */
export const OUTSIDE_REASONS = {
  no_grant: 'names no grant, or one that does not exist',
  other_staff: 'under a grant held by someone else',
  other_user: 'of a user the grant does not cover',
  category: 'of a category the grant does not cover',
  not_started: 'under a grant that was never approved',
  before_start: 'before the grant started',
  after_end: 'after the grant ended',
  after_revocation: 'after the grant was revoked',
} as const satisfies Record<OutsideReason, string>;
