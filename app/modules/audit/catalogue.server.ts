import { z } from 'zod';
import { DATA_CATEGORIES, PURPOSES, SCOPES } from '#app/modules/vocabulary.ts';

// The catalogue of audit actions: code → what it means, its category, what it refers to, and the
// exact shape of its details. Details hold identifiers and codes, never personal data values
// (no emails, names, message text), and the writer refuses anything else.

export const AUDIT_CATEGORIES = [
  'auth',
  'staff',
  'lookup',
  'view',
  'reveal',
  'grant',
  'privacy',
  'export',
  'retention',
  'denied',
  'audit',
  'analytics',
  'api',
  'inquiry',
] as const;
export type AuditCategory = (typeof AUDIT_CATEGORIES)[number];

export type RefersTo = 'staff' | 'user' | 'grant' | 'privacy_request' | 'audit' | 'none';

interface ActionSpec {
  description: string;
  category: AuditCategory;
  refersTo: RefersTo;
  details: z.ZodType<Record<string, unknown>>;
}

const code = z
  .string()
  .regex(/^[a-z0-9_.:-]{1,64}$/, 'a code of lowercase letters, digits and _.:-');
const none = z.object({}).strict();
const category = z.enum(DATA_CATEGORIES);
const roles = z.array(code).max(16);
/** The name of a command-line command (`staff add`): lowercase words, digits, spaces and dashes. */
const command = z.string().regex(/^[a-z0-9 _.:-]{1,64}$/, 'a command name');

export const AUDIT_ACTIONS = {
  'auth.sign_in': {
    description: 'Staff sign-in attempt',
    category: 'auth',
    refersTo: 'staff',
    // `factor`: how the second step was proved (ADR 035); absent for an account without one.
    // `method: 'sso'`: through the identity provider (ADR 039), where `provider_mfa` means the
    // provider's `amr` said multi-factor and `linked` that this sign-in linked the account.
    details: z
      .object({
        reason: code.optional(),
        factor: z.enum(['totp', 'recovery_code', 'webauthn', 'provider_mfa']).optional(),
        method: z.enum(['sso']).optional(),
        linked: z.literal(true).optional(),
      })
      .strict(),
  },
  // Back-channel logout from the identity provider (ADR 039): `by` says whether the logout token
  // named the provider's session (`sid`) or only the person (`sub`); `sessions` how many ended.
  // Refused tokens are recorded as denied with a `reason`.
  'auth.sso_logout': {
    description: 'Identity provider ended sessions (back-channel logout)',
    category: 'auth',
    refersTo: 'staff',
    details: z
      .object({
        by: z.enum(['sid', 'sub']).optional(),
        sessions: z.number().int().min(0).max(100_000).optional(),
        reason: code.optional(),
      })
      .strict(),
  },
  'auth.sign_out': {
    description: 'Staff sign-out',
    category: 'auth',
    refersTo: 'staff',
    details: none,
  },
  'auth.lock': {
    description: 'Sign-in locked after repeated failures',
    category: 'auth',
    refersTo: 'staff',
    details: z.object({ scope: z.enum(['account', 'address']) }).strict(),
  },
  'auth.factor_enrol': {
    description: 'Second factor enrolled (an authenticator app, a passkey or a security key)',
    category: 'auth',
    refersTo: 'staff',
    // `factor`: the new factor's id (a passkey's, so its later use and removal can be followed).
    details: z
      .object({
        kind: z.enum(['totp', 'webauthn']),
        recoveryCodes: z.number().int().min(0).max(10),
        factor: z.uuid().optional(),
      })
      .strict(),
  },
  'auth.factor_remove': {
    description: 'Second factor removed',
    category: 'auth',
    refersTo: 'staff',
    // Denied with `reason` `last_required`: the account's roles need a factor and it was the last.
    details: z
      .object({
        kind: z.enum(['totp', 'webauthn']),
        factor: z.uuid().optional(),
        reason: code.optional(),
      })
      .strict(),
  },
  'auth.recovery_codes': {
    description: 'New recovery codes made (the old ones void)',
    category: 'auth',
    refersTo: 'staff',
    details: z.object({ count: z.number().int().min(0).max(10) }).strict(),
  },
  'auth.second_factor': {
    description: 'Second factor refused (sign-in, step-up or enrolment)',
    category: 'auth',
    refersTo: 'staff',
    // `factor`: the passkey that was refused (a counter that went back names the one to revoke).
    details: z
      .object({
        purpose: z.enum(['sign_in', 'step_up', 'enrol']),
        reason: code,
        factor: z.uuid().optional(),
      })
      .strict(),
  },
  'auth.step_up': {
    description: 'Step-up: a risky action asked for a fresh second factor, or it was given',
    category: 'auth',
    refersTo: 'staff',
    // Denied: `for` names the action refused. Allowed: `method` proved the factor.
    details: z
      .object({
        for: code.optional(),
        reason: code.optional(),
        method: z.enum(['totp', 'recovery_code', 'webauthn']).optional(),
      })
      .strict(),
  },
  'staff.second_factor_required': {
    description: 'An admin required (or stopped requiring) a second factor for an account',
    category: 'staff',
    refersTo: 'staff',
    details: z.object({ required: z.boolean() }).strict(),
  },
  'staff.factor_reset': {
    description:
      "An admin removed all of a staff member's second factors (its sessions end; it enrols again)",
    category: 'staff',
    refersTo: 'staff',
    details: z
      .object({
        reason: z.enum(['lost_device', 'stolen_device', 'suspected_compromise', 'other']),
        factors: z.number().int().min(0).max(100),
        kinds: z.array(z.enum(['totp', 'webauthn'])).max(2),
      })
      .strict(),
  },
  'auth.password_change': {
    description: 'Staff password changed',
    category: 'auth',
    refersTo: 'staff',
    details: none,
  },
  'staff.create': {
    description: 'Staff account created',
    category: 'staff',
    refersTo: 'staff',
    // `roles` are those given at once; `pending` those waiting for a second person (ADR 021);
    // `command` names the command line that created it (exempt from the second person).
    details: z.object({ roles, pending: roles.optional(), command: command.optional() }).strict(),
  },
  'staff.disable': {
    description: 'Staff account disabled (its sessions end)',
    category: 'staff',
    refersTo: 'staff',
    details: none,
  },
  'staff.enable': {
    description: 'Staff account enabled',
    category: 'staff',
    refersTo: 'staff',
    details: none,
  },
  'staff.roles_change': {
    description: 'Staff roles changed',
    category: 'staff',
    refersTo: 'staff',
    details: z.object({ before: roles, after: roles }).strict(),
  },
  // A single sign-on set the account's roles from the provider's groups (ADR 039): the provider's
  // own process is the second person; security reviewers are alerted.
  'staff.roles_sync': {
    description: 'Staff roles set from the identity provider at sign-in',
    category: 'staff',
    refersTo: 'staff',
    details: z.object({ before: roles, after: roles }).strict(),
  },
  // Roles that need a second person (ADR 021). Refused attempts are logged under the same action
  // with outcome `denied` and a `reason` code.
  'staff.role_request': {
    description: 'Roles that need a second person requested for a staff account',
    category: 'staff',
    refersTo: 'staff',
    details: z.object({ request: z.uuid(), roles, replaces: z.uuid().optional() }).strict(),
  },
  'staff.role_approve': {
    description: 'Role request approved by a second person (password replaced by a one-time link)',
    category: 'staff',
    refersTo: 'staff',
    details: z
      .object({
        request: z.uuid(),
        roles: roles.optional(),
        before: roles.optional(),
        after: roles.optional(),
        reason: code.optional(),
      })
      .strict(),
  },
  'staff.role_reject': {
    description: 'Role request rejected',
    category: 'staff',
    refersTo: 'staff',
    details: z
      .object({ request: z.uuid(), roles: roles.optional(), reason: code.optional() })
      .strict(),
  },
  'staff.role_withdraw': {
    description: 'Role request withdrawn or replaced by a newer one',
    category: 'staff',
    refersTo: 'staff',
    details: z
      .object({
        request: z.uuid(),
        roles: roles.optional(),
        basis: z.enum(['withdrawn', 'superseded']).optional(),
        reason: code.optional(),
      })
      .strict(),
  },
  'auth.password_link': {
    description: 'Password set through a one-time link',
    category: 'auth',
    refersTo: 'staff',
    details: z.object({ reason: code.optional() }).strict(),
  },
  'user.lookup': {
    description: 'End user looked up by exact id or email',
    category: 'lookup',
    refersTo: 'user',
    details: z.object({ by: z.enum(['id', 'email']), found: z.boolean() }).strict(),
  },
  'user.view': {
    description: 'A data category of an end user viewed',
    category: 'view',
    refersTo: 'user',
    // `inquiry`: the inquiry whose thread was read (category inquiries, ADR 034).
    details: z.object({ category, page: code.optional(), inquiry: z.uuid().optional() }).strict(),
  },
  'user.reveal': {
    description: 'A masked field of an end user revealed',
    category: 'reveal',
    refersTo: 'user',
    details: z.object({ category, field: code }).strict(),
  },
  // Refused grant operations are logged under the same action with outcome `denied` and a
  // `reason` code (and the missing `permission`, when that is the reason).
  'grant.request': {
    description: 'Access grant requested',
    category: 'grant',
    refersTo: 'grant',
    details: z
      .object({
        categories: z.array(category),
        reasonCode: code,
        durationMinutes: z.number().int().positive().optional(),
        reason: code.optional(),
        permission: code.optional(),
        // The inquiry the grant is bound to (ADR 034); a privacy request has its own column.
        inquiry: z.uuid().optional(),
      })
      .strict(),
  },
  'grant.approve': {
    description: 'Access grant approved',
    category: 'grant',
    refersTo: 'grant',
    details: z
      .object({
        approvals: z.number().int().nonnegative().optional(),
        needed: z.number().int().nonnegative().optional(),
        reason: code.optional(),
        permission: code.optional(),
      })
      .strict(),
  },
  'grant.deny': {
    description: 'Access grant denied',
    category: 'grant',
    refersTo: 'grant',
    details: z.object({ reason: code.optional(), permission: code.optional() }).strict(),
  },
  'grant.cancel': {
    description: 'Access grant request withdrawn',
    category: 'grant',
    refersTo: 'grant',
    details: z.object({ reason: code.optional(), inquiry: z.uuid().optional() }).strict(),
  },
  'grant.revoke': {
    description: 'Access grant revoked',
    category: 'grant',
    refersTo: 'grant',
    details: z
      .object({
        basis: code.optional(),
        reason: code.optional(),
        permission: code.optional(),
        inquiry: z.uuid().optional(),
      })
      .strict(),
  },
  'grant.expire': {
    description: 'Access grant expired',
    category: 'grant',
    refersTo: 'grant',
    details: z.object({ from: z.enum(['pending', 'approved']).optional() }).strict(),
  },
  'grant.break_glass': {
    description: 'Emergency (break-glass) grant activated',
    category: 'grant',
    refersTo: 'grant',
    details: z
      .object({
        categories: z.array(category),
        durationMinutes: z.number().int().positive().optional(),
        reason: code.optional(),
        permission: code.optional(),
      })
      .strict(),
  },
  'grant.review': {
    description: 'Break-glass use reviewed',
    category: 'grant',
    refersTo: 'grant',
    details: z.object({ reason: code.optional(), permission: code.optional() }).strict(),
  },
  'grant.policy_change': {
    description: 'Grant policy of a data category changed',
    category: 'grant',
    refersTo: 'none',
    details: z
      .object({
        category,
        maxDurationMinutes: z.number().int().positive().optional(),
        approvalsNeeded: z.number().int().positive().optional(),
        approverPermission: code.optional(),
        reason: code.optional(),
        permission: code.optional(),
      })
      .strict(),
  },
  'privacy.request': {
    description: 'Privacy request received',
    category: 'privacy',
    refersTo: 'privacy_request',
    details: z
      .object({
        type: code,
        source: code,
        verified: z.boolean(),
        regime: code,
        // The names of the fields a rectification asks to change, never their values.
        fields: z.array(code).max(16).optional(),
      })
      .strict(),
  },
  'privacy.transition': {
    description: 'Privacy request changed state',
    category: 'privacy',
    refersTo: 'privacy_request',
    details: z
      .object({ from: code, to: code, step: code.optional(), reason: code.optional() })
      .strict(),
  },
  'privacy.assign': {
    description: 'Privacy request assigned',
    category: 'privacy',
    refersTo: 'privacy_request',
    details: z.object({ assignee: z.uuid().nullable() }).strict(),
  },
  'privacy.extend': {
    description: 'Privacy request deadline extended',
    category: 'privacy',
    refersTo: 'privacy_request',
    details: z.object({ from: code, to: code }).strict(),
  },
  'privacy.download': {
    description: 'A privacy request’s file downloaded (its package or its certificate)',
    category: 'privacy',
    refersTo: 'privacy_request',
    // `via`: the user's link, or the service API (the product handing it to its user).
    details: z.object({ artifact: code, via: z.enum(['link', 'api']).optional() }).strict(),
  },
  'privacy.package': {
    description: 'Access or portability package made',
    category: 'privacy',
    refersTo: 'privacy_request',
    // Counts and sizes only: the package's contents never reach the trail.
    details: z
      .object({
        files: z.number().int().nonnegative(),
        bytes: z.number().int().nonnegative(),
        rows: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      })
      .strict(),
  },
  'privacy.package_delete': {
    description: 'Access or portability package deleted',
    category: 'privacy',
    refersTo: 'privacy_request',
    details: z.object({ reason: z.enum(['expired', 'erased']) }).strict(),
  },
  'privacy.message': {
    description: 'Message to a privacy request’s user handed to the mail server, or not',
    category: 'privacy',
    refersTo: 'privacy_request',
    // The template and what became of this attempt; never the address or the text.
    details: z
      .object({
        template: code,
        result: z.enum(['sent', 'retry', 'failed']),
        attempt: z.number().int().positive(),
        error: code.optional(),
      })
      .strict(),
  },
  // Support inquiries (ADR 034). Codes and ids only: never the subject, the thread or the address.
  'inquiry.create': {
    description: 'Support inquiry received',
    category: 'inquiry',
    refersTo: 'user',
    details: z
      .object({ inquiry: z.uuid(), category: code, source: z.enum(['api', 'staff']) })
      .strict(),
  },
  'inquiry.assign': {
    description: 'Support inquiry assigned, taken or given to someone else',
    category: 'inquiry',
    refersTo: 'user',
    // `from` and `to`: staff ids; `grant`: the assignment's grant of the thread.
    details: z
      .object({
        inquiry: z.uuid(),
        from: z.uuid().nullable(),
        to: z.uuid(),
        grant: z.uuid(),
        renew: z.boolean().optional(),
      })
      .strict(),
  },
  'inquiry.reply': {
    description: 'Reply written on a support inquiry’s thread and queued to its user',
    category: 'inquiry',
    refersTo: 'user',
    details: z.object({ inquiry: z.uuid(), queued: z.boolean() }).strict(),
  },
  'inquiry.transition': {
    description: 'Support inquiry changed state',
    category: 'inquiry',
    refersTo: 'user',
    details: z.object({ inquiry: z.uuid(), from: code, to: code }).strict(),
  },
  'inquiry.to_privacy_request': {
    description: 'Privacy inquiry turned into a privacy request',
    category: 'inquiry',
    refersTo: 'privacy_request',
    details: z.object({ inquiry: z.uuid(), type: code }).strict(),
  },
  'inquiry.message': {
    description: 'Reply to an inquiry’s user handed to the mail server, or not',
    category: 'inquiry',
    refersTo: 'user',
    details: z
      .object({
        inquiry: z.uuid(),
        result: z.enum(['sent', 'retry', 'failed']),
        attempt: z.number().int().positive(),
        error: code.optional(),
      })
      .strict(),
  },
  'privacy.legal_hold': {
    description: 'Legal hold set or lifted on a user',
    category: 'privacy',
    refersTo: 'user',
    // The hold's reason stays in its table: free text is never copied into the trail.
    details: z.object({ hold: z.uuid(), change: z.enum(['set', 'lift']) }).strict(),
  },
  'privacy.erasure_certificate': {
    description: 'Erasure certificate signed',
    category: 'privacy',
    refersTo: 'privacy_request',
    details: z
      .object({
        sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex'),
        rowsRemoved: z.number().int().nonnegative(),
        rowsKept: z.number().int().nonnegative(),
        keyDestroyed: z.boolean(),
      })
      .strict(),
  },
  'privacy.rectify': {
    description: 'Rectification applied to a user’s profile',
    category: 'privacy',
    refersTo: 'privacy_request',
    // The names of the fields written, never their values.
    details: z.object({ fields: z.array(code).min(1).max(16) }).strict(),
  },
  'privacy.record_edit': {
    description: 'Record of processing edited (a new version)',
    category: 'privacy',
    refersTo: 'none',
    // The version made, the one it was made from, and which sections changed: never their text.
    details: z
      .object({
        version: z.number().int().min(2),
        from: z.number().int().min(1),
        changed: z
          .array(z.enum(['purposes', 'categories', 'recipients', 'sources', 'rights']))
          .min(1)
          .max(5),
      })
      .strict(),
  },
  'preferences.change': {
    description: 'Data-use preference changed',
    category: 'privacy',
    refersTo: 'user',
    details: z.object({ purpose: z.enum(PURPOSES), allowed: z.boolean() }).strict(),
  },
  'export.run': {
    description: 'Data export produced',
    category: 'export',
    refersTo: 'none',
    details: z.object({ kind: code, rows: z.number().int().nonnegative() }).strict(),
  },
  'export.training': {
    description:
      'Conversations exported for training (opted-out, objecting and erased users left out)',
    category: 'export',
    refersTo: 'none',
    details: z
      .object({
        conversations: z.number().int().nonnegative(),
        messages: z.number().int().nonnegative(),
        users: z.number().int().nonnegative(),
        excludedUsers: z.number().int().nonnegative(),
      })
      .strict(),
  },
  'retention.purge': {
    description: 'Retention purge run of one category: what it removed and the cut-off',
    category: 'retention',
    refersTo: 'none',
    // Counts and the cut-off, never a row (ADR 032); fromSeq/toSeq name the range of audit entries
    // whose contents the audit_contents policy emptied.
    details: z
      .object({
        category: code,
        runId: z.uuid(),
        cutoff: z.iso.datetime({ offset: true }),
        periodDays: z.number().int().nonnegative(),
        removed: z.number().int().nonnegative(),
        cascaded: z.number().int().nonnegative(),
        batches: z.number().int().nonnegative(),
        resumed: z.boolean(),
        fromSeq: z.number().int().nonnegative().optional(),
        toSeq: z.number().int().nonnegative().optional(),
      })
      .strict(),
  },
  'retention.policy_change': {
    description: 'Retention policy of a data category changed',
    category: 'retention',
    refersTo: 'none',
    // The fields changed and the new period and flags; the reason and basis texts stay in the
    // policy's own history (console.retention_policy_changes).
    details: z
      .object({
        category: code,
        fields: z.array(code).max(8).optional(),
        periodDays: z.number().int().nonnegative().optional(),
        previousPeriodDays: z.number().int().nonnegative().optional(),
        suspendedByHold: z.boolean().optional(),
        suspendedByOpenRequest: z.boolean().optional(),
        reason: code.optional(),
        permission: code.optional(),
      })
      .strict(),
  },
  'access.denied': {
    description: 'Request refused',
    category: 'denied',
    refersTo: 'none',
    details: z
      .object({
        reason: code,
        permission: code.optional(),
        /** A page that any one of several permissions opens (ADR 021). */
        permissions: z.array(code).max(8).optional(),
        route: z.string().max(200).optional(),
      })
      .strict(),
  },
  'audit.verify': {
    description: 'Audit trail verification run',
    category: 'audit',
    refersTo: 'audit',
    details: z
      .object({
        entries: z.number().int().nonnegative(),
        checkpoints: z.number().int().nonnegative(),
        ok: z.boolean(),
        firstBadSeq: z.number().int().nonnegative().nullable(),
      })
      .strict(),
  },
  // Written by console.purge_audit_contents() itself (drizzle/0028, ADR 033), in the transaction
  // that empties the range: the record an emptied entry is verified by. Never emptied itself.
  'audit.contents_purged': {
    description: 'Audit entry contents removed by the retention policy',
    category: 'audit',
    refersTo: 'audit',
    details: z
      .object({
        run: z.number().int().positive(),
        fromSeq: z.number().int().nonnegative(),
        toSeq: z.number().int().nonnegative(),
        emptied: z.number().int().positive(),
        coveredBefore: z.iso.datetime({ precision: 3 }),
      })
      .strict(),
  },
  'audit.export': {
    description: 'Audit trail exported (bundle or CSV)',
    category: 'audit',
    refersTo: 'audit',
    details: z
      .object({ format: z.enum(['bundle', 'csv']), entries: z.number().int().nonnegative() })
      .strict(),
  },
  'analytics.release': {
    description: 'Analytics release made, or refused for lack of privacy budget',
    category: 'analytics',
    refersTo: 'none',
    details: z
      .object({
        kind: code,
        dataset: code,
        period: code,
        epsilonMicros: z.number().int().positive(),
        cells: z.number().int().nonnegative(),
        reason: code.optional(),
      })
      .strict(),
  },
  'analytics.export': {
    description: 'Released analytics figures downloaded (CSV)',
    category: 'analytics',
    refersTo: 'none',
    details: z
      .object({
        from: code,
        to: code,
        releases: z.number().int().nonnegative(),
        rows: z.number().int().nonnegative(),
      })
      .strict(),
  },
  // Sharing analytics (ADR 037): the recipient as the record of processing names it (an
  // organisation, never a person), the record's version, the releases as `kind:period` codes, the
  // CSV's rows and SHA-256; never a figure.
  'analytics.share': {
    description: 'Released analytics figures shared with a recipient in the record of processing',
    category: 'analytics',
    refersTo: 'none',
    details: z
      .object({
        share: z.uuid(),
        recipient: z.string().min(1).max(120),
        recordVersion: z.number().int().min(1),
        releases: z.array(code).min(1).max(400),
        datasets: z.array(code).min(1).max(2),
        rows: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      })
      .strict(),
  },
  'analytics.share_download': {
    description: 'The CSV of an analytics share downloaded again',
    category: 'analytics',
    refersTo: 'none',
    details: z
      .object({
        share: z.uuid(),
        rows: z.number().int().nonnegative(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      })
      .strict(),
  },
  // The service API (ADR 023). Every answered call is one `api.call` entry with the token as
  // its actor, besides the entry of what the call did (a privacy request received, verified).
  'api.call': {
    description: 'Service API call answered',
    category: 'api',
    refersTo: 'none',
    details: z
      .object({
        endpoint: code,
        status: z.number().int().min(200).max(299),
        /** The answer was the stored first answer to the same Idempotency-Key and body. */
        replay: z.boolean().optional(),
        /** How many items a list answered. */
        items: z.number().int().nonnegative().optional(),
      })
      .strict(),
  },
  'api.token_create': {
    description: 'Service API token created',
    category: 'api',
    refersTo: 'none',
    details: z
      .object({ token: z.uuid(), name: code, scopes: z.array(z.enum(SCOPES)).min(1).max(16) })
      .strict(),
  },
  'api.token_revoke': {
    description: 'Service API token revoked',
    category: 'api',
    refersTo: 'none',
    details: z.object({ token: z.uuid(), name: code }).strict(),
  },
} as const satisfies Record<string, ActionSpec>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;
export const AUDIT_ACTION_CODES = Object.keys(AUDIT_ACTIONS) as AuditAction[];

/** How an action code is shown; an unknown code (from a newer release) still gets a line. */
export function describeAction(action: string): { description: string; category: string } {
  const spec = (AUDIT_ACTIONS as Record<string, ActionSpec>)[action];
  return spec
    ? { description: spec.description, category: spec.category }
    : { description: `Unknown action (${action})`, category: 'unknown' };
}
