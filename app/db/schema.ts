import { sql } from 'drizzle-orm';
import {
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
  CARD_BRANDS,
  COUNTRIES,
  LOCALES,
  MESSAGE_ROLES,
  MODELS,
  PAYMENT_PROVIDERS,
  PLANS,
  PREFERENCE_SOURCES,
  PURPOSES,
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
  },
  (t) => [uniqueIndex('staff_email_key').on(sql`lower(${t.email})`)],
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
  },
  (t) => [
    uniqueIndex('sessions_token_hash_key').on(t.tokenHash),
    index('sessions_staff_idx').on(t.staffId),
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

// Leaf hashes apart from contents, so a retention policy could drop contents and keep the tree.
export const auditLeaves = consoleSchema.table('audit_leaves', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  leafHash: bytea('leaf_hash').notNull(),
});

export const auditEntries = consoleSchema.table(
  'audit_entries',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    // The leaf: the entry's canonical JSON bytes, position included. Never re-derived from jsonb.
    body: bytea('body').notNull(),
    occurredAt: tstz('occurred_at').notNull(),
    action: text('action').notNull(),
    outcome: text('outcome').notNull(),
    actorStaffId: uuid('actor_staff_id'),
    // The staff member an entry is about (a sign-in attempt, a role change), when not the actor.
    subjectStaffId: uuid('subject_staff_id'),
    userId: uuid('user_id'),
    grantId: uuid('grant_id'),
    privacyRequestId: uuid('privacy_request_id'),
    sessionId: uuid('session_id'),
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
