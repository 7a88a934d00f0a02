// The inquiries vocabulary (issue 15, ADR 034): categories, states, sources and targets. The
// database checks in app/db/schema.ts are built from these lists; nothing else spells them out.

export const INQUIRY_CATEGORIES = [
  'account',
  'billing',
  'privacy',
  'abuse_report',
  'other',
] as const;
export type InquiryCategory = (typeof INQUIRY_CATEGORIES)[number];

export const INQUIRY_STATES = ['new', 'assigned', 'waiting_on_user', 'answered', 'closed'] as const;
export type InquiryState = (typeof INQUIRY_STATES)[number];

/** The states an inquiry is open in: everything but closed. */
export const OPEN_INQUIRY_STATES = INQUIRY_STATES.filter(
  (s): s is Exclude<InquiryState, 'closed'> => s !== 'closed',
);

/** The states the assignee may set by hand (assigned comes from an assignment, closed from close). */
export const SETTABLE_STATES = ['waiting_on_user', 'answered'] as const;
export type SettableState = (typeof SETTABLE_STATES)[number];

export const INQUIRY_SOURCES = ['api', 'staff'] as const;
export type InquirySource = (typeof INQUIRY_SOURCES)[number];

export const MESSAGE_AUTHORS = ['user', 'staff'] as const;
export type MessageAuthor = (typeof MESSAGE_AUTHORS)[number];

export const INQUIRY_CATEGORY_LABELS: Record<InquiryCategory, string> = {
  account: 'Account',
  billing: 'Billing',
  privacy: 'Privacy',
  abuse_report: 'Abuse report',
  other: 'Other',
};

export const INQUIRY_STATE_LABELS: Record<InquiryState, string> = {
  new: 'New',
  assigned: 'Assigned',
  waiting_on_user: 'Waiting on user',
  answered: 'Answered',
  closed: 'Closed',
};

/**
 * First-response and resolution targets, in hours from receipt, per category. A privacy inquiry
 * and an abuse report are answered first.
 */
export const INQUIRY_TARGETS: Record<
  InquiryCategory,
  { firstResponseHours: number; resolutionHours: number }
> = {
  account: { firstResponseHours: 24, resolutionHours: 72 },
  billing: { firstResponseHours: 24, resolutionHours: 72 },
  privacy: { firstResponseHours: 8, resolutionHours: 48 },
  abuse_report: { firstResponseHours: 4, resolutionHours: 24 },
  other: { firstResponseHours: 48, resolutionHours: 120 },
};

/** "Due soon": a target within this many hours. */
export const DUE_SOON_HOURS = 4;

/** How long an assignment's grant of the thread lasts before the assignee renews it. */
export const ASSIGNMENT_GRANT_MINUTES = 480;

export const INQUIRY_LIMITS = {
  subjectMaxLength: 200,
  bodyMaxLength: 10_000,
} as const;
