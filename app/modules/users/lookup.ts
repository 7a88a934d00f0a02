import { z } from 'zod';

// What the lookup form accepts, shared by the page and the server module: an exact user id or an
// exact email, nothing partial. Staff find the person an inquiry is about; they do not browse.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Deliberately loose: the blind index decides whether such an email exists; this only tells a
// typo ("jane", "@example.com") from an address.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/u;

export type LookupQuery = { by: 'id'; value: string } | { by: 'email'; value: string };

/** The lookup card: only what is kept in clear for finding a user, never anything decrypted. */
export interface UserCardView {
  id: string;
  emailMasked: string;
  country: string;
  plan: string;
  status: string;
  createdAt: string;
  accountAge: string;
}

export const LOOKUP_QUERY_HINT =
  'Enter a user’s exact id (a UUID) or exact email address. Partial emails and names are not searched.';

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

/** "3 years", "5 months", "12 days", "today": how long an account has existed. */
export function accountAge(createdAt: Date, at: Date): string {
  const days = Math.floor((at.getTime() - createdAt.getTime()) / 86_400_000);
  if (days < 1) return 'less than a day';
  if (days < 61) return `${days} day${days === 1 ? '' : 's'}`;
  const months = Math.floor(days / 30.44);
  if (months < 24) return `${months} months`;
  return `${Math.floor(months / 12)} years`;
}
