import { z } from 'zod';
import { ROLES } from './permissions.ts';
import { STAFF_SORTS } from './staff.ts';

// What the staff and account pages accept. Server-only, so zod stays out of the browser bundle
// (ADR 016).

/** /account/password: the current password and the new one, twice. */
export const PasswordChangeSchema = z
  .object({
    current: z.string().min(1, 'Enter your current password'),
    password: z
      .string()
      .min(12, 'New password must be at least 12 characters')
      .max(256, 'New password must be at most 256 characters'),
    confirm: z.string(),
  })
  .refine((v) => v.password === v.confirm, {
    path: ['confirm'],
    message: 'The two new passwords differ',
  })
  .refine((v) => v.password !== v.current, {
    path: ['password'],
    message: 'Choose a password different from the current one',
  });

/** The search, filters, order and page of /admin/staff. */
export const StaffQuerySchema = z.object({
  q: z.string().trim().max(200, 'Search is at most 200 characters').optional(),
  role: z.enum(ROLES).optional(),
  status: z.enum(['active', 'disabled']).optional(),
  sort: z.enum(STAFF_SORTS).default('name'),
  dir: z.enum(['asc', 'desc']).default('asc'),
  after: z.string().max(20_000).optional(),
});

/** /admin/staff/new */
export const NewStaffSchema = z.object({
  email: z.email('Enter a valid email').max(320, 'Email is at most 320 characters'),
  displayName: z.string().trim().min(1, 'Enter a name').max(200, 'Name is at most 200 characters'),
  password: z
    .string()
    .min(12, 'Temporary password must be at least 12 characters')
    .max(256, 'Temporary password must be at most 256 characters'),
  roles: z.array(z.enum(ROLES, 'Unknown role')).max(ROLES.length),
});

/** /admin/staff/:staffId */
export const StaffParamsSchema = z.object({ staffId: z.uuid('Not a staff id') });

/** What the staff member's page sends: new roles, or disable or enable the account. */
export const StaffActionSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('roles'), roles: z.array(z.enum(ROLES, 'Unknown role')) }),
  z.object({ intent: z.literal('disable') }),
  z.object({ intent: z.literal('enable') }),
  // A second factor required although the roles do not need one (ADR 035).
  z.object({
    intent: z.literal('second-factor'),
    required: z.enum(['on', 'off'], 'Choose on or off'),
  }),
]);

/** /account/setup/:token, the one-time link's page: the new password, twice. */
export const PasswordLinkSchema = z
  .object({
    password: z
      .string()
      .min(12, 'Password must be at least 12 characters')
      .max(256, 'Password must be at most 256 characters'),
    confirm: z.string(),
  })
  .refine((v) => v.password === v.confirm, {
    path: ['confirm'],
    message: 'The two passwords differ',
  });

/** A second-factor code: six digits from the authenticator app, or a recovery code. */
const factorCode = z
  .string()
  .trim()
  .min(1, 'Enter the code from your authenticator app or a recovery code')
  .max(64, 'A code is at most 64 characters');

/** /login/second-factor and /account/verify (ADR 035). */
export const SecondFactorSchema = z.object({
  code: factorCode,
  redirectTo: z.string().max(2_000, 'redirectTo is at most 2000 characters').optional(),
});

/** /account/security: what its forms send. */
export const SecurityActionSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('start-totp') }),
  z.object({
    intent: z.literal('confirm-totp'),
    code: z
      .string()
      .trim()
      .regex(/^\d{6}$/, 'Enter the six digits your authenticator app shows'),
  }),
  z.object({ intent: z.literal('remove'), factorId: z.uuid('Not a factor of this account') }),
  z.object({ intent: z.literal('recovery-codes') }),
]);
