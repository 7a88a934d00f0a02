import { z } from 'zod';
import type { RequestType } from '#app/modules/privacy/vocabulary.ts';
import {
  INQUIRY_CATEGORIES,
  INQUIRY_LIMITS,
  INQUIRY_STATES,
  SETTABLE_STATES,
} from './vocabulary.ts';

// The input of inquiries: the service API's body, the staff form, the queue's filters and the
// inquiry page's actions. Server-only, so zod stays out of the browser bundle (ADR 016).

const text = (label: string, max: number) =>
  z
    .string(`${label} is required`)
    .transform((v) => v.normalize('NFC').trim())
    .pipe(
      z
        .string()
        .min(1, `${label} is required`)
        .max(max, `${label} must be at most ${max} characters`),
    );

export const subjectSchema = text('The subject', INQUIRY_LIMITS.subjectMaxLength).refine(
  (v) => !/[\r\n]/.test(v),
  'The subject is one line',
);
export const bodySchema = text('The message', INQUIRY_LIMITS.bodyMaxLength);
export const categorySchema = z.enum(INQUIRY_CATEGORIES, {
  message: `The category is one of ${INQUIRY_CATEGORIES.join(', ')}`,
});

/** POST /api/v1/inquiries: the user by id or by email (one of them), and what they wrote. */
export const NewInquiryBody = z
  .object({
    userId: z.uuid('Not a user id (a UUID)').optional(),
    email: z.email('Not an email address').max(320, 'Not an email address').optional(),
    subject: subjectSchema,
    body: bodySchema,
    category: categorySchema,
  })
  .strict()
  .superRefine((b, ctx) => {
    if (!b.userId === !b.email) {
      ctx.addIssue({
        code: 'custom',
        path: [b.userId ? 'email' : 'userId'],
        message: 'Name the user by userId or by email, not both',
      });
    }
  });
export type NewInquiryBody = z.infer<typeof NewInquiryBody>;

/** The staff form: an inquiry received by another channel, for a user found by id. */
export const StaffInquiryForm = z.object({
  userId: z.uuid('Enter the user’s id'),
  subject: subjectSchema,
  body: bodySchema,
  category: categorySchema,
});

export const INQUIRY_VIEWS = ['mine', 'unassigned', 'due_soon', 'open', 'closed'] as const;
export type InquiryView = (typeof INQUIRY_VIEWS)[number];

/** /inquiries?view=…&category=…&state=…&after=… */
export const InquiryQuerySchema = z.object({
  view: z.enum(INQUIRY_VIEWS, 'Use mine, unassigned, due_soon, open or closed').default('mine'),
  category: z.enum(INQUIRY_CATEGORIES, 'Not an inquiry category').optional(),
  state: z.enum(INQUIRY_STATES, 'Not an inquiry state').optional(),
  after: z.string().max(400, 'The page cursor is too long').optional(),
});
export type InquiryQuery = z.infer<typeof InquiryQuerySchema>;

export const InquiryParamsSchema = z.object({ inquiryId: z.uuid('Not an inquiry id') });

/** The request types an inquiry turns into with one action: those that need no details. */
export const PRIVACY_TYPES_FROM_INQUIRY = [
  'access',
  'portability',
  'erasure',
] as const satisfies readonly RequestType[];

/** What the inquiry page's buttons send. */
export const InquiryActionSchema = z.discriminatedUnion(
  'intent',
  [
    z.object({ intent: z.literal('take') }),
    z.object({ intent: z.literal('assign'), assignee: z.uuid('Choose a staff member') }),
    z.object({ intent: z.literal('renew') }),
    z.object({
      intent: z.literal('reply'),
      body: bodySchema,
      next: z.enum(SETTABLE_STATES, 'Choose waiting on user or answered'),
    }),
    z.object({
      intent: z.literal('state'),
      state: z.enum(SETTABLE_STATES, 'Choose waiting on user or answered'),
    }),
    z.object({ intent: z.literal('close') }),
    z.object({
      intent: z.literal('privacy'),
      type: z.enum(PRIVACY_TYPES_FROM_INQUIRY, 'Choose access, portability or erasure'),
    }),
  ],
  { error: 'Choose take, assign, renew, reply, state, close or privacy' },
);
export type InquiryAction = z.infer<typeof InquiryActionSchema>;
