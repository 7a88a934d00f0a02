import { z } from 'zod';
import { AUDIT_ACTIONS, type AuditAction } from './catalogue.server.ts';

// What a valid audit entry is, in one place: the writer builds entries that pass it, the sequencer
// checks every queued entry against it (an entry may reach the intake without the writer), and
// verification checks every logged entry against it again. Imports nothing but the catalogue, so
// the verifier's worker threads can load it.

const id = z.uuid().nullable();

/** Everything of an entry but its time, action, category and details. */
export const EnvelopeSchema = z.object({
  outcome: z.enum(['allowed', 'denied', 'failed']),
  // A staff member, or a service token by its name (ADR 023); null for Custodian itself (its
  // command line, a job) and for visitors.
  actor: z
    .union([
      z.object({ staffId: z.uuid(), roles: z.array(z.string().max(64)).max(16) }).strict(),
      z
        .object({ service: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/), tokenId: z.uuid() })
        .strict(),
    ])
    .nullable(),
  subjectStaffId: id,
  userId: id,
  grantId: id,
  privacyRequestId: id,
  sessionId: id,
  purpose: z.string().max(64).nullable(),
  client: z
    .object({
      address: z.string().max(64).nullable(),
      userAgent: z.string().max(256).nullable(),
    })
    .strict(),
});

const EntrySchema = EnvelopeSchema.extend({
  v: z.literal(1),
  // The writer's `Date.toISOString()`: UTC with milliseconds.
  time: z.iso.datetime({ precision: 3 }),
  action: z.string(),
  category: z.string(),
  details: z.unknown(),
}).strict();

const REASON_MAX = 200;
const reason = (text: string) =>
  text.length > REASON_MAX ? `${text.slice(0, REASON_MAX - 1)}…` : text;

function firstIssue(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  return reason(`${path || 'entry'}: ${issue.message}`);
}

export type EntryCheck = { ok: true } | { ok: false; reason: string };

/**
 * Whether a parsed entry (without its position: no `seq`, no `prev`) is one the writer could have
 * made: the envelope, an action of the catalogue with its category, and exactly the details that
 * action declares. A field the catalogue does not declare (an `email` in the details) fails.
 */
export function checkEntry(entry: unknown): EntryCheck {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const parsed = EntrySchema.safeParse(entry);
  if (!parsed.success) return { ok: false, reason: firstIssue(parsed.error) };
  const spec = Object.hasOwn(AUDIT_ACTIONS, parsed.data.action)
    ? AUDIT_ACTIONS[parsed.data.action as AuditAction]
    : undefined;
  if (!spec) return { ok: false, reason: reason(`action: not in the catalogue`) };
  if (parsed.data.category !== spec.category) {
    return { ok: false, reason: `category: ${parsed.data.action} is in ${spec.category}` };
  }
  const details = spec.details.safeParse(parsed.data.details);
  if (!details.success) return { ok: false, reason: firstIssue(details.error, 'details') };
  return { ok: true };
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * An intake row's bytes, checked: the parsed entry when it is valid, else why not. The sequencer
 * logs either way; only a valid entry gets a position inside its content and derived columns.
 */
export function checkIntakeBody(
  bytes: Uint8Array,
): { ok: true; entry: Record<string, unknown> } | { ok: false; reason: string } {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, reason: 'not UTF-8' };
  }
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (entry !== null && typeof entry === 'object' && ('seq' in entry || 'prev' in entry)) {
    return { ok: false, reason: 'a queued entry carries no seq or prev' };
  }
  const checked = checkEntry(entry);
  return checked.ok ? { ok: true, entry: entry as Record<string, unknown> } : checked;
}

/**
 * A logged entry (with its `seq` and `prev`), checked against the catalogue as the sequencer
 * checked it when it was queued; the position itself is checked by verification.
 */
export function checkLoggedEntry(entry: unknown): EntryCheck {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const { seq, prev, ...rest } = entry as Record<string, unknown>;
  const checked = checkEntry(rest);
  if (!checked.ok) return checked;
  return seq === undefined || prev === undefined
    ? { ok: false, reason: 'no seq or prev' }
    : checked;
}
