import { z } from 'zod';
import { ROLES } from './permissions.ts';
import { STAFF_SORTS } from './staff.ts';
import { FACTOR_RESET_REASONS } from './vocabulary.ts';

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
  // An admin removes all of the member's second factors (ADR 038).
  z.object({
    intent: z.literal('reset-factors'),
    reason: z.enum(FACTOR_RESET_REASONS, 'Choose why the factors are reset'),
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

const b64url = z
  .string()
  .max(16_000)
  .regex(/^[A-Za-z0-9_-]*$/, 'Not base64url');

/**
 * A browser's answer to navigator.credentials (ADR 038), posted as JSON text in the field
 * `response` by the page's script: only its shape here; the WebAuthn library checks the rest.
 */
const webauthnJson = <T extends z.ZodRawShape>(response: T) =>
  z
    .string()
    .max(32_000, 'The passkey answer is too long')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'Not a passkey answer (JSON expected)' });
        return z.NEVER;
      }
    })
    .pipe(
      z.object(
        {
          id: b64url.min(1),
          rawId: b64url.min(1),
          type: z.literal('public-key'),
          response: z.object(response),
          authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
          clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
        },
        'Not a passkey answer',
      ),
    );

/** What navigator.credentials.create() answered, as @simplewebauthn/browser sends it. */
export const RegistrationJson = webauthnJson({
  clientDataJSON: b64url,
  attestationObject: b64url,
  authenticatorData: b64url.optional(),
  transports: z.array(z.string().max(32)).max(10).optional(),
  publicKeyAlgorithm: z.number().int().optional(),
  publicKey: b64url.optional(),
});

/** What navigator.credentials.get() answered. */
export const AuthenticationJson = webauthnJson({
  clientDataJSON: b64url,
  authenticatorData: b64url,
  signature: b64url,
  userHandle: b64url.optional(),
});

const passkeyName = z
  .string()
  .trim()
  .min(1, 'Name the passkey (for example: work laptop, blue security key)')
  .max(60, 'A passkey name is at most 60 characters')
  .regex(/^[^\p{Cc}\p{Cf}\p{Cs}]*$/u, 'A passkey name has no control characters');

/**
 * /login/second-factor and /account/verify with a passkey (ADR 038): ask for a challenge
 * (`passkey-options`), then send the browser's answer (`passkey`).
 */
export const PasskeyStepSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('passkey-options') }),
  z.object({
    intent: z.literal('passkey'),
    response: AuthenticationJson,
    redirectTo: z.string().max(2_000, 'redirectTo is at most 2000 characters').optional(),
  }),
]);

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
  // Passkeys (ADR 038): a challenge for a new one, then the browser's answer with its name.
  z.object({ intent: z.literal('passkey-options'), name: passkeyName }),
  z.object({
    intent: z.literal('passkey-register'),
    name: passkeyName,
    response: RegistrationJson,
  }),
]);
