import { z } from 'zod';

// What the audit pages accept (the trail's filters are TrailQuerySchema, in trail.server.ts, shared
// with its CSV). Server-only, so zod stays out of the browser bundle (ADR 016).

/** /audit/:seq */
export const AuditEntryParamsSchema = z.object({
  seq: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, 'An entry number is a whole number such as 42')
    .transform(Number),
});

/** The verify button of /audit/verify. */
export const VerifyRequestSchema = z.object({ intent: z.literal('verify', 'Unknown request') });
