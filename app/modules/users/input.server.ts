import { z } from 'zod';
import { REQUESTABLE_CATEGORIES } from '#app/modules/vocabulary.ts';
import { LOOKUP_QUERY_HINT, type LookupQuery } from './lookup.ts';

// What the user pages accept: the lookup query, route params and the reveal form. Server-only, so
// zod stays out of the browser bundle (ADR 016); the names and labels the pages show live in the
// browser-safe lookup.ts, categories.ts and fields.ts.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Deliberately loose: the blind index decides whether such an email exists; this only tells a
// typo ("jane", "@example.com") from an address.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/u;
const UUID_SOURCE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** The lookup form: an exact user id or an exact email, nothing partial. */
export const LookupQuerySchema = z.object({
  q: z
    .string()
    .trim()
    .max(320, 'An email address is at most 320 characters')
    .transform((value, ctx): LookupQuery | null => {
      if (value === '') return null;
      if (UUID.test(value)) return { by: 'id', value: value.toLowerCase() };
      if (EMAIL.test(value)) return { by: 'email', value };
      ctx.addIssue({
        code: 'custom',
        message: `“${value.length > 60 ? `${value.slice(0, 60)}…` : value}” is neither a user id nor a whole email address. ${LOOKUP_QUERY_HINT}`,
      });
      return z.NEVER;
    })
    .optional()
    .transform((value) => value ?? null),
});

export const USER_ID_PARAM = z.string().regex(UUID, 'Not a user id (a UUID)');

export const CategoryParamSchema = z.enum(REQUESTABLE_CATEGORIES, 'Not a data category');

/** A field to reveal (fields.ts): the email, the phone or one payment reference's last four. */
export const RevealFieldSchema = z
  .string('Choose a field to reveal')
  .regex(new RegExp(`^(email|phone|last4:${UUID_SOURCE})$`), 'Not a field that can be revealed');

/** /users/:id/:category */
export const CategoryPageParamsSchema = z.object({
  id: USER_ID_PARAM,
  category: CategoryParamSchema,
});

/** The reveal form of /users/:id/:category. */
export const RevealSchema = z.object({
  intent: z.literal('reveal', 'Unknown action'),
  field: RevealFieldSchema,
});

/** /users/:id/conversations/:conversationId */
export const ConversationParamsSchema = z.object({
  id: USER_ID_PARAM,
  conversationId: USER_ID_PARAM,
});
