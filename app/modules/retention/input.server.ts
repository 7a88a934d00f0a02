import { z } from 'zod';
import { CATEGORIES } from './categories.server.ts';
import { RETENTION_CATEGORIES, RETENTION_LABELS, RETENTION_LIMITS } from './vocabulary.ts';

// The policy form, parsed on the server (zod stays out of the browser bundle). A checkbox that is
// not ticked is absent from the form: absent means false.

const flag = z
  .union([z.literal('on'), z.literal('true'), z.literal('false'), z.boolean()], 'Tick or untick')
  .optional()
  .transform((v) => v === 'on' || v === 'true' || v === true);

const text = (what: string, max: number) =>
  z
    .string(`${what} is required`)
    .trim()
    .min(1, `${what} is required`)
    .max(max, `${what} must be at most ${max} characters`);

export const RetentionPolicySchema = z
  .object({
    category: z.enum(RETENTION_CATEGORIES, 'Not a retention category'),
    periodDays: z.coerce
      .number('The period must be a number of days')
      .int('The period must be whole days')
      .min(RETENTION_LIMITS.minDays, 'The period cannot be negative')
      .max(RETENTION_LIMITS.maxDays, `The period must be at most ${RETENTION_LIMITS.maxDays} days`),
    reason: text('The reason', RETENTION_LIMITS.reasonMaxLength),
    legalBasis: text('The legal basis', RETENTION_LIMITS.basisMaxLength),
    suspendedByHold: flag,
    suspendedByOpenRequest: flag,
  })
  .superRefine((p, ctx) => {
    if (p.category === 'audit_contents' && p.periodDays < RETENTION_LIMITS.auditContentsMinDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['periodDays'],
        message: `The audit trail's contents are kept at least ${RETENTION_LIMITS.auditContentsMinDays} days (six years)`,
      });
    }
    if (!CATEGORIES[p.category].perUser) {
      for (const field of ['suspendedByHold', 'suspendedByOpenRequest'] as const) {
        if (p[field]) {
          ctx.addIssue({
            code: 'custom',
            path: [field],
            message: `${RETENTION_LABELS[p.category]} belong to no end user: a hold or a request cannot suspend them`,
          });
        }
      }
    }
  });
export type RetentionPolicyInput = z.output<typeof RetentionPolicySchema>;

/** The page's address: `?edit=<category>` opens that policy's form. */
export const EditParamsSchema = z.object({
  edit: z.enum(RETENTION_CATEGORIES, 'Not a retention category').optional(),
});
