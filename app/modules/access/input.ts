import { z } from 'zod';
import { DATA_CATEGORIES, REASON_CODES } from '#app/modules/vocabulary.ts';
import { CARD_PLACEHOLDER, redactCardNumbers } from './redact.ts';
import { GRANT_LIMITS } from './vocabulary.ts';

// The input rules of grants, shared by the server module (./grants.server.ts) and the forms that
// collect a request, so a form and the domain reject the same input with the same words.

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
        .regex(pattern, `Ticket reference must match ${pattern.source} (e.g. SUP-1234)`),
    );
}

export const justificationSchema = freeText(
  GRANT_LIMITS.justificationMaxLength,
  'Justification',
).superRefine((text, ctx) => {
  const problem = justificationProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const categoriesSchema = z
  .array(z.enum(DATA_CATEGORIES, 'Not a data category'), 'Choose at least one data category')
  .min(1, 'Choose at least one data category')
  .transform((list) => DATA_CATEGORIES.filter((c) => list.includes(c)));

/** A grant request's fields. The duration's upper bound depends on the categories' policies. */
export function grantRequestSchema(ticketPattern: RegExp) {
  return z.object({
    userId: z.uuid('Enter the user’s id'),
    categories: categoriesSchema,
    reasonCode: z.enum(REASON_CODES, 'Choose a reason'),
    justification: justificationSchema,
    ticketRef: ticketRefSchema(ticketPattern),
    durationMinutes: z.coerce
      .number('Duration must be a number of minutes')
      .int('Duration must be whole minutes')
      .min(
        GRANT_LIMITS.minDurationMinutes,
        `Duration must be at least ${GRANT_LIMITS.minDurationMinutes} minutes`,
      )
      .max(
        GRANT_LIMITS.maxDurationCapMinutes,
        `Duration must be at most ${GRANT_LIMITS.maxDurationCapMinutes} minutes`,
      ),
    startsAt: z.coerce.date('Start must be a date and time').optional(),
  });
}

export function breakGlassSchema(ticketPattern: RegExp) {
  return z.object({
    userId: z.uuid('Enter the user’s id'),
    categories: categoriesSchema,
    reasonCode: z.enum(REASON_CODES, 'Choose a reason').default('other'),
    justification: justificationSchema,
    ticketRef: ticketRefSchema(ticketPattern).optional(),
    durationMinutes: z.coerce
      .number('Duration must be a number of minutes')
      .int('Duration must be whole minutes')
      .min(
        GRANT_LIMITS.minDurationMinutes,
        `Duration must be at least ${GRANT_LIMITS.minDurationMinutes} minutes`,
      )
      .max(
        GRANT_LIMITS.breakGlassMaxMinutes,
        `A break-glass grant lasts at most ${GRANT_LIMITS.breakGlassMaxMinutes} minutes`,
      )
      .default(GRANT_LIMITS.breakGlassMaxMinutes),
  });
}

/** A decision's, a review's or a revocation's comment: required, some words, card numbers redacted. */
export const commentSchema = freeText(GRANT_LIMITS.commentMaxLength, 'Comment').refine(
  (text) => (text.match(/[\p{L}\p{N}]{2,}/gu)?.length ?? 0) >= 1,
  'Comment is required',
);
