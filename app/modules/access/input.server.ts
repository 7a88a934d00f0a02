import { z } from 'zod';
import { UtcDateTimeSchema } from '#app/utils/datetime.server.ts';
import { DATA_CATEGORIES, REASON_CODES, REQUESTABLE_CATEGORIES } from '#app/modules/vocabulary.ts';
import { GRANT_VIEWS } from './list.server.ts';
import { ROLE_REQUEST_SORTS } from './role-requests.server.ts';
import { ROLE_REQUEST_STATUSES } from '#app/modules/auth/vocabulary.ts';
import { CARD_PLACEHOLDER, redactCardNumbers } from './redact.ts';
import { DEFAULT_TICKET_PATTERN, GRANT_LIMITS, GRANT_STATES } from './vocabulary.ts';

// The input rules of grants, shared by the server module (./grants.server.ts) and the actions of the
// forms that collect a request, so a form and the domain reject the same input with the same words;
// then what the grant and notification pages accept. Server-only, so zod stays out of the browser
// bundle (ADR 016).

const MIN_MEANINGFUL_CHARACTERS = 20;
const MIN_DISTINCT_WORDS = 3;

/**
 * Why a justification is not meaningful, or undefined when it is. "Meaningful" means at least 20
 * letters or digits once runs of one repeated character count as one ("aaaa" is one letter) and
 * redacted card numbers are left out, in at least three different words: "." or
 * "xxxxxxxxxxxxxxxxxxxxxxxx" or "test test test test test" do not pass.
 */
export function justificationProblem(text: string): string | undefined {
  const visible = text.split(CARD_PLACEHOLDER).join(' ').normalize('NFKC').toLowerCase();
  const collapsed = visible.replace(/(.)\1+/gsu, '$1');
  const meaningful = collapsed.match(/[\p{L}\p{N}]/gu)?.length ?? 0;
  const words = new Set(collapsed.match(/[\p{L}\p{N}]{2,}/gu) ?? []);
  if (meaningful < MIN_MEANINGFUL_CHARACTERS || words.size < MIN_DISTINCT_WORDS) {
    return `Justification must explain the need in at least ${MIN_MEANINGFUL_CHARACTERS} letters or digits and ${MIN_DISTINCT_WORDS} different words (repeated characters count once)`;
  }
  return undefined;
}

/** Free text as stored: NFKC (so full-width digits are seen as digits), trimmed, card numbers redacted. */
export function cleanFreeText(text: string): string {
  return redactCardNumbers(text.normalize('NFKC').trim());
}

const freeText = (max: number, label: string) =>
  z
    .string(`${label} is required`)
    .max(max, `${label} must be at most ${max} characters`)
    .transform(cleanFreeText);

/**
 * What a ticket reference that does not fit says: an example people recognise, not the regular
 * expression (issue 13); a custom pattern that the example does not fit is named as it is.
 */
export function ticketFormatProblem(pattern: RegExp): string {
  if (pattern.source === DEFAULT_TICKET_PATTERN) {
    return 'Ticket reference must look like SUP-1234: capital letters, a dash, then the number';
  }
  return pattern.test('SUP-1234')
    ? 'Ticket reference must be written as in the ticket system, like SUP-1234'
    : `Ticket reference must be written as in the ticket system (format ${pattern.source})`;
}

export function ticketRefSchema(pattern: RegExp) {
  return z
    .string('Ticket reference is required')
    .transform(cleanFreeText)
    .pipe(
      z
        .string()
        .min(1, 'Ticket reference is required')
        .max(
          GRANT_LIMITS.ticketMaxLength,
          `Ticket reference must be at most ${GRANT_LIMITS.ticketMaxLength} characters`,
        )
        .regex(pattern, ticketFormatProblem(pattern)),
    );
}

export const justificationSchema = freeText(
  GRANT_LIMITS.justificationMaxLength,
  'Justification',
).superRefine((text, ctx) => {
  const problem = justificationProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** What an ordinary request may name: every category but inquiries, opened by assignment alone. */
export const categoriesSchema = z
  .array(
    z.enum(REQUESTABLE_CATEGORIES, {
      error: (issue) =>
        issue.input === 'inquiries'
          ? 'An inquiry’s thread opens to its assignee alone: ask a lead to assign it to you'
          : 'Not a data category',
    }),
    'Choose at least one data category',
  )
  .min(1, 'Choose at least one data category')
  .transform((list) => REQUESTABLE_CATEGORIES.filter((c) => list.includes(c)));

/** Break-glass may open any category, an inquiry's thread included (flagged for review). */
export const breakGlassCategoriesSchema = z
  .array(z.enum(DATA_CATEGORIES, 'Not a data category'), 'Choose at least one data category')
  .min(1, 'Choose at least one data category')
  .transform((list) => DATA_CATEGORIES.filter((c) => list.includes(c)));

/** A grant request's fields. The duration's upper bound depends on the categories' policies. */
/** Whole minutes, at least the shortest grant and at most `max`. */
function durationSchema(max: number, tooLong: string) {
  return z.coerce
    .number('Duration must be a number of minutes')
    .int('Duration must be whole minutes')
    .min(
      GRANT_LIMITS.minDurationMinutes,
      `Duration must be at least ${GRANT_LIMITS.minDurationMinutes} minutes`,
    )
    .max(max, tooLong);
}

export function grantRequestSchema(ticketPattern: RegExp) {
  return z.object({
    userId: z.uuid('Enter the user’s id'),
    categories: categoriesSchema,
    reasonCode: z.enum(REASON_CODES, 'Choose a reason'),
    justification: justificationSchema,
    ticketRef: ticketRefSchema(ticketPattern),
    durationMinutes: durationSchema(
      GRANT_LIMITS.maxDurationCapMinutes,
      `Duration must be at most ${GRANT_LIMITS.maxDurationCapMinutes} minutes`,
    ),
    startsAt: z.coerce.date('Start must be a date and time').optional(),
    // The purpose a support_inquiry or privacy_request grant is bound to (ADR 034).
    inquiryId: z.uuid('Choose one of your open inquiries for this user').optional(),
    privacyRequestId: z.uuid('Choose one of your open privacy requests for this user').optional(),
  });
}

export function breakGlassSchema(ticketPattern: RegExp) {
  return z.object({
    userId: z.uuid('Enter the user’s id'),
    categories: breakGlassCategoriesSchema,
    reasonCode: z.enum(REASON_CODES, 'Choose a reason').default('other'),
    justification: justificationSchema,
    ticketRef: ticketRefSchema(ticketPattern).optional(),
    durationMinutes: durationSchema(
      GRANT_LIMITS.breakGlassMaxMinutes,
      `A break-glass grant lasts at most ${GRANT_LIMITS.breakGlassMaxMinutes} minutes`,
    ).default(GRANT_LIMITS.breakGlassMaxMinutes),
  });
}

/** A decision's, a review's or a revocation's comment: required, some words, card numbers redacted. */
export const commentSchema = freeText(GRANT_LIMITS.commentMaxLength, 'Comment').refine(
  (text) => (text.match(/[\p{L}\p{N}]{2,}/gu)?.length ?? 0) >= 1,
  'Comment is required',
);

// The pages' own input.

/** /grants/:grantId */
export const GrantParamsSchema = z.object({ grantId: z.uuid('Not a grant id') });

const optionalComment = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  commentSchema.optional(),
);

/** What the grant page's buttons send: a decision, a revocation, a withdrawal or a review. */
export const GrantDecisionSchema = z.discriminatedUnion(
  'intent',
  [
    // An approval may carry a comment; a denial must say why (the requester reads it).
    z.object({ intent: z.literal('approve'), comment: optionalComment }),
    z.object({ intent: z.literal('deny'), comment: commentSchema }),
    z.object({ intent: z.literal('revoke') }),
    z.object({ intent: z.literal('withdraw') }),
    z.object({ intent: z.literal('review'), comment: optionalComment }),
  ],
  { error: 'Choose approve, deny, revoke, withdraw or review' },
);

/** The filters and page of /grants. */
export const GrantQuerySchema = z
  .object({
    view: z.enum(GRANT_VIEWS, 'Use mine, to_decide, active or history').optional(),
    state: z.enum(GRANT_STATES, 'Not a grant state').optional(),
    user: z.uuid('Not a user id (a UUID)').optional(),
    requester: z.uuid('Not a staff id (a UUID)').optional(),
    category: z.enum(DATA_CATEGORIES, 'Not a data category').optional(),
    reason: z.enum(REASON_CODES, 'Not a reason').optional(),
    from: UtcDateTimeSchema.optional(),
    to: UtcDateTimeSchema.optional(),
    after: z.string().max(400, 'The page cursor is too long').optional(),
  })
  .refine((q) => !q.from || !q.to || q.from < q.to, {
    path: ['to'],
    message: 'Must be later than from',
  });

/** /grants/new?user=…&category=…: the request form, prefilled. */
export const GrantRequestSearchSchema = z.object({
  user: z.uuid('Not a user id (a UUID)').optional(),
  category: z.array(z.enum(DATA_CATEGORIES, 'Not a data category')),
});

/** /grants/break-glass?user=…, prefilled. */
export const BreakGlassSearchSchema = z.object({
  user: z.uuid('Not a user id (a UUID)').optional(),
});

/** /notifications?unread=1&after=… */
export const NotificationsQuerySchema = z.object({
  unread: z.literal('1', 'Use unread=1').optional(),
  after: z.string().max(400, 'The page cursor is too long').optional(),
});

/** /notifications/live?grant=…: what the header polls, and the state of the grant page open. */
export const NotificationsLiveQuerySchema = z.object({
  grant: z.uuid('Not a grant id').optional(),
});

/** Marking one notification, or all, read. */
export const NotificationsActionSchema = z.discriminatedUnion(
  'intent',
  [
    z.object({ intent: z.literal('read'), id: z.uuid('Not a notification id') }),
    z.object({ intent: z.literal('read-all') }),
  ],
  { error: 'Choose read or read-all' },
);

// --- role requests (/admin/staff/requests, ADR 021) ---------------------------------------------

/** The search, filter, order and page of /admin/staff/requests; pending requests by default. */
export const RoleRequestQuerySchema = z.object({
  status: z.enum([...ROLE_REQUEST_STATUSES, 'all']).default('pending'),
  q: z.string().trim().max(200, 'Search is at most 200 characters').optional(),
  sort: z.enum(ROLE_REQUEST_SORTS).default('requested'),
  dir: z.enum(['asc', 'desc']).default('asc'),
  after: z.string().max(20_000).optional(),
});

/** What a role request's decision form sends. */
export const RoleDecisionSchema = z.object({
  request: z.uuid('Not a role request id'),
  intent: z.enum(['approve', 'reject', 'withdraw'], 'Choose approve, reject or withdraw'),
});
