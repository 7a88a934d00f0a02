import { z } from 'zod';

// What the single sign-on routes accept (ADR 039). Server-only, so zod stays out of the browser
// bundle (ADR 016).

/** POST /auth/oidc/backchannel-logout: one `logout_token`, a compact JWS. */
export const BackchannelLogoutSchema = z.object({
  logout_token: z
    .string({ error: 'Missing logout_token' })
    .min(1, 'Missing logout_token')
    .max(16_384, 'logout_token is too long')
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'logout_token must be a signed JWT'),
});
