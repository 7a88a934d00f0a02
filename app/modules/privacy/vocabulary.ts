// The words of privacy requests, shared by the schema, the rules and the pages. Browser-safe.

export const REQUEST_TYPES = [
  'access',
  'portability',
  'rectification',
  'erasure',
  'restriction',
  'objection',
] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export const REQUEST_STATES = [
  'received',
  'verifying',
  'awaiting_approval',
  'approved',
  'denied',
  'processing',
  'completed',
  'failed',
  'on_hold',
  'canceled',
] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export const STATE_LABELS: Record<RequestState, string> = {
  received: 'Received',
  verifying: 'Verifying identity',
  awaiting_approval: 'Awaiting approval',
  approved: 'Approved',
  denied: 'Denied',
  processing: 'Processing',
  completed: 'Completed',
  failed: 'Failed (retryable)',
  on_hold: 'On hold',
  canceled: 'Canceled',
};

export const FINAL_STATES: readonly RequestState[] = ['completed', 'denied', 'canceled'];

/** Why a request is on hold: a legal hold blocks it; awaited information pauses its clock too. */
export const HOLD_REASONS = ['legal_hold', 'awaiting_information'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/** What is proposed for a second person's approval. */
export const PROPOSALS = ['erasure', 'denial'] as const;
export type Proposal = (typeof PROPOSALS)[number];

/** The legal regime that sets a request's deadline (deadlines.server.ts, ADR 022). */
export const REGIMES = ['gdpr', 'ccpa', 'service'] as const;
export type Regime = (typeof REGIMES)[number];

export const TYPE_LABELS: Record<RequestType, string> = {
  access: 'Access (a copy)',
  portability: 'Portability (a download)',
  rectification: 'Rectification',
  erasure: 'Erasure',
  restriction: 'Restriction (opt-out)',
  objection: 'Objection',
};

/** How a request arrived: from the product (its signed-in user, so verified) or entered by staff. */
export const REQUEST_SOURCES = ['api', 'staff'] as const;
export type RequestSource = (typeof REQUEST_SOURCES)[number];

/** How a staff-entered request was received. */
export const CHANNELS = ['email', 'letter', 'phone', 'other'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * How an officer verified the identity of a staff-entered request's user, when the user did not
 * confirm it by signing in to the product (ADR 024). The evidence itself goes in the note.
 */
export const VERIFICATION_METHODS = [
  'signed_letter',
  'registered_email',
  'phone_callback',
  'identity_document',
  'other',
] as const;
export type VerificationMethod = (typeof VERIFICATION_METHODS)[number];

export const VERIFICATION_METHOD_LABELS: Record<VerificationMethod, string> = {
  signed_letter: 'A signed letter matching the account',
  registered_email: 'An email from the account’s registered address',
  phone_callback: 'A call back to the account’s registered phone number',
  identity_document: 'An identity document checked against the account',
  other: 'Other (describe it in the evidence)',
};

/** Messages to a request's user (the end-user outbox, ADR 024). */
export const USER_MESSAGES = [
  'acknowledgement',
  'confirm_request',
  'extension',
  'completion',
  'denial',
  // A staff reply on an inquiry's thread (app/modules/inquiries): not about a privacy request.
  'inquiry_reply',
] as const;
export type UserMessage = (typeof USER_MESSAGES)[number];
/** The messages about a privacy request, rendered from templates (messages.server.ts). */
export type RequestMessage = Exclude<UserMessage, 'inquiry_reply'>;

export const USER_MESSAGE_LABELS: Record<UserMessage, string> = {
  acknowledgement: 'Acknowledgement',
  confirm_request: 'Request to sign in and confirm',
  extension: 'Extension notice',
  completion: 'Completion notice',
  denial: 'Denial',
  inquiry_reply: 'Reply to an inquiry',
};

/** Where an outbox message stands. */
export const OUTBOX_STATES = ['queued', 'sent', 'failed'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/** The profile fields a rectification may change. */
export const RECTIFIABLE_FIELDS = ['display_name', 'email', 'phone', 'country', 'locale'] as const;
export type RectifiableField = (typeof RECTIFIABLE_FIELDS)[number];

/** The intake form's fields for a type's details: named as the errors createRequest() names. */
export const INTAKE_DETAIL_FIELDS = {
  grounds: 'details.grounds',
  purposes: 'details.purposes',
  change: (field: RectifiableField) => `details.changes.${field}` as const,
};

/** Queue filters on the deadline. */
export const DUE_FILTERS = ['overdue', 'soon'] as const;
export type DueFilter = (typeof DUE_FILTERS)[number];

/** A request is "due soon" within this many days of its deadline. */
export const DUE_SOON_DAYS = 7;

/** The moves an officer makes on a request's page; completion and failure belong to the jobs. */
export const OFFICER_MOVES = [
  'verify',
  'propose',
  'approve',
  'reject',
  'start',
  'hold',
  'resume',
  'cancel',
] as const;
