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
