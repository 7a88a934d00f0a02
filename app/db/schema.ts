import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  index,
  inet,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import {
  APPROVER_PERMISSIONS,
  DECISIONS,
  GRANT_LIMITS,
  GRANT_STATUSES,
  NOTIFICATION_KINDS,
  REVOKE_BASES,
} from '#app/modules/access/vocabulary.ts';
import { DATASETS, RELEASE_KINDS } from '#app/modules/analytics/vocabulary.ts';
import { ROLE_REQUEST_STATUSES } from '#app/modules/auth/vocabulary.ts';
import {
  INQUIRY_CATEGORIES,
  INQUIRY_SOURCES,
  INQUIRY_STATES,
  MESSAGE_AUTHORS,
} from '#app/modules/inquiries/vocabulary.ts';
import {
  CHANNELS,
  HOLD_REASONS,
  OUTBOX_STATES,
  PROPOSALS,
  REGIMES,
  REQUEST_SOURCES,
  REQUEST_STATES,
  REQUEST_TYPES,
  USER_MESSAGES,
} from '#app/modules/privacy/vocabulary.ts';
import {
  RETENTION_CATEGORIES,
  RETENTION_LIMITS,
  RUN_CATEGORY_STATES,
  RUN_STATES,
  RUN_TRIGGERS,
} from '#app/modules/retention/vocabulary.ts';
import {
  CARD_BRANDS,
  COUNTRIES,
  DATA_CATEGORIES,
  LOCALES,
  MESSAGE_ROLES,
  MODELS,
  PAYMENT_PROVIDERS,
  PLANS,
  PREFERENCE_SOURCES,
  PURPOSES,
  REASON_CODES,
  SCOPES,
  STAFF_STATUSES,
  USAGE_KINDS,
  USER_STATUSES,
} from '#app/modules/vocabulary.ts';

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const inList = (column: string, values: readonly string[]) =>
  sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`);

// ---------------------------------------------------------------------------------------------
// product: what the chat service stores about its users. Every row carries its user_id.
// ---------------------------------------------------------------------------------------------
export const product = pgSchema('product');

export const planEnum = product.enum('plan', PLANS);
export const modelEnum = product.enum('model', MODELS);
export const userStatusEnum = product.enum('user_status', USER_STATUSES);
export const messageRoleEnum = product.enum('message_role', MESSAGE_ROLES);
export const paymentProviderEnum = product.enum('payment_provider', PAYMENT_PROVIDERS);
export const cardBrandEnum = product.enum('card_brand', CARD_BRANDS);
export const usageKindEnum = product.enum('usage_kind', USAGE_KINDS);
export const purposeEnum = product.enum('purpose', PURPOSES);
export const preferenceSourceEnum = product.enum('preference_source', PREFERENCE_SOURCES);

export const users = product.table(
  'users',
  {
    id: uuid('id').primaryKey(),
    // AES-256-GCM under the user's data key, bound to (field, user id).
    emailEnc: bytea('email_enc').notNull(),
    // HMAC-SHA-256 of the normalised email under the index key: exact lookup without plaintext.
    emailIndex: bytea('email_index').notNull(),
    emailIndexKeyId: text('email_index_key_id').notNull(),
    // Kept in clear on purpose, for lookup cards: "j•••@example.com".
    emailMasked: text('email_masked').notNull(),
    displayNameEnc: bytea('display_name_enc').notNull(),
    phoneEnc: bytea('phone_enc'),
    country: text('country').notNull(),
    plan: planEnum('plan').notNull(),
    locale: text('locale').notNull(),
    status: userStatusEnum('status').notNull().default('active'),
    createdAt: tstz('created_at').notNull(),
    lastActiveAt: tstz('last_active_at'),
  },
  (t) => [
    uniqueIndex('users_email_index_key').on(t.emailIndex),
    check('users_country_check', inList('country', COUNTRIES)),
    check('users_locale_check', inList('locale', LOCALES)),
  ],
);

// One data key per user, wrapped by the master key. Deleting the row destroys the key, and with
// it every ciphertext of the user (crypto-shredding).
export const userKeys = product.table('user_keys', {
  userId: uuid('user_id').primaryKey(),
  keyVersion: smallint('key_version').notNull().default(1),
  masterKeyId: text('master_key_id').notNull(),
  wrappedKey: bytea('wrapped_key').notNull(),
  createdAt: tstz('created_at').notNull(),
});

export const conversations = product.table(
  'conversations',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    titleEnc: bytea('title_enc').notNull(),
    model: modelEnum('model').notNull(),
    createdAt: tstz('created_at').notNull(),
    updatedAt: tstz('updated_at').notNull(),
  },
  (t) => [index('conversations_user_idx').on(t.userId, t.updatedAt, t.id)],
);

export const messages = product.table(
  'messages',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    conversationId: uuid('conversation_id').notNull(),
    role: messageRoleEnum('role').notNull(),
    contentEnc: bytea('content_enc').notNull(),
    tokenCount: integer('token_count').notNull(),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [
    index('messages_conversation_idx').on(t.conversationId, t.createdAt, t.id),
    index('messages_user_idx').on(t.userId),
  ],
);

export const paymentReferences = product.table(
  'payment_references',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    provider: paymentProviderEnum('provider').notNull(),
    customerToken: text('customer_token').notNull(),
    cardBrand: cardBrandEnum('card_brand').notNull(),
    last4: text('last4').notNull(),
    expMonth: smallint('exp_month').notNull(),
    expYear: smallint('exp_year').notNull(),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [
    index('payment_references_user_idx').on(t.userId),
    check('payment_references_last4_check', sql`last4 ~ '^[0-9]{4}$'`),
    check('payment_references_exp_month_check', sql`exp_month between 1 and 12`),
  ],
);

export const usageEvents = product.table(
  'usage_events',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    kind: usageKindEnum('kind').notNull(),
    model: modelEnum('model'),
    tokens: integer('tokens').notNull().default(0),
    country: text('country').notNull(),
    occurredAt: tstz('occurred_at').notNull(),
  },
  (t) => [
    index('usage_events_occurred_idx').on(t.occurredAt),
    index('usage_events_user_idx').on(t.userId, t.occurredAt),
  ],
);

export const dataUsePreferences = product.table(
  'data_use_preferences',
  {
    userId: uuid('user_id').notNull(),
    purpose: purposeEnum('purpose').notNull(),
    allowed: boolean('allowed').notNull(),
    updatedAt: tstz('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.purpose] })],
);

export const dataUsePreferenceChanges = product.table(
  'data_use_preference_changes',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    purpose: purposeEnum('purpose').notNull(),
    allowed: boolean('allowed').notNull(),
    source: preferenceSourceEnum('source').notNull(),
    changedAt: tstz('changed_at').notNull(),
  },
  (t) => [index('data_use_preference_changes_user_idx').on(t.userId, t.changedAt)],
);

// ---------------------------------------------------------------------------------------------
// console: Custodian's own state.
// ---------------------------------------------------------------------------------------------
export const consoleSchema = pgSchema('console');

export const staffStatusEnum = consoleSchema.enum('staff_status', STAFF_STATUSES);

export const staff = consoleSchema.table(
  'staff',
  {
    id: uuid('id').primaryKey(),
    email: text('email').notNull(),
    displayName: text('display_name').notNull(),
    passwordHash: text('password_hash').notNull(),
    mustChangePassword: boolean('must_change_password').notNull().default(false),
    status: staffStatusEnum('status').notNull().default('active'),
    isDemo: boolean('is_demo').notNull().default(false),
    createdAt: tstz('created_at').notNull(),
    disabledAt: tstz('disabled_at'),
    passwordChangedAt: tstz('password_changed_at'),
    /** An admin asks for a second factor although the roles do not (ADR 035). */
    secondFactorRequired: boolean('second_factor_required').notNull().default(false),
    /** The single sign-on account it is linked to (ADR 039): both set, or neither. */
    idpIssuer: text('idp_issuer'),
    idpSubject: text('idp_subject'),
  },
  (t) => [
    uniqueIndex('staff_email_key').on(sql`lower(${t.email})`),
    uniqueIndex('staff_idp_subject_key').on(t.idpIssuer, t.idpSubject),
    check('staff_idp_pair_check', sql`(${t.idpIssuer} IS NULL) = (${t.idpSubject} IS NULL)`),
  ],
);

export const roles = consoleSchema.table('roles', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
});

export const permissions = consoleSchema.table('permissions', {
  code: text('code').primaryKey(),
  description: text('description').notNull(),
});

export const rolePermissions = consoleSchema.table(
  'role_permissions',
  {
    roleCode: text('role_code')
      .notNull()
      .references(() => roles.code),
    permissionCode: text('permission_code')
      .notNull()
      .references(() => permissions.code),
  },
  (t) => [primaryKey({ columns: [t.roleCode, t.permissionCode] })],
);

export const staffRoles = consoleSchema.table(
  'staff_roles',
  {
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    roleCode: text('role_code')
      .notNull()
      .references(() => roles.code),
    grantedAt: tstz('granted_at').notNull(),
    grantedBy: uuid('granted_by'),
  },
  (t) => [primaryKey({ columns: [t.staffId, t.roleCode] })],
);

export const sessions = consoleSchema.table(
  'sessions',
  {
    id: uuid('id').primaryKey(),
    // SHA-256 of the cookie's random token: a copy of this table opens no session.
    tokenHash: bytea('token_hash').notNull(),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    createdAt: tstz('created_at').notNull(),
    lastSeenAt: tstz('last_seen_at').notNull(),
    expiresAt: tstz('expires_at').notNull(),
    clientAddress: inet('client_address'),
    userAgent: text('user_agent'),
    /** When this session last proved a second factor (sign-in or step-up; ADR 035). */
    secondFactorAt: tstz('second_factor_at'),
    /** The identity provider's session behind a single sign-on session (ADR 039). */
    idpIssuer: text('idp_issuer'),
    idpSid: text('idp_sid'),
  },
  (t) => [
    uniqueIndex('sessions_token_hash_key').on(t.tokenHash),
    index('sessions_staff_idx').on(t.staffId),
    index('sessions_idp_sid_idx').on(t.idpIssuer, t.idpSid),
  ],
);

// Second factors (ADR 035): an authenticator app's secret, sealed under the master key and bound
// to its row; `confirmed_at` is null while enrolment waits for a first code; `last_used_step` is
// the newest TOTP time step accepted, so a code is never accepted twice.
export const staffFactors = consoleSchema.table(
  'staff_factors',
  {
    id: uuid('id').primaryKey(),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    kind: text('kind', { enum: ['totp', 'webauthn'] }).notNull(),
    secretSealed: bytea('secret_sealed'),
    masterKeyId: text('master_key_id'),
    createdAt: tstz('created_at').notNull(),
    confirmedAt: tstz('confirmed_at'),
    lastUsedStep: bigint('last_used_step', { mode: 'number' }),
    // Passkeys and security keys (ADR 038): the name its holder gave it, the credential's id
    // (base64url), its COSE public key, the signature counter last seen, and its transports.
    name: text('name'),
    credentialId: text('credential_id'),
    publicKey: bytea('public_key'),
    signCount: bigint('sign_count', { mode: 'number' }),
    transports: text('transports').array(),
  },
  (t) => [
    index('staff_factors_staff_idx').on(t.staffId),
    uniqueIndex('staff_factors_credential_id_key').on(t.credentialId),
    check('staff_factors_kind_check', sql`${t.kind} in ('totp', 'webauthn')`),
    check(
      'staff_factors_shape_check',
      sql`(${t.kind} = 'totp' and ${t.secretSealed} is not null and ${t.masterKeyId} is not null and ${t.credentialId} is null) or (${t.kind} = 'webauthn' and ${t.secretSealed} is null and ${t.credentialId} is not null and ${t.publicKey} is not null and ${t.signCount} is not null and ${t.name} is not null)`,
    ),
  ],
);

// Ten single-use recovery codes per account, stored as argon2id hashes like passwords.
export const recoveryCodes = consoleSchema.table(
  'recovery_codes',
  {
    id: uuid('id').primaryKey(),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    codeHash: text('code_hash').notNull(),
    createdAt: tstz('created_at').notNull(),
    usedAt: tstz('used_at'),
  },
  (t) => [index('recovery_codes_staff_idx').on(t.staffId)],
);

// A sign-in whose password was right and whose second factor is awaited (5 minutes). The cookie
// holds a random token; the table only its SHA-256, as for sessions.
export const pendingSignIns = consoleSchema.table(
  'pending_sign_ins',
  {
    id: uuid('id').primaryKey(),
    tokenHash: bytea('token_hash').notNull(),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    redirectTo: text('redirect_to').notNull(),
    createdAt: tstz('created_at').notNull(),
    expiresAt: tstz('expires_at').notNull(),
    /** A single sign-on awaiting the second factor: the provider's session travels on (ADR 039). */
    idpIssuer: text('idp_issuer'),
    idpSid: text('idp_sid'),
  },
  (t) => [
    uniqueIndex('pending_sign_ins_token_hash_key').on(t.tokenHash),
    index('pending_sign_ins_staff_idx').on(t.staffId),
  ],
);

// A single sign-on on its way through the identity provider (ADR 039): the browser holds a random
// token in a short-lived cookie, the table its SHA-256 with the state, nonce and PKCE verifier
// sent with it. The callback takes the row (once) and checks what comes back against it.
export const ssoFlows = consoleSchema.table(
  'sso_flows',
  {
    id: uuid('id').primaryKey(),
    tokenHash: bytea('token_hash').notNull(),
    state: text('state').notNull(),
    nonce: text('nonce').notNull(),
    codeVerifier: text('code_verifier').notNull(),
    redirectTo: text('redirect_to').notNull(),
    createdAt: tstz('created_at').notNull(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [
    uniqueIndex('sso_flows_token_hash_key').on(t.tokenHash),
    index('sso_flows_expires_idx').on(t.expiresAt),
  ],
);

// Logout tokens already taken (ADR 039): a token's `jti`, kept only as long as its `iat` would let
// it in again, so that a replayed token is refused instead of ending sessions opened since.
export const ssoLogoutTokens = consoleSchema.table(
  'sso_logout_tokens',
  {
    issuer: text('issuer').notNull(),
    jti: text('jti').notNull(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.issuer, t.jti], name: 'sso_logout_tokens_pkey' }),
    index('sso_logout_tokens_expires_idx').on(t.expiresAt),
  ],
);

// WebAuthn challenges (ADR 038): issued for an enrolment, a sign-in's second step (bound to its
// pending sign-in) or a step-up (bound to the session); 5 minutes, deleted when used.
export const webauthnChallenges = consoleSchema.table(
  'webauthn_challenges',
  {
    id: uuid('id').primaryKey(),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    purpose: text('purpose', { enum: ['enrol', 'sign_in', 'step_up'] }).notNull(),
    challenge: text('challenge').notNull(),
    pendingSignInId: uuid('pending_sign_in_id').references(() => pendingSignIns.id, {
      onDelete: 'cascade',
    }),
    sessionId: uuid('session_id').references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt: tstz('created_at').notNull(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [
    index('webauthn_challenges_staff_idx').on(t.staffId),
    index('webauthn_challenges_pending_idx').on(t.pendingSignInId),
    index('webauthn_challenges_session_idx').on(t.sessionId),
    check(
      'webauthn_challenges_purpose_check',
      sql`${t.purpose} in ('enrol', 'sign_in', 'step_up')`,
    ),
    check(
      'webauthn_challenges_binding_check',
      sql`(${t.purpose} = 'sign_in' and ${t.pendingSignInId} is not null and ${t.sessionId} is null) or (${t.purpose} <> 'sign_in' and ${t.sessionId} is not null and ${t.pendingSignInId} is null)`,
    ),
  ],
);

// Roles that need a second person (ADR 021), asked for and waiting for another admin or a
// security reviewer. At most one pending request per account.
export const roleRequests = consoleSchema.table(
  'role_requests',
  {
    id: uuid('id').primaryKey(),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    /** The roles to add (those of them not yet held when it is approved). */
    roles: text('roles').array().notNull(),
    requestedBy: uuid('requested_by')
      .notNull()
      .references(() => staff.id),
    requestedAt: tstz('requested_at').notNull(),
    status: text('status').notNull().default('pending'),
    decidedBy: uuid('decided_by').references(() => staff.id),
    decidedAt: tstz('decided_at'),
  },
  (t) => [
    check('role_requests_status_check', inList('status', ROLE_REQUEST_STATUSES)),
    check('role_requests_roles_check', sql`cardinality(roles) between 1 and 16`),
    // Law 5 in the database too: nobody asks for their own roles, and nobody who asked, nor the
    // account's holder, decides.
    check('role_requests_self_check', sql`requested_by <> staff_id`),
    check(
      'role_requests_decider_check',
      sql`status not in ('approved', 'rejected') or (decided_by is not null and decided_by <> requested_by and decided_by <> staff_id)`,
    ),
    uniqueIndex('role_requests_pending_key')
      .on(t.staffId)
      .where(sql`${t.status} = 'pending'`),
    index('role_requests_requested_idx').on(t.requestedAt, t.id),
  ],
);

// One-time links to set a password (ADR 021): the table holds only the SHA-256 of the link's
// random token, as for sessions.
export const passwordLinks = consoleSchema.table(
  'password_links',
  {
    id: uuid('id').primaryKey(),
    tokenHash: bytea('token_hash').notNull(),
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    createdBy: uuid('created_by').references(() => staff.id),
    createdAt: tstz('created_at').notNull(),
    expiresAt: tstz('expires_at').notNull(),
    usedAt: tstz('used_at'),
  },
  (t) => [
    uniqueIndex('password_links_token_hash_key').on(t.tokenHash),
    index('password_links_staff_idx').on(t.staffId),
  ],
);

// Failed sign-in counters, per account (keyed by a hash of the typed email, whether or not such
// an account exists) and per client address.
export const signInThrottle = consoleSchema.table('sign_in_throttle', {
  key: text('key').primaryKey(),
  failures: integer('failures').notNull(),
  firstFailureAt: tstz('first_failure_at').notNull(),
  lastFailureAt: tstz('last_failure_at').notNull(),
  lockedUntil: tstz('locked_until'),
});

export const meta = consoleSchema.table('meta', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: tstz('updated_at').notNull(),
});

// ---------------------------------------------------------------------------------------------
// The audit trail (append-only: see drizzle/0003_audit_roles_and_triggers.sql). Entries are
// queued in audit_intake with the change they record; the sequencer moves them into the log.
// ---------------------------------------------------------------------------------------------
export const auditIntake = consoleSchema.table('audit_intake', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  // Canonical JSON (RFC 8785) of the entry without its position.
  body: bytea('body').notNull(),
  enqueuedAt: tstz('enqueued_at').notNull(),
});

// When each position was first covered by a stored checkpoint, by the database's clock (a trigger on
// audit_checkpoints writes it as custodian_retention): what an entry's age rests on (ADR 033).
export const trailCoverage = consoleSchema.table(
  'trail_coverage',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    treeSize: bigint('tree_size', { mode: 'number' }).notNull(),
    coveredAt: tstz('covered_at').notNull(),
  },
  (t) => [
    index('trail_coverage_at_idx').on(t.coveredAt, t.treeSize),
    check('trail_coverage_tree_size_check', sql`${t.treeSize} >= 0`),
  ],
);

// One row per run of console.purge_audit_contents(): the record an emptied entry is verified by.
export const trailPurges = consoleSchema.table(
  'trail_purges',
  {
    id: bigint('id', { mode: 'number' }).primaryKey(),
    cutoff: tstz('cutoff').notNull(),
    coveredBefore: tstz('covered_before').notNull(),
    fromSeq: bigint('from_seq', { mode: 'number' }).notNull(),
    toSeq: bigint('to_seq', { mode: 'number' }).notNull(),
    emptied: integer('emptied').notNull(),
    purgedAt: tstz('purged_at').notNull(),
  },
  (t) => [
    check('trail_purges_emptied_check', sql`${t.emptied} > 0`),
    check('trail_purges_check', sql`${t.fromSeq} <= ${t.toSeq}`),
  ],
);

// Leaf hashes apart from contents, so a retention policy could drop contents and keep the tree.
export const auditLeaves = consoleSchema.table('audit_leaves', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  leafHash: bytea('leaf_hash').notNull(),
});

export const auditEntries = consoleSchema.table(
  'audit_entries',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    // The leaf: the entry's canonical JSON, position included, whose UTF-8 bytes are hashed. Kept
    // as text (byte-exact for valid UTF-8, which canonical JSON always is) rather than bytea: half
    // the bytes on the wire and no hex step, which is what bounds verification. Never re-derived
    // from jsonb.
    // Null for an invalid entry (drizzle/0016), whose leaf is `raw`.
    body: text('body'),
    // The columns below are derived from `body`, for search; an invalid entry leaves them empty.
    occurredAt: tstz('occurred_at'),
    action: text('action'),
    outcome: text('outcome'),
    actorStaffId: uuid('actor_staff_id'),
    // The staff member an entry is about (a sign-in attempt, a role change), when not the actor.
    subjectStaffId: uuid('subject_staff_id'),
    userId: uuid('user_id'),
    grantId: uuid('grant_id'),
    privacyRequestId: uuid('privacy_request_id'),
    sessionId: uuid('session_id'),
    // An intake row that is not a valid entry of the catalogue: its bytes as committed (the leaf)
    // and why it failed (ADR 018).
    raw: bytea('raw'),
    invalid: text('invalid'),
    // The retention purge run that emptied this entry's contents (drizzle/0028, ADR 033): every
    // other column is then null, and the leaf hash in audit_leaves stays.
    purgedBy: bigint('purged_by', { mode: 'number' }).references(() => trailPurges.id),
  },
  (t) => [
    index('audit_entries_time_idx').on(t.occurredAt, t.seq),
    index('audit_entries_actor_idx').on(t.actorStaffId, t.seq),
    index('audit_entries_subject_idx').on(t.subjectStaffId, t.seq),
    index('audit_entries_user_idx').on(t.userId, t.seq),
    index('audit_entries_action_idx').on(t.action, t.seq),
    index('audit_entries_grant_idx').on(t.grantId, t.seq),
    index('audit_entries_request_idx').on(t.privacyRequestId, t.seq),
    // Refusals and failures are rare and searched for: a partial index keeps them one scan away.
    index('audit_entries_not_allowed_idx')
      .on(t.outcome, t.seq)
      .where(sql`${t.outcome} <> 'allowed'`),
    index('audit_entries_invalid_idx')
      .on(t.seq)
      .where(sql`${t.invalid} is not null`),
    // The trail's text search (issue 13, ADR 031): trigrams of the action and the details, so a
    // rare word is found without walking the whole log. The same expression as TRAIL_SEARCH_TEXT in
    // app/modules/audit/trail.server.ts; pg_trgm is created by drizzle/0026.
    index('audit_entries_search_idx').using(
      'gin',
      sql`(coalesce(${t.action}, '') || ' ' || coalesce(((${t.body})::jsonb -> 'details')::text, '')) gin_trgm_ops`,
    ),
    index('audit_entries_purged_idx')
      .on(t.seq)
      .where(sql`${t.purgedBy} is not null`),
    check(
      'audit_entries_valid_or_raw',
      sql`(${t.purgedBy} is null and ${t.invalid} is null and ${t.raw} is null and ${t.body} is not null and ${t.occurredAt} is not null and ${t.action} is not null and ${t.outcome} is not null) or (${t.purgedBy} is null and ${t.invalid} is not null and ${t.raw} is not null and ${t.body} is null and ${t.occurredAt} is null and ${t.action} is null and ${t.outcome} is null and ${t.actorStaffId} is null and ${t.subjectStaffId} is null and ${t.userId} is null and ${t.grantId} is null and ${t.privacyRequestId} is null and ${t.sessionId} is null) or (${t.purgedBy} is not null and ${t.invalid} is null and ${t.raw} is null and ${t.body} is null and ${t.occurredAt} is null and ${t.action} is null and ${t.outcome} is null and ${t.actorStaffId} is null and ${t.subjectStaffId} is null and ${t.userId} is null and ${t.grantId} is null and ${t.privacyRequestId} is null and ${t.sessionId} is null)`,
    ),
  ],
);

// Hashes of the perfect subtrees of level ≥ 1 (level 0 is audit_leaves): proofs in O(log n) reads.
export const auditNodes = consoleSchema.table(
  'audit_nodes',
  {
    level: smallint('level').notNull(),
    idx: bigint('idx', { mode: 'number' }).notNull(),
    hash: bytea('hash').notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.idx] })],
);

// One row per sequencer batch: the tree's size, root and right edge after it.
export const auditTreeHeads = consoleSchema.table('audit_tree_heads', {
  treeSize: bigint('tree_size', { mode: 'number' }).primaryKey(),
  root: bytea('root').notNull(),
  frontier: jsonb('frontier').notNull(),
  createdAt: tstz('created_at').notNull(),
});

export const auditCheckpoints = consoleSchema.table(
  'audit_checkpoints',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    treeSize: bigint('tree_size', { mode: 'number' }).notNull(),
    root: bytea('root').notNull(),
    note: text('note').notNull(),
    keyName: text('key_name').notNull(),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [index('audit_checkpoints_size_idx').on(t.treeSize, t.id)],
);

// Verification runs (progress updates in place, so not an audit_* table; each run's start and
// result are also audit entries).
export const verificationRuns = consoleSchema.table('verification_runs', {
  id: uuid('id').primaryKey(),
  staffId: uuid('staff_id'),
  startedAt: tstz('started_at').notNull(),
  finishedAt: tstz('finished_at'),
  total: bigint('total', { mode: 'number' }).notNull().default(0),
  done: bigint('done', { mode: 'number' }).notNull().default(0),
  ok: boolean('ok'),
  firstBadSeq: bigint('first_bad_seq', { mode: 'number' }),
  result: jsonb('result'),
});

// ---------------------------------------------------------------------------------------------
// users: the per-staff daily lookup limit (app/modules/users/lookup.server.ts). A lookup counts
// once per distinct user per UTC day; one that finds nobody counts under the value searched (the
// blind index of an email, or the id), so probing for which emails exist is limited too.
// ---------------------------------------------------------------------------------------------
export const userLookupDays = consoleSchema.table(
  'user_lookup_days',
  {
    staffId: uuid('staff_id')
      .notNull()
      .references(() => staff.id),
    day: date('day', { mode: 'string' }).notNull(),
    distinctTargets: integer('distinct_targets').notNull(),
    refused: integer('refused').notNull().default(0),
    firstRefusedAt: tstz('first_refused_at'),
  },
  (t) => [
    primaryKey({ columns: [t.staffId, t.day] }),
    // The security review lists the days on which someone hit the limit.
    index('user_lookup_days_refused_idx')
      .on(t.day)
      .where(sql`${t.refused} > 0`),
  ],
);

export const userLookupTargets = consoleSchema.table(
  'user_lookup_targets',
  {
    staffId: uuid('staff_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    // "u:<user id>" when found; "e:<hex blind index>" or "i:<id>" when nobody was.
    target: text('target').notNull(),
    firstAt: tstz('first_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.staffId, t.day, t.target] })],
);

// ---------------------------------------------------------------------------------------------
// Just-in-time access grants (app/modules/access; docs/decisions/011-jit-grants.md). Grants name
// the end user by id without a foreign key: the product tables may live in another database, and
// an erasure must not be blocked by the record of who was allowed to look.
// ---------------------------------------------------------------------------------------------
const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

export const grantPolicies = consoleSchema.table(
  'grant_policies',
  {
    category: text('category').primaryKey(),
    maxDurationMinutes: integer('max_duration_minutes').notNull().default(60),
    approvalsNeeded: smallint('approvals_needed').notNull().default(1),
    approverPermission: text('approver_permission')
      .notNull()
      .references(() => permissions.code),
    updatedAt: tstz('updated_at').notNull(),
    updatedBy: uuid('updated_by').references(() => staff.id),
  },
  () => [
    check('grant_policies_category_check', inList('category', DATA_CATEGORIES)),
    check(
      'grant_policies_max_duration_check',
      sql.raw(
        `max_duration_minutes between ${GRANT_LIMITS.minDurationMinutes} and ${GRANT_LIMITS.maxDurationCapMinutes}`,
      ),
    ),
    check(
      'grant_policies_approvals_check',
      sql.raw(`approvals_needed between 1 and ${GRANT_LIMITS.maxApprovals}`),
    ),
    check(
      'grant_policies_approver_permission_check',
      inList('approver_permission', APPROVER_PERMISSIONS),
    ),
  ],
);

export const grants = consoleSchema.table(
  'grants',
  {
    id: uuid('id').primaryKey(),
    requesterId: uuid('requester_id')
      .notNull()
      .references(() => staff.id),
    userId: uuid('user_id').notNull(),
    categories: text('categories').array().notNull(),
    reasonCode: text('reason_code').notNull(),
    // Card numbers are redacted before these reach the database (app/modules/access/redact.ts).
    justification: text('justification').notNull(),
    ticketRef: text('ticket_ref'),
    durationMinutes: integer('duration_minutes').notNull(),
    requestedStartAt: tstz('requested_start_at'),
    // The strictest policy of the categories when requested; a policy tightened later also binds.
    approvalsNeeded: smallint('approvals_needed').notNull(),
    approverPermissions: text('approver_permissions').array().notNull(),
    status: text('status').notNull().default('pending'),
    createdAt: tstz('created_at').notNull(),
    requestExpiresAt: tstz('request_expires_at').notNull(),
    decidedAt: tstz('decided_at'),
    startsAt: tstz('starts_at'),
    endsAt: tstz('ends_at'),
    revokedAt: tstz('revoked_at'),
    revokedBy: uuid('revoked_by').references(() => staff.id),
    revokeBasis: text('revoke_basis'),
    closedAt: tstz('closed_at'),
    breakGlass: boolean('break_glass').notNull().default(false),
    reviewedAt: tstz('reviewed_at'),
    reviewedBy: uuid('reviewed_by').references(() => staff.id),
    reviewComment: text('review_comment'),
    // The privacy request this grant serves (a rectification's review, ADR 027): it is approved
    // by a privacy approver, opens the profile only, and is revoked when the request closes.
    privacyRequestId: uuid('privacy_request_id').references(() => privacyRequests.id),
    // When retention emptied the free texts of this closed grant (drizzle/0029): the row stays.
    textsPurgedAt: tstz('texts_purged_at'),
    // The inquiry this grant serves (ADR 034): its assignment's grant of the thread (category
    // inquiries alone, no approver), or a support_inquiry request naming it. Revoked when the
    // inquiry closes or goes to someone else.
    inquiryId: uuid('inquiry_id').references((): AnyPgColumn => inquiries.id),
  },
  (t) => [
    check('grants_status_check', inList('status', GRANT_STATUSES)),
    check(
      'grants_privacy_request_check',
      sql`privacy_request_id is null or (reason_code = 'privacy_request' and inquiry_id is null and not break_glass)`,
    ),
    check(
      'grants_inquiry_check',
      sql`inquiry_id is null or (reason_code = 'support_inquiry' and not break_glass and (categories = array['inquiries']::text[] or not ('inquiries' = any(categories))))`,
    ),
    check(
      'grants_inquiries_bound_check',
      sql`not ('inquiries' = any(categories)) or inquiry_id is not null or break_glass`,
    ),
    check('grants_reason_code_check', inList('reason_code', REASON_CODES)),
    check(
      'grants_categories_check',
      sql.raw(
        `cardinality(categories) between 1 and ${DATA_CATEGORIES.length} and categories <@ array[${quoted(DATA_CATEGORIES)}]::text[]`,
      ),
    ),
    check(
      'grants_duration_check',
      sql.raw(`duration_minutes between 1 and ${GRANT_LIMITS.maxDurationCapMinutes}`),
    ),
    check(
      'grants_approvals_check',
      sql.raw(`approvals_needed between 0 and ${GRANT_LIMITS.maxApprovals}`),
    ),
    check(
      'grants_live_window_check',
      sql`(starts_at is null and ends_at is null) or (starts_at is not null and ends_at > starts_at)`,
    ),
    check(
      'grants_approved_check',
      sql`status not in ('approved', 'revoked') or (starts_at is not null and decided_at is not null)`,
    ),
    check(
      'grants_revoked_check',
      sql.raw(
        `(status = 'revoked') = (revoked_at is not null) and (revoke_basis is null or revoke_basis in (${quoted(REVOKE_BASES)}))`,
      ),
    ),
    check(
      'grants_break_glass_check',
      sql.raw(
        `not break_glass or (approvals_needed = 0 and ends_at <= starts_at + interval '${GRANT_LIMITS.breakGlassMaxMinutes} minutes')`,
      ),
    ),
    // Four eyes, in the database too: nobody reviews their own break-glass use.
    check('grants_review_check', sql`reviewed_by is null or reviewed_by <> requester_id`),
    check(
      'grants_text_length_check',
      sql.raw(
        `char_length(justification) <= ${GRANT_LIMITS.justificationMaxLength} and char_length(coalesce(ticket_ref, '')) <= ${GRANT_LIMITS.ticketMaxLength} and char_length(coalesce(review_comment, '')) <= ${GRANT_LIMITS.commentMaxLength}`,
      ),
    ),
    // The live-grant check, made at every request: a handful of approved rows per staff and user.
    index('grants_live_idx')
      .on(t.requesterId, t.userId)
      .where(sql`${t.status} = 'approved'`),
    index('grants_requester_idx').on(t.requesterId, t.createdAt, t.id),
    index('grants_user_idx').on(t.userId, t.createdAt, t.id),
    index('grants_created_idx').on(t.createdAt, t.id),
    index('grants_privacy_request_idx')
      .on(t.privacyRequestId)
      .where(sql`${t.privacyRequestId} is not null`),
    index('grants_inquiry_idx')
      .on(t.inquiryId)
      .where(sql`${t.inquiryId} is not null`),
    index('grants_pending_idx')
      .on(t.requestExpiresAt)
      .where(sql`${t.status} = 'pending'`),
    index('grants_approved_end_idx')
      .on(t.endsAt, t.id)
      .where(sql`${t.status} = 'approved'`),
    // At most one break-glass use awaiting review per person, whatever races the code loses.
    uniqueIndex('grants_unreviewed_break_glass_key')
      .on(t.requesterId)
      .where(sql`${t.breakGlass} and ${t.reviewedAt} is null`),
  ],
);

export const grantDecisions = consoleSchema.table(
  'grant_decisions',
  {
    grantId: uuid('grant_id')
      .notNull()
      .references(() => grants.id),
    approverId: uuid('approver_id')
      .notNull()
      .references(() => staff.id),
    decision: text('decision').notNull(),
    // Null for an approval given without one; a denial always has one (issue 13).
    comment: text('comment'),
    decidedAt: tstz('decided_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.grantId, t.approverId] }),
    check('grant_decisions_decision_check', inList('decision', DECISIONS)),
    check(
      'grant_decisions_comment_check',
      sql.raw(
        `(comment is null and decision = 'approve') or char_length(comment) between 1 and ${GRANT_LIMITS.commentMaxLength}`,
      ),
    ),
    index('grant_decisions_approver_idx').on(t.approverId, t.decidedAt),
  ],
);

// In-console notifications, kept as an outbox: `delivered_at` is for a mailer added later.
export const notifications = consoleSchema.table(
  'notifications',
  {
    id: uuid('id').primaryKey(),
    recipientId: uuid('recipient_id')
      .notNull()
      .references(() => staff.id),
    kind: text('kind').notNull(),
    grantId: uuid('grant_id').references(() => grants.id),
    // Whom an alert is about (the staff member over their lookup limit), when not a grant.
    subjectStaffId: uuid('subject_staff_id').references(() => staff.id),
    // The audit entry an alert is about (an invalid entry, drizzle/0016).
    auditSeq: bigint('audit_seq', { mode: 'number' }),
    createdAt: tstz('created_at').notNull(),
    readAt: tstz('read_at'),
    deliveredAt: tstz('delivered_at'),
  },
  (t) => [
    check('notifications_kind_check', inList('kind', NOTIFICATION_KINDS)),
    index('notifications_recipient_idx').on(t.recipientId, t.createdAt, t.id),
    index('notifications_unread_idx')
      .on(t.recipientId)
      .where(sql`${t.readAt} is null`),
    index('notifications_undelivered_idx')
      .on(t.createdAt)
      .where(sql`${t.deliveredAt} is null`),
  ],
);

// ---------------------------------------------------------------------------------------------
// Analytics (app/modules/analytics; docs/decisions/012-analytics-releases.md). Contributions are
// per user and UTC day, bounded, and never leave the build job; releases hold figures with their
// noise already added, drawn once; the pages read releases only. The privacy budget is spent per
// dataset and month of the data, with a ledger of every spend and refusal. Releases, cells and the
// ledger are append-only for the app's role (drizzle/0011), and a trigger refuses a cell whose
// noisy distinct-user count is below its release's k.
// ---------------------------------------------------------------------------------------------
export const analyticsContributions = consoleSchema.table(
  'analytics_contributions',
  {
    day: date('day', { mode: 'string' }).notNull(),
    userId: uuid('user_id').notNull(),
    plan: planEnum('plan').notNull(),
    // The user's most frequent country in the day's events (a code, not necessarily on the list).
    country: text('country').notNull(),
    messages: integer('messages').notNull(),
    conversations: integer('conversations').notNull(),
    tokens: integer('tokens').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.day, t.userId] }),
    // Objections and erasures remove a user's rows from every day.
    index('analytics_contributions_user_idx').on(t.userId),
    check(
      'analytics_contributions_bounds_check',
      sql`messages >= 0 and conversations >= 0 and tokens >= 0`,
    ),
  ],
);

// Who has contribution rows, and their latest day: objections and erasures are found by joining
// this (one row per user) instead of scanning every day's rows.
export const analyticsContributors = consoleSchema.table('analytics_contributors', {
  userId: uuid('user_id').primaryKey(),
  lastDay: date('last_day', { mode: 'string' }).notNull(),
});

export const analyticsContributionModels = consoleSchema.table(
  'analytics_contribution_models',
  {
    day: date('day', { mode: 'string' }).notNull(),
    userId: uuid('user_id').notNull(),
    model: modelEnum('model').notNull(),
    conversations: integer('conversations').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.day, t.userId, t.model] }),
    index('analytics_contribution_models_user_idx').on(t.userId),
    check('analytics_contribution_models_positive_check', sql`conversations > 0`),
  ],
);

export const analyticsReleases = consoleSchema.table(
  'analytics_releases',
  {
    id: uuid('id').primaryKey(),
    kind: text('kind').notNull(),
    dataset: text('dataset').notNull(),
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    periodEnd: date('period_end', { mode: 'string' }).notNull(),
    epsilonMicros: bigint('epsilon_micros', { mode: 'number' }).notNull(),
    minCohort: integer('min_cohort').notNull(),
    // Public parameters: ε per figure, sensitivities, bounds, δ, thresholds.
    params: jsonb('params').notNull(),
    releasedAt: tstz('released_at').notNull(),
  },
  (t) => [
    uniqueIndex('analytics_releases_period_key').on(t.kind, t.periodStart),
    check('analytics_releases_kind_check', inList('kind', RELEASE_KINDS)),
    check('analytics_releases_dataset_check', inList('dataset', DATASETS)),
    check('analytics_releases_period_check', sql`period_end > period_start`),
    check('analytics_releases_epsilon_check', sql`epsilon_micros > 0 and min_cohort >= 1`),
  ],
);

export const analyticsCells = consoleSchema.table(
  'analytics_cells',
  {
    releaseId: uuid('release_id')
      .notNull()
      .references(() => analyticsReleases.id),
    metric: text('metric').notNull(),
    category: text('category').notNull().default(''),
    // The released (noisy) figure and the half-width of its 95% interval.
    value: bigint('value', { mode: 'number' }).notNull(),
    halfWidth: integer('half_width').notNull(),
    lowPrecision: boolean('low_precision').notNull(),
    // The noisy distinct-user count that let the cell through (law 6: at least the release's k).
    cohort: bigint('cohort', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.releaseId, t.metric, t.category] }),
    check('analytics_cells_half_width_check', sql`half_width >= 0`),
  ],
);

export const analyticsBudgets = consoleSchema.table(
  'analytics_budgets',
  {
    dataset: text('dataset').notNull(),
    month: text('month').notNull(),
    budgetMicros: bigint('budget_micros', { mode: 'number' }).notNull(),
    spentMicros: bigint('spent_micros', { mode: 'number' }).notNull().default(0),
    updatedAt: tstz('updated_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.dataset, t.month] }),
    check('analytics_budgets_dataset_check', inList('dataset', DATASETS)),
    check('analytics_budgets_month_check', sql`month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'`),
    check('analytics_budgets_amounts_check', sql`budget_micros >= 0 and spent_micros >= 0`),
  ],
);

export const analyticsLedger = consoleSchema.table(
  'analytics_ledger',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    dataset: text('dataset').notNull(),
    month: text('month').notNull(),
    kind: text('kind').notNull(),
    periodStart: date('period_start', { mode: 'string' }).notNull(),
    releaseId: uuid('release_id').references(() => analyticsReleases.id),
    epsilonMicros: bigint('epsilon_micros', { mode: 'number' }).notNull(),
    outcome: text('outcome').notNull(),
    spentBeforeMicros: bigint('spent_before_micros', { mode: 'number' }).notNull(),
    budgetMicros: bigint('budget_micros', { mode: 'number' }).notNull(),
    at: tstz('at').notNull(),
  },
  (t) => [
    index('analytics_ledger_month_idx').on(t.dataset, t.month, t.id),
    index('analytics_ledger_period_idx').on(t.kind, t.periodStart, t.id),
    check('analytics_ledger_outcome_check', sql`outcome in ('spent', 'refused')`),
    check('analytics_ledger_release_check', sql`(outcome = 'spent') = (release_id is not null)`),
  ],
);

// ---------------------------------------------------------------------------------------------
// Privacy requests (app/modules/privacy, ADR 022). The user id is kept after an erasure: it is a
// pseudonym whose data is gone, and the request is the record the law asks for.
// ---------------------------------------------------------------------------------------------
export const privacyRequests = consoleSchema.table(
  'privacy_requests',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    type: text('type').notNull(),
    state: text('state').notNull(),
    source: text('source').notNull(),
    channel: text('channel'),
    createdBy: uuid('created_by').references(() => staff.id),
    verified: boolean('verified').notNull(),
    verifiedAt: tstz('verified_at'),
    verificationMethod: text('verification_method'),
    // What the user asked (rectification's new values, objection's grounds): personal data,
    // AES-256-GCM under the user's data key, so erasing the key erases it.
    detailsEnc: bytea('details_enc'),
    // Restriction and objection purposes: codes, not personal data.
    purposes: text('purposes')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    regime: text('regime').notNull(),
    country: text('country'),
    receivedAt: tstz('received_at').notNull(),
    dueDay: date('due_day', { mode: 'string' }).notNull(),
    extendedDueDay: date('extended_due_day', { mode: 'string' }),
    extensionReason: text('extension_reason'),
    acknowledgeBy: date('acknowledge_by', { mode: 'string' }),
    /** When the user was first told the request was received (its first message sent, ADR 024). */
    acknowledgedAt: tstz('acknowledged_at'),
    pausedDays: integer('paused_days').notNull().default(0),
    pausedSince: tstz('paused_since'),
    heldFrom: text('held_from'),
    holdReason: text('hold_reason'),
    proposal: text('proposal'),
    proposedBy: uuid('proposed_by').references(() => staff.id),
    assigneeId: uuid('assignee_id').references(() => staff.id),
    completedAt: tstz('completed_at'),
    closedAt: tstz('closed_at'),
    progressStep: text('progress_step'),
    progressDone: bigint('progress_done', { mode: 'number' }).notNull().default(0),
    progressTotal: bigint('progress_total', { mode: 'number' }).notNull().default(0),
    /** Until when a worker holds the request's job (work.server.ts); a crashed worker's lapses. */
    workLeaseUntil: tstz('work_lease_until'),
    createdAt: tstz('created_at').notNull(),
    updatedAt: tstz('updated_at').notNull(),
  },
  (t) => [
    check('privacy_requests_type_check', inList('type', REQUEST_TYPES)),
    check('privacy_requests_state_check', inList('state', REQUEST_STATES)),
    check('privacy_requests_source_check', inList('source', REQUEST_SOURCES)),
    check('privacy_requests_regime_check', inList('regime', REGIMES)),
    check(
      'privacy_requests_channel_check',
      sql.raw(`channel is null or channel in (${quoted(CHANNELS)})`),
    ),
    check(
      'privacy_requests_hold_check',
      sql.raw(
        `(state = 'on_hold') = (held_from is not null and hold_reason is not null) and (hold_reason is null or hold_reason in (${quoted(HOLD_REASONS)}))`,
      ),
    ),
    check(
      'privacy_requests_proposal_check',
      sql.raw(
        `(proposal is null) = (proposed_by is null) and (proposal is null or proposal in (${quoted(PROPOSALS)}))`,
      ),
    ),
    check(
      'privacy_requests_purposes_check',
      sql.raw(`purposes <@ array[${quoted(PURPOSES)}]::text[]`),
    ),
    check('privacy_requests_verified_check', sql`not verified or verified_at is not null`),
    check(
      'privacy_requests_progress_check',
      sql`progress_done >= 0 and progress_total >= 0 and paused_days >= 0`,
    ),
    // The queue: open requests by deadline; closed ones by when they closed.
    index('privacy_requests_due_idx').on(t.dueDay, t.id),
    index('privacy_requests_state_due_idx').on(t.state, t.dueDay, t.id),
    index('privacy_requests_assignee_idx').on(t.assigneeId, t.dueDay, t.id),
    index('privacy_requests_user_idx').on(t.userId, t.type, t.createdAt),
    // The queue shows open requests, a small share of the history at scale: these cover its
    // default view, "assigned to me" and the duplicate check without reading the closed ones.
    index('privacy_requests_open_due_idx')
      .on(t.dueDay, t.id)
      .where(sql`state not in ('completed', 'denied', 'canceled')`),
    index('privacy_requests_open_assignee_idx')
      .on(t.assigneeId, t.dueDay, t.id)
      .where(sql`state not in ('completed', 'denied', 'canceled')`),
    index('privacy_requests_open_user_idx')
      .on(t.userId, t.type, t.createdAt, t.id)
      .where(sql`state not in ('completed', 'denied', 'canceled')`),
  ],
);

// Each request's timeline: every move, with who and why. The audit trail holds the same moves;
// this is what the request page reads.
export const privacyRequestEvents = consoleSchema.table(
  'privacy_request_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    requestId: uuid('request_id')
      .notNull()
      .references(() => privacyRequests.id),
    at: tstz('at').notNull(),
    actorStaffId: uuid('actor_staff_id').references(() => staff.id),
    // Who acted when no staff member did: a service token's name, a job, the command line.
    actorLabel: text('actor_label').notNull(),
    kind: text('kind').notNull(),
    fromState: text('from_state'),
    toState: text('to_state'),
    note: text('note'),
  },
  (t) => [
    index('privacy_request_events_request_idx').on(t.requestId, t.id),
    check('privacy_request_events_note_check', sql`char_length(coalesce(note, '')) <= 2000`),
  ],
);

// ---------------------------------------------------------------------------------------------
// The service API (app/modules/api, ADR 023): the product's tokens and the answers it may replay.
// ---------------------------------------------------------------------------------------------

// A token is kept after it is revoked, and never deleted: its name is the actor of its calls in
// the audit trail, so a name names one token for good.
export const serviceTokens = consoleSchema.table(
  'service_tokens',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    /** SHA-256 of the token (32 random bytes): a copy of the table calls nothing. */
    tokenHash: bytea('token_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    createdAt: tstz('created_at').notNull(),
    revokedAt: tstz('revoked_at'),
    lastUsedAt: tstz('last_used_at'),
  },
  (t) => [
    uniqueIndex('service_tokens_name_key').on(t.name),
    uniqueIndex('service_tokens_token_hash_key').on(t.tokenHash),
    check('service_tokens_name_check', sql`name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'`),
    check(
      'service_tokens_scopes_check',
      sql.raw(
        `cardinality(scopes) > 0 and scopes <@ array[${SCOPES.map((s) => `'${s}'`).join(', ')}]::text[]`,
      ),
    ),
    check('service_tokens_hash_check', sql`octet_length(token_hash) = 32`),
  ],
);

// The first answer to each Idempotency-Key of a token, replayed when the same call comes again.
// It holds a hash of the call (method, path and canonical body), never the body: the body may
// carry personal data (a rectification's new values); the answer does not.
export const apiIdempotency = consoleSchema.table(
  'api_idempotency',
  {
    tokenId: uuid('token_id')
      .notNull()
      .references(() => serviceTokens.id),
    key: text('key').notNull(),
    requestHash: bytea('request_hash').notNull(),
    status: smallint('status').notNull(),
    response: text('response').notNull(),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tokenId, t.key] }),
    check('api_idempotency_hash_check', sql`octet_length(request_hash) = 32`),
  ],
);

// The end-user outbox (app/modules/privacy/outbox.server.ts, ADR 024): messages to a request's
// user. The subject and body are AES-256-GCM under the user's data key, so erasing the key erases
// them; the address is read from the user's profile when the message is sent, never stored here.
// `last_error` holds an error code only (no '@', so never an address).
export const userOutbox = consoleSchema.table(
  'user_outbox',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    // A message is about a privacy request or an inquiry (a reply on its thread), never both.
    requestId: uuid('request_id').references(() => privacyRequests.id),
    inquiryId: uuid('inquiry_id').references((): AnyPgColumn => inquiries.id),
    template: text('template').notNull(),
    contentEnc: bytea('content_enc').notNull(),
    state: text('state').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: tstz('next_attempt_at').notNull(),
    createdAt: tstz('created_at').notNull(),
    sentAt: tstz('sent_at'),
    lastError: text('last_error'),
  },
  (t) => [
    check('user_outbox_template_check', inList('template', USER_MESSAGES)),
    check('user_outbox_state_check', inList('state', OUTBOX_STATES)),
    check('user_outbox_sent_check', sql`(state = 'sent') = (sent_at is not null)`),
    check('user_outbox_attempts_check', sql`attempts >= 0`),
    check('user_outbox_purpose_check', sql`(request_id is null) <> (inquiry_id is null)`),
    check(
      'user_outbox_last_error_check',
      sql.raw(`last_error is null or last_error ~ '^[A-Za-z0-9_ .:-]{1,120}$'`),
    ),
    index('user_outbox_due_idx')
      .on(t.nextAttemptAt, t.id)
      .where(sql`${t.state} = 'queued'`),
    index('user_outbox_request_idx').on(t.requestId, t.createdAt),
    index('user_outbox_user_idx').on(t.userId),
    index('user_outbox_inquiry_idx')
      .on(t.inquiryId, t.createdAt)
      .where(sql`${t.inquiryId} is not null`),
  ],
);

// ---------------------------------------------------------------------------------------------
// Support inquiries (app/modules/inquiries, ADR 034). The subject and every message are sealed
// under the user's data key, so erasing the key erases them.
// ---------------------------------------------------------------------------------------------
export const inquiries = consoleSchema.table(
  'inquiries',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    category: text('category').notNull(),
    state: text('state').notNull(),
    source: text('source').notNull(),
    subjectEnc: bytea('subject_enc').notNull(),
    createdBy: uuid('created_by').references(() => staff.id),
    assigneeId: uuid('assignee_id').references(() => staff.id),
    receivedAt: tstz('received_at').notNull(),
    firstResponseDueAt: tstz('first_response_due_at').notNull(),
    resolutionDueAt: tstz('resolution_due_at').notNull(),
    firstResponseAt: tstz('first_response_at'),
    closedAt: tstz('closed_at'),
    // The privacy request a privacy inquiry turned into (the request finds it back here).
    privacyRequestId: uuid('privacy_request_id').references(() => privacyRequests.id),
    createdAt: tstz('created_at').notNull(),
    updatedAt: tstz('updated_at').notNull(),
  },
  (t) => [
    check('inquiries_category_check', inList('category', INQUIRY_CATEGORIES)),
    check('inquiries_state_check', inList('state', INQUIRY_STATES)),
    check('inquiries_source_check', inList('source', INQUIRY_SOURCES)),
    check('inquiries_closed_check', sql`(state = 'closed') = (closed_at is not null)`),
    check('inquiries_assignee_check', sql`state in ('new', 'closed') or assignee_id is not null`),
    check('inquiries_new_check', sql`state <> 'new' or assignee_id is null`),
    check(
      'inquiries_privacy_request_check',
      sql`privacy_request_id is null or category = 'privacy'`,
    ),
    uniqueIndex('inquiries_privacy_request_key')
      .on(t.privacyRequestId)
      .where(sql`${t.privacyRequestId} is not null`),
    index('inquiries_open_received_idx')
      .on(t.receivedAt, t.id)
      .where(sql`${t.state} <> 'closed'`),
    index('inquiries_received_idx').on(t.receivedAt, t.id),
    index('inquiries_assignee_idx').on(t.assigneeId, t.receivedAt, t.id),
    index('inquiries_user_idx').on(t.userId, t.receivedAt),
  ],
);

export const inquiryMessages = consoleSchema.table(
  'inquiry_messages',
  {
    id: uuid('id').primaryKey(),
    inquiryId: uuid('inquiry_id')
      .notNull()
      .references(() => inquiries.id),
    userId: uuid('user_id').notNull(),
    author: text('author').notNull(),
    staffId: uuid('staff_id').references(() => staff.id),
    bodyEnc: bytea('body_enc').notNull(),
    createdAt: tstz('created_at').notNull(),
  },
  (t) => [
    check('inquiry_messages_author_check', inList('author', MESSAGE_AUTHORS)),
    check('inquiry_messages_staff_check', sql`(author = 'staff') = (staff_id is not null)`),
    index('inquiry_messages_inquiry_idx').on(t.inquiryId, t.createdAt, t.id),
    index('inquiry_messages_user_idx').on(t.userId),
  ],
);

// Access and portability packages (app/modules/privacy/package.server.ts, ADR 025): one ZIP per
// request, stored in chunks sealed under the user's data key (so erasing the key, or the rows,
// erases it), reached by the user through a link whose token is stored hashed. The row outlives
// its chunks: once expired, the chunks are deleted and the link answers 410, not 404.
export const exportPackages = consoleSchema.table(
  'export_packages',
  {
    id: uuid('id').primaryKey(),
    requestId: uuid('request_id')
      .notNull()
      .references(() => privacyRequests.id),
    userId: uuid('user_id').notNull(),
    state: text('state').notNull(),
    // SHA-256 of the link's random token; null while the package is being built.
    tokenHash: bytea('token_hash'),
    fileName: text('file_name').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull().default(0),
    sha256: text('sha256'),
    chunks: integer('chunks').notNull().default(0),
    // File names, sizes, hashes and row counts: no contents.
    manifest: jsonb('manifest'),
    createdAt: tstz('created_at').notNull(),
    readyAt: tstz('ready_at'),
    expiresAt: tstz('expires_at'),
    expiredAt: tstz('expired_at'),
    downloads: integer('downloads').notNull().default(0),
  },
  (t) => [
    check('export_packages_state_check', sql`state in ('building', 'ready', 'expired')`),
    check(
      'export_packages_ready_check',
      sql`(state = 'building') = (token_hash is null) and (state = 'building' or (ready_at is not null and expires_at is not null and sha256 is not null))`,
    ),
    uniqueIndex('export_packages_request_key').on(t.requestId),
    uniqueIndex('export_packages_token_key').on(t.tokenHash),
    index('export_packages_user_idx').on(t.userId),
    index('export_packages_expires_idx')
      .on(t.expiresAt)
      .where(sql`state = 'ready'`),
  ],
);

export const exportChunks = consoleSchema.table(
  'export_chunks',
  {
    packageId: uuid('package_id')
      .notNull()
      .references(() => exportPackages.id, { onDelete: 'cascade' }),
    idx: integer('idx').notNull(),
    // AES-256-GCM under the user's data key, bound to (package, chunk index).
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.packageId, t.idx] })],
);

// ---------------------------------------------------------------------------------------------
// Erasure (app/modules/privacy/erasure.server.ts, ADR 026, docs/erasure.md).
// ---------------------------------------------------------------------------------------------

// Legal holds on a user, set and lifted by a privacy officer with a reason: an active one (not
// lifted) blocks every erasure of the user. At most one active hold per user.
export const legalHolds = consoleSchema.table(
  'legal_holds',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    reason: text('reason').notNull(),
    setBy: uuid('set_by').references(() => staff.id),
    setAt: tstz('set_at').notNull(),
    liftedBy: uuid('lifted_by').references(() => staff.id),
    liftedAt: tstz('lifted_at'),
    liftReason: text('lift_reason'),
  },
  (t) => [
    uniqueIndex('legal_holds_active_key')
      .on(t.userId)
      .where(sql`${t.liftedAt} is null`),
    index('legal_holds_user_idx').on(t.userId, t.setAt),
    check(
      'legal_holds_reason_check',
      sql`char_length(reason) between 1 and 2000 and char_length(coalesce(lift_reason, '')) <= 2000`,
    ),
    check('legal_holds_lifted_check', sql`(lifted_at is null) = (lift_reason is null)`),
  ],
);

// Tombstones of erased users: keyed hashes (HMAC-SHA-256 under the index key) of the user id and
// of the email's blind index, so the account is not restored or re-seeded by mistake, without
// keeping the email. Append-only for the app's role (drizzle/0023).
export const erasureTombstones = consoleSchema.table(
  'erasure_tombstones',
  {
    idHash: bytea('id_hash').primaryKey(),
    emailHash: bytea('email_hash'),
    indexKeyId: text('index_key_id').notNull(),
    requestId: uuid('request_id')
      .notNull()
      .references(() => privacyRequests.id),
    erasedAt: tstz('erased_at').notNull(),
  },
  (t) => [index('erasure_tombstones_email_idx').on(t.emailHash)],
);

// One erasure run per request: what it found when it started (the wrapped key's version, the
// email's blind index for the final check — cleared when the run completes), and when the key
// was destroyed.
export const erasureRuns = consoleSchema.table('erasure_runs', {
  requestId: uuid('request_id')
    .primaryKey()
    .references(() => privacyRequests.id),
  userId: uuid('user_id').notNull(),
  startedAt: tstz('started_at').notNull(),
  keyVersion: smallint('key_version'),
  masterKeyId: text('master_key_id'),
  keyDestroyedAt: tstz('key_destroyed_at'),
  emailIndex: bytea('email_index'),
  finishedAt: tstz('finished_at'),
});

// Rows found and removed per product table, counted in the transaction of each batch, so a run
// resumed after a crash neither counts a row twice nor misses one.
export const erasureTallies = consoleSchema.table(
  'erasure_tallies',
  {
    requestId: uuid('request_id')
      .notNull()
      .references(() => privacyRequests.id),
    tableName: text('table_name').notNull(),
    rowsBefore: bigint('rows_before', { mode: 'number' }).notNull(),
    rowsRemoved: bigint('rows_removed', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.requestId, t.tableName] }),
    check('erasure_tallies_counts_check', sql`rows_before >= 0 and rows_removed >= 0`),
  ],
);

// What the law makes us keep of an erased user: payment references for tax, without their card
// fields, until the end of the retention period, with the rule that keeps them.
export const erasureRetainedPayments = consoleSchema.table(
  'erasure_retained_payments',
  {
    id: uuid('id').primaryKey(),
    requestId: uuid('request_id')
      .notNull()
      .references(() => privacyRequests.id),
    provider: text('provider').notNull(),
    customerToken: text('customer_token').notNull(),
    createdAt: tstz('created_at').notNull(),
    retainedUntil: date('retained_until', { mode: 'string' }).notNull(),
    reason: text('reason').notNull(),
  },
  (t) => [
    index('erasure_retained_payments_request_idx').on(t.requestId),
    index('erasure_retained_payments_until_idx').on(t.retainedUntil),
  ],
);

// The signed erasure certificate of each completed erasure (a C2SP signed note under the audit
// log's key); its SHA-256 is in the audit trail. Append-only for the app's role.
export const erasureCertificates = consoleSchema.table('erasure_certificates', {
  requestId: uuid('request_id')
    .primaryKey()
    .references(() => privacyRequests.id),
  note: text('note').notNull(),
  sha256: bytea('sha256').notNull(),
  issuedAt: tstz('issued_at').notNull(),
});

// ---------------------------------------------------------------------------------------------
// Retention (app/modules/retention, ADR 032): one policy per category, seeded by drizzle/0029 and
// never deleted; the history of their changes (append-only for the app's role); the purge runs
// with their progress per category, so a crashed run resumes where its last batch committed.
// ---------------------------------------------------------------------------------------------
export const retentionPolicies = consoleSchema.table(
  'retention_policies',
  {
    category: text('category').primaryKey(),
    periodDays: integer('period_days').notNull(),
    reason: text('reason').notNull(),
    legalBasis: text('legal_basis').notNull(),
    suspendedByHold: boolean('suspended_by_hold').notNull(),
    suspendedByOpenRequest: boolean('suspended_by_open_request').notNull(),
    updatedAt: tstz('updated_at').notNull(),
    updatedBy: uuid('updated_by').references(() => staff.id),
  },
  () => [
    check('retention_policies_category_check', inList('category', RETENTION_CATEGORIES)),
    check(
      'retention_policies_period_check',
      sql.raw(`period_days between ${RETENTION_LIMITS.minDays} and ${RETENTION_LIMITS.maxDays}`),
    ),
    check(
      'retention_policies_audit_minimum_check',
      sql.raw(
        `category <> 'audit_contents' or period_days >= ${RETENTION_LIMITS.auditContentsMinDays}`,
      ),
    ),
    check(
      'retention_policies_text_check',
      sql.raw(
        `char_length(reason) between 1 and ${RETENTION_LIMITS.reasonMaxLength} and char_length(legal_basis) between 1 and ${RETENTION_LIMITS.basisMaxLength}`,
      ),
    ),
  ],
);

export const retentionPolicyChanges = consoleSchema.table(
  'retention_policy_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    category: text('category')
      .notNull()
      .references(() => retentionPolicies.category),
    changedBy: uuid('changed_by')
      .notNull()
      .references(() => staff.id),
    changedAt: tstz('changed_at').notNull(),
    changes: jsonb('changes').notNull(),
  },
  (t) => [index('retention_policy_changes_at_idx').on(t.changedAt, t.id)],
);

export const retentionRuns = consoleSchema.table(
  'retention_runs',
  {
    id: uuid('id').primaryKey(),
    trigger: text('trigger').notNull(),
    state: text('state').notNull(),
    asOf: tstz('as_of').notNull(),
    startedAt: tstz('started_at').notNull(),
    finishedAt: tstz('finished_at'),
    resumed: integer('resumed').notNull().default(0),
  },
  (t) => [
    check('retention_runs_trigger_check', inList('trigger', RUN_TRIGGERS)),
    check('retention_runs_state_check', inList('state', RUN_STATES)),
    check('retention_runs_finished_check', sql`(state = 'done') = (finished_at is not null)`),
    uniqueIndex('retention_runs_one_running_key')
      .using('btree', sql`(true)`)
      .where(sql`state = 'running'`),
    index('retention_runs_started_idx').on(t.startedAt, t.id),
  ],
);

export const retentionRunCategories = consoleSchema.table(
  'retention_run_categories',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => retentionRuns.id),
    category: text('category').notNull(),
    periodDays: integer('period_days').notNull(),
    cutoff: tstz('cutoff').notNull(),
    suspendedByHold: boolean('suspended_by_hold').notNull(),
    suspendedByOpenRequest: boolean('suspended_by_open_request').notNull(),
    state: text('state').notNull(),
    removed: bigint('removed', { mode: 'number' }).notNull().default(0),
    cascaded: bigint('cascaded', { mode: 'number' }).notNull().default(0),
    batches: integer('batches').notNull().default(0),
    lastKey: text('last_key'),
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull().default(0),
    finishedAt: tstz('finished_at'),
  },
  (t) => [
    primaryKey({ name: 'retention_run_categories_pk', columns: [t.runId, t.category] }),
    check('retention_run_categories_state_check', inList('state', RUN_CATEGORY_STATES)),
    check(
      'retention_run_categories_counts_check',
      sql`removed >= 0 and cascaded >= 0 and batches >= 0 and duration_ms >= 0`,
    ),
  ],
);

// The record of processing (GDPR Art. 30, ADR 036): every edit adds a version holding the whole
// record; none is changed or removed (the app's role may not, drizzle/0032). Version 1 is seeded
// by the migration, with no editor. The content's shape: app/modules/privacy/record.ts.
export const processingRecordVersions = consoleSchema.table(
  'processing_record_versions',
  {
    version: integer('version').primaryKey(),
    content: jsonb('content').notNull(),
    editedBy: uuid('edited_by').references(() => staff.id),
    editedAt: tstz('edited_at').notNull(),
  },
  () => [
    check('processing_record_versions_version_check', sql`version >= 1`),
    check('processing_record_versions_content_check', sql`jsonb_typeof(content) = 'object'`),
  ],
);

// The sharing log of analytics (ADR 037): each hand-over of released figures to a recipient of the
// record of processing, as the record named it then; the CSV's row count and SHA-256, never its
// figures. Append-only for the app's role (drizzle/0033).
export const analyticsShares = consoleSchema.table(
  'analytics_shares',
  {
    id: uuid('id').primaryKey(),
    recipientName: text('recipient_name').notNull(),
    recipientKind: text('recipient_kind').notNull(),
    recordVersion: integer('record_version')
      .notNull()
      .references(() => processingRecordVersions.version),
    releaseIds: uuid('release_ids').array().notNull(),
    // `kind:period_start` of each release, in the order of release_ids (daily:2025-06-01).
    periods: text('periods').array().notNull(),
    datasets: text('datasets').array().notNull(),
    rows: integer('rows').notNull(),
    sha256: text('sha256').notNull(),
    sharedBy: uuid('shared_by')
      .notNull()
      .references(() => staff.id),
    sharedAt: tstz('shared_at').notNull(),
  },
  (t) => [
    index('analytics_shares_shared_at_idx').on(t.sharedAt, t.id),
    index('analytics_shares_recipient_idx').on(t.recipientName, t.id),
    check('analytics_shares_recipient_check', sql`length(recipient_name) between 1 and 120`),
    check(
      'analytics_shares_releases_check',
      sql`cardinality(release_ids) between 1 and 400 and cardinality(periods) = cardinality(release_ids)`,
    ),
    check(
      'analytics_shares_datasets_check',
      sql.raw(
        `cardinality(datasets) >= 1 and datasets <@ array[${DATASETS.map((d) => `'${d}'`).join(', ')}]::text[]`,
      ),
    ),
    check('analytics_shares_rows_check', sql`rows >= 0`),
    check('analytics_shares_sha256_check', sql`sha256 ~ '^[0-9a-f]{64}$'`),
  ],
);
