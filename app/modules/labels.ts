import type { GrantState } from '#app/modules/access/vocabulary.ts';
import { CATEGORY_INFO } from '#app/modules/users/categories.ts';
import type { PREFERENCE_SOURCES } from '#app/modules/vocabulary.ts';
import type {
  DataCategory,
  Plan,
  Purpose,
  ReasonCode,
  UsageKind,
  UserStatus,
} from '#app/modules/vocabulary.ts';

// The display names of the codes the console shows, in one place, with the plural rules and the
// number format every page uses. A code with no name here is shown as words ("rate_limited" →
// "Rate limited"), never raw. Browser-safe: no server imports.

export const USAGE_KIND_LABELS: Record<UsageKind, string> = {
  session_start: 'Session started',
  conversation_start: 'Conversation started',
  message: 'Message sent',
  file_upload: 'File uploaded',
  voice_input: 'Voice input',
};

export const REASON_CODE_LABELS: Record<ReasonCode, string> = {
  support_inquiry: 'Support inquiry',
  privacy_request: 'Privacy request',
  security_investigation: 'Security investigation',
  legal: 'Legal',
  other: 'Other',
};

export const GRANT_STATE_LABELS: Record<GrantState, string> = {
  pending: 'Pending',
  scheduled: 'Scheduled',
  active: 'Active',
  denied: 'Denied',
  revoked: 'Revoked',
  expired: 'Expired',
  cancelled: 'Withdrawn',
};

export const PURPOSE_LABELS: Record<Purpose, string> = {
  training: 'AI training',
  analytics: 'Analytics',
  personalization: 'Personalisation',
  marketing: 'Marketing',
};

export const PLAN_LABELS: Record<Plan, string> = {
  free: 'Free',
  plus: 'Plus',
  pro: 'Pro',
  team: 'Team',
  enterprise: 'Enterprise',
};

export const USER_STATUS_LABELS: Record<UserStatus, string> = {
  active: 'Active',
  suspended: 'Suspended',
  closed: 'Closed',
};

/** Who set a data-use preference. */
export const PREFERENCE_SOURCE_LABELS: Record<(typeof PREFERENCE_SOURCES)[number], string> = {
  user: 'The user',
  privacy_request: 'A privacy request',
  default: 'Default',
  import: 'Import',
};

/** An audit entry's outcome. */
export const OUTCOME_LABELS: Record<string, string> = {
  allowed: 'Allowed',
  denied: 'Denied',
  failed: 'Failed',
  invalid: 'Invalid',
};

/** Why personal data was refused: the `reason` of an access.denied entry, before its `:category`. */
export const REFUSAL_LABELS: Record<string, string> = {
  no_grant: 'No grant',
  grant_pending: 'Request not yet approved',
  grant_scheduled: 'Grant not started yet',
  grant_expired: 'Grant expired',
  grant_revoked: 'Grant revoked',
  grant_denied: 'Request denied',
  missing_permission: 'Missing permission',
  lookup_daily_limit: 'Daily lookup limit reached',
  staff_disabled: 'Account disabled',
  purpose_closed: 'Purpose closed',
};

const VOCABULARIES = {
  category: Object.fromEntries(
    Object.entries(CATEGORY_INFO).map(([code, info]) => [code, info.label]),
  ) as Record<DataCategory, string>,
  reason: REASON_CODE_LABELS,
  grantState: GRANT_STATE_LABELS,
  purpose: PURPOSE_LABELS,
  usage: USAGE_KIND_LABELS,
  plan: PLAN_LABELS,
  status: USER_STATUS_LABELS,
  source: PREFERENCE_SOURCE_LABELS,
  outcome: OUTCOME_LABELS,
  refusal: REFUSAL_LABELS,
} as const;
export type Vocabulary = keyof typeof VOCABULARIES;

/** "security_investigation" → "Security investigation": the fallback for a code with no name. */
export function codeAsWords(code: string): string {
  const words = code.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The display name of `code` in `vocabulary`; a code it does not know reads as words. */
export function label(vocabulary: Vocabulary, code: string | null | undefined): string {
  if (code === null || code === undefined || code === '') return '—';
  return (VOCABULARIES[vocabulary] as Record<string, string>)[code] ?? codeAsWords(code);
}

const WHOLE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 8095 → "8,095": every count the console shows, one format. */
export function formatCount(n: number): string {
  return WHOLE.format(n);
}

/**
 * "1 event", "8,095 events": a count with its noun, singular or plural. `plural` defaults to the
 * noun with an s.
 */
export function countOf(n: number, noun: string, plural = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : plural}`;
}

/** A count capped where counting stopped: "1,000+" past the cap. */
export function cappedCount(n: number, capped: boolean): string {
  return capped ? `${formatCount(n)}+` : formatCount(n);
}

/**
 * Who acted when an audit entry names no staff member and no service: someone not yet signed in
 * (a sign-in attempt), or Custodian itself (a job, the command line). Issue 13: "none" read as if
 * nobody had acted.
 */
export function unnamedActor(action: string | null): { name: string; title: string } {
  if (action === null || action === 'purged' || action === 'invalid') {
    // An entry whose contents retention removed, or that is not a valid entry: who acted is not
    // known to the page, and "Custodian" would say it was.
    return {
      name: '—',
      title:
        action === 'invalid'
          ? 'Not a valid entry: its actor is not read'
          : 'Contents removed by retention: who acted is no longer kept',
    };
  }
  return action === 'auth.sign_in'
    ? { name: 'visitor', title: 'Someone not signed in: a sign-in attempt' }
    : { name: 'Custodian', title: 'Custodian itself: a job or the command line, no staff member' };
}
