// The lookup's words and shapes, shared by the page and the server module: an exact user id or an
// exact email, nothing partial. Staff find the person an inquiry is about; they do not browse. The
// form's schema is LookupQuerySchema in input.server.ts (browser-safe here: no zod, ADR 016).

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

/** "3 years", "5 months", "12 days", "today": how long an account has existed. */
export function accountAge(createdAt: Date, at: Date): string {
  const days = Math.floor((at.getTime() - createdAt.getTime()) / 86_400_000);
  if (days < 1) return 'less than a day';
  if (days < 61) return `${days} day${days === 1 ? '' : 's'}`;
  const months = Math.floor(days / 30.44);
  if (months < 24) return `${months} months`;
  return `${Math.floor(months / 12)} years`;
}
