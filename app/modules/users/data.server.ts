import { sql as dsql, type SQL } from 'drizzle-orm';
import { getSql, type Tx } from '#app/db/client.server.ts';
import { redactCardNumbers } from '#app/modules/access/redact.ts';
import {
  decryptBytes,
  decryptField,
  encryptBytes,
  emailBlindIndex,
  encryptField,
  maskEmail,
  normaliseEmail,
  unwrapDataKey,
  type DataKey,
} from '#app/modules/crypto/envelope.server.ts';
import { keyRing } from '#app/modules/crypto/keys.server.ts';
import { decodeCursor, KeysetCursorSchema, type KeysetCursor } from '#app/utils/cursor.server.ts';
import type {
  CardBrand,
  MessageRole,
  Model,
  PaymentProvider,
  Plan,
  Purpose,
  UsageKind,
  UserStatus,
} from '#app/modules/vocabulary.ts';
import { maskPhone, type RevealField } from './fields.ts';
import { ConflictError, GoneError, InputError } from '#app/utils/errors.ts';
import { COUNTRIES, LOCALES } from '#app/modules/vocabulary.ts';

// The data of each category, read and decrypted. These functions check nothing and audit nothing:
// routes call them only through the personal-data gate (access/gate.server.ts), which finds the
// live grant and records the view (and, alone, the benchmark that measures what the gate costs).

// NOTE: drizzle shares getSql()'s client and makes it return timestamps as text.
const asDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));
const asDateOrNull = (value: Date | string | null) => (value === null ? null : asDate(value));
// A keyset cursor keeps the database's own text of the timestamp: a JS Date would drop the
// microseconds, and rows between the two values would be skipped.
const exact = (value: Date | string) => (value instanceof Date ? value.toISOString() : value);

export type { KeysetCursor };

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;
const TimestampCursorSchema = KeysetCursorSchema.refine((c) => TIMESTAMP.test(c.value));

/** The `after` parameter of a keyset-paged list; a cursor edited by hand is a 400 naming it. */
export function parseKeysetCursor(raw: string | null): KeysetCursor | undefined {
  return decodeCursor(TimestampCursorSchema, raw);
}

export interface WrappedKeyRow {
  key_version: number | null;
  master_key_id: string | null;
  wrapped_key: Buffer | null;
}

/** The user's data key from a row that selected their `product.user_keys` columns (or nulls). */
export function unwrapRowKey(userId: string, row: WrappedKeyRow | undefined): DataKey | null {
  if (!row?.wrapped_key || row.key_version === null || row.master_key_id === null) return null;
  return unwrapDataKey(
    {
      userId,
      keyVersion: row.key_version,
      masterKeyId: row.master_key_id,
      wrappedKey: row.wrapped_key,
    },
    keyRing(),
  );
}

async function dataKeyOf(userId: string): Promise<DataKey | null> {
  const [row] = await getSql()<
    WrappedKeyRow[]
  >`select key_version, master_key_id, wrapped_key from product.user_keys where user_id = ${userId}`;
  return unwrapRowKey(userId, row);
}

/** The user's data key, or a GoneError when it was destroyed (the user is erased). */
export async function requireDataKey(userId: string, known?: DataKey | null): Promise<DataKey> {
  const key = known === undefined ? await dataKeyOf(userId) : known;
  // A user row without its key has been crypto-shredded mid-erasure: nothing can be shown.
  if (!key) throw new GoneError('This user’s data key is gone (erased).');
  return key;
}

// --- profile -----------------------------------------------------------------------------------

export interface ProfileData {
  id: string;
  displayName: string;
  emailMasked: string;
  phoneMasked: string | null;
  country: string;
  locale: string;
  plan: Plan;
  status: UserStatus;
  createdAt: Date;
  lastActiveAt: Date | null;
}

export async function readProfile(userId: string): Promise<ProfileData | null> {
  const [row] = await getSql()<
    {
      display_name_enc: Buffer;
      email_masked: string;
      phone_enc: Buffer | null;
      country: string;
      locale: string;
      plan: Plan;
      status: UserStatus;
      created_at: Date | string;
      last_active_at: Date | string | null;
    }[]
  >`select display_name_enc, email_masked, phone_enc, country, locale, plan, status, created_at,
           last_active_at
    from product.users where id = ${userId}`;
  if (!row) return null;
  const key = await requireDataKey(userId);
  return {
    id: userId,
    displayName: decryptField(key, 'users.display_name', userId, row.display_name_enc),
    emailMasked: row.email_masked,
    phoneMasked: row.phone_enc
      ? maskPhone(decryptField(key, 'users.phone', userId, row.phone_enc))
      : null,
    country: row.country,
    locale: row.locale,
    plan: row.plan,
    status: row.status,
    createdAt: asDate(row.created_at),
    lastActiveAt: asDateOrNull(row.last_active_at),
  };
}

/** The clear value of one masked field, or null when the user has none. */
export async function readRevealedField(userId: string, field: RevealField) {
  if (field.startsWith('last4:')) {
    const [row] = await getSql()<{ last4: string }[]>`
      select last4 from product.payment_references
      where id = ${field.slice('last4:'.length)} and user_id = ${userId}`;
    return row?.last4 ?? null;
  }
  const [row] = await getSql()<{ email_enc: Buffer; phone_enc: Buffer | null }[]>`
    select email_enc, phone_enc from product.users where id = ${userId}`;
  if (!row) return null;
  const sealed = field === 'email' ? row.email_enc : row.phone_enc;
  if (!sealed) return null;
  const key = await requireDataKey(userId);
  return decryptField(key, field === 'email' ? 'users.email' : 'users.phone', userId, sealed);
}

// --- conversations -----------------------------------------------------------------------------

export interface ConversationRow {
  id: string;
  title: string;
  model: Model;
  messages: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Newest first, keyset-paged on (updated_at, id) along conversations_user_idx. */
export async function readConversations(
  userId: string,
  options: { after?: KeysetCursor; limit?: number } = {},
): Promise<{ rows: ConversationRow[]; next: KeysetCursor | undefined }> {
  const limit = Math.min(Math.max(options.limit ?? 25, 1), 100);
  const sql = getSql();
  const after = options.after;
  const raw = await sql<
    {
      id: string;
      title_enc: Buffer;
      model: Model;
      messages: number;
      created_at: Date | string;
      updated_at: Date | string;
    }[]
  >`
    select c.id, c.title_enc, c.model, c.created_at, c.updated_at,
           (select count(*)::int from product.messages m where m.conversation_id = c.id) as messages
    from product.conversations c
    where c.user_id = ${userId}
      ${after ? sql`and (c.updated_at, c.id) < (${after.value}::timestamptz, ${after.id}::uuid)` : sql``}
    order by c.updated_at desc, c.id desc
    limit ${limit + 1}`;
  if (raw.length === 0) return { rows: [], next: undefined };
  const key = await requireDataKey(userId);
  const rows = raw.slice(0, limit).map((r) => ({
    id: r.id,
    title: redactCardNumbers(decryptField(key, 'conversations.title', r.id, r.title_enc)),
    model: r.model,
    messages: r.messages,
    createdAt: asDate(r.created_at),
    updatedAt: asDate(r.updated_at),
  }));
  const last = raw[limit - 1];
  return {
    rows,
    next: raw.length > limit && last ? { value: exact(last.updated_at), id: last.id } : undefined,
  };
}

export interface MessageRow {
  id: string;
  role: MessageRole;
  content: string;
  tokenCount: number;
  createdAt: Date;
}

export interface ConversationData {
  id: string;
  title: string;
  model: Model;
  createdAt: Date;
  updatedAt: Date;
  messages: MessageRow[];
  next: KeysetCursor | undefined;
}

/**
 * One conversation of this user (null when it is not theirs) and a page of its messages, oldest
 * first, keyset-paged on (created_at, id) along messages_conversation_idx.
 */
// NOTE: the messages are selected by conversation alone and used only when the conversation is
// the user's. Adding `user_id = …` made the planner AND two bitmaps and sort the whole
// conversation on every page; and a message filed under another user would not decrypt anyway
// (its ciphertext is bound to its own user and key).
export async function readConversation(
  userId: string,
  conversationId: string,
  options: { after?: KeysetCursor; limit?: number } = {},
): Promise<ConversationData | null> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
  const sql = getSql();
  const after = options.after;
  const [head, raw] = await Promise.all([
    // The conversation and its owner's wrapped data key in one statement.
    sql<
      ({
        title_enc: Buffer;
        model: Model;
        created_at: Date | string;
        updated_at: Date | string;
      } & WrappedKeyRow)[]
    >`select c.title_enc, c.model, c.created_at, c.updated_at,
             k.key_version, k.master_key_id, k.wrapped_key
      from product.conversations c
      left join product.user_keys k on k.user_id = c.user_id
      where c.id = ${conversationId} and c.user_id = ${userId}`,
    sql<
      {
        id: string;
        role: MessageRole;
        content_enc: Buffer;
        token_count: number;
        created_at: Date | string;
      }[]
    >`
      select id, role, content_enc, token_count, created_at from product.messages
      where conversation_id = ${conversationId}
        ${after ? sql`and (created_at, id) > (${after.value}::timestamptz, ${after.id}::uuid)` : sql``}
      order by created_at, id
      limit ${limit + 1}`,
  ]);
  const conversation = head[0];
  if (!conversation) return null;
  const key = await requireDataKey(userId, unwrapRowKey(userId, conversation));
  const messages = raw.slice(0, limit).map((r) => ({
    id: r.id,
    role: r.role,
    // Card numbers a user typed into a chat are not shown: support never needs one, and the
    // payments category holds what may be (the last four digits, revealed one at a time).
    content: redactCardNumbers(decryptField(key, 'messages.content', r.id, r.content_enc)),
    tokenCount: r.token_count,
    createdAt: asDate(r.created_at),
  }));
  const last = raw[limit - 1];
  return {
    id: conversationId,
    title: redactCardNumbers(
      decryptField(key, 'conversations.title', conversationId, conversation.title_enc),
    ),
    model: conversation.model,
    createdAt: asDate(conversation.created_at),
    updatedAt: asDate(conversation.updated_at),
    messages,
    next: raw.length > limit && last ? { value: exact(last.created_at), id: last.id } : undefined,
  };
}

// --- payments ----------------------------------------------------------------------------------

export interface PaymentRow {
  id: string;
  provider: PaymentProvider;
  cardBrand: CardBrand;
  expMonth: number;
  expYear: number;
  createdAt: Date;
}

/** Payment references without their last four digits (revealed one at a time) or tokens. */
export async function readPayments(userId: string): Promise<PaymentRow[]> {
  const rows = await getSql()<
    {
      id: string;
      provider: PaymentProvider;
      card_brand: CardBrand;
      exp_month: number;
      exp_year: number;
      created_at: Date | string;
    }[]
  >`select id, provider, card_brand, exp_month, exp_year, created_at
    from product.payment_references where user_id = ${userId}
    order by created_at desc, id desc limit 100`;
  return rows.map((r) => ({
    id: r.id,
    provider: r.provider,
    cardBrand: r.card_brand,
    expMonth: r.exp_month,
    expYear: r.exp_year,
    createdAt: asDate(r.created_at),
  }));
}

// --- usage -------------------------------------------------------------------------------------

export interface UsageRow {
  id: string;
  kind: UsageKind;
  model: Model | null;
  tokens: number;
  country: string;
  occurredAt: Date;
}

/** Newest first, keyset-paged on (occurred_at, id), with totals per kind. */
export async function readUsage(
  userId: string,
  options: { after?: KeysetCursor; limit?: number } = {},
) {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
  const sql = getSql();
  const after = options.after;
  const [raw, totals] = await Promise.all([
    sql<
      {
        id: string;
        kind: UsageKind;
        model: Model | null;
        tokens: number;
        country: string;
        occurred_at: Date | string;
      }[]
    >`
      select id, kind, model, tokens, country, occurred_at from product.usage_events
      where user_id = ${userId}
        ${after ? sql`and (occurred_at, id) < (${after.value}::timestamptz, ${after.id}::uuid)` : sql``}
      order by occurred_at desc, id desc
      limit ${limit + 1}`,
    sql<{ kind: UsageKind; events: number; tokens: string }[]>`
      select kind, count(*)::int as events, coalesce(sum(tokens), 0)::text as tokens
      from product.usage_events where user_id = ${userId}
      group by kind order by kind`,
  ]);
  const rows: UsageRow[] = raw.slice(0, limit).map((r) => ({
    id: r.id,
    kind: r.kind,
    model: r.model,
    tokens: r.tokens,
    country: r.country,
    occurredAt: asDate(r.occurred_at),
  }));
  const last = raw[limit - 1];
  return {
    rows,
    totals: totals.map((t) => ({ kind: t.kind, events: t.events, tokens: Number(t.tokens) })),
    next: raw.length > limit && last ? { value: exact(last.occurred_at), id: last.id } : undefined,
  };
}

// --- preferences -------------------------------------------------------------------------------

export async function readPreferences(userId: string) {
  const sql = getSql();
  const [current, changes] = await Promise.all([
    sql<{ purpose: Purpose; allowed: boolean; updated_at: Date | string }[]>`
      select purpose, allowed, updated_at from product.data_use_preferences
      where user_id = ${userId} order by purpose`,
    sql<
      {
        id: string;
        purpose: Purpose;
        allowed: boolean;
        source: string;
        changed_at: Date | string;
      }[]
    >`
      select id, purpose, allowed, source, changed_at from product.data_use_preference_changes
      where user_id = ${userId} order by changed_at desc, id desc limit 100`,
  ]);
  return {
    current: current.map((r) => ({
      purpose: r.purpose,
      allowed: r.allowed,
      updatedAt: asDate(r.updated_at),
    })),
    changes: changes.map((r) => ({
      id: r.id,
      purpose: r.purpose,
      allowed: r.allowed,
      source: r.source,
      changedAt: asDate(r.changed_at),
    })),
  };
}

// --- for other capabilities: what a privacy request needs to know of its user -----------------

export interface UserFacts {
  id: string;
  country: string;
  status: UserStatus;
}

/** The user's country and status, or null when there is no such user. Reads no personal data. */
export async function userFacts(userId: string): Promise<UserFacts | null> {
  if (!UUID.test(userId)) return null;
  const [row] = await getSql()<{ id: string; country: string; status: UserStatus }[]>`
    select id, country, status from product.users where id = ${userId}`;
  return row ?? null;
}

/**
 * The id of the user whose email this is (through the keyed blind index), or null. For the
 * service API's intake, which names a user by email: no lookup is counted, no card is shown.
 */
export async function userIdByEmail(email: string): Promise<string | null> {
  const index = emailBlindIndex(keyRing().index, email);
  const [row] = await getSql()<{ id: string }[]>`
    select id from product.users where email_index = ${index}`;
  return row?.id ?? null;
}

/** The masked emails of these users (as lookup cards show them), by id. */
export async function maskedEmailsOf(userIds: readonly string[]): Promise<Record<string, string>> {
  const wanted = [...new Set(userIds.filter((id) => UUID.test(id)))];
  if (wanted.length === 0) return {};
  const rows = await getSql()<{ id: string; email_masked: string }[]>`
    select id, email_masked from product.users where id = any(${wanted}::uuid[])`;
  return Object.fromEntries(rows.map((r) => [r.id, r.email_masked]));
}

/** `value` sealed under the user's data key, bound to (field, row); gone if the key is. */
export async function sealForUser(userId: string, field: string, rowId: string, value: string) {
  return encryptField(await requireDataKey(userId), field, rowId, value);
}

/**
 * sealForUser() inside a transaction: the key is read through `tx`, so a key destroyed earlier in
 * the same transaction (an erasure) is gone here too, and no second connection is taken.
 */
export async function sealForUserIn(
  tx: Tx,
  userId: string,
  field: string,
  rowId: string,
  value: string,
) {
  const rows = await tx.execute<{
    key_version: number;
    master_key_id: string;
    wrapped_key: Buffer;
  }>(dsql`select key_version, master_key_id, wrapped_key from product.user_keys
          where user_id = ${userId}`);
  return encryptField(
    await requireDataKey(userId, unwrapRowKey(userId, rows[0])),
    field,
    rowId,
    value,
  );
}

/**
 * The address to write to the user at: their profile's email, decrypted. Only the end-user
 * outbox's sender calls it, at the moment it hands a message to the mail server (ADR 024); the
 * address goes nowhere else. Null when there is no such user; gone when their key is.
 */
export async function contactAddress(userId: string): Promise<string | null> {
  if (!UUID.test(userId)) return null;
  const [row] = await getSql()<{ email_enc: Buffer }[]>`
    select email_enc from product.users where id = ${userId}`;
  if (!row) return null;
  return decryptField(await requireDataKey(userId), 'users.email', userId, row.email_enc);
}

/** What sealForUser() sealed; gone if the user's key is. */
export async function openForUser(userId: string, field: string, rowId: string, sealed: Buffer) {
  return decryptField(await requireDataKey(userId), field, rowId, sealed);
}

/** Bytes sealed under the user's data key, bound to (field, row): an export package's chunk. */
export function sealBytesForUser(key: DataKey, field: string, rowId: string, value: Uint8Array) {
  return encryptBytes(key, field, rowId, value);
}

/** What sealBytesForUser() sealed. */
export function openBytesForUser(key: DataKey, field: string, rowId: string, sealed: Buffer) {
  return decryptBytes(key, field, rowId, sealed);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The first users by creation time with their country (the demo seed picks from them). */
export async function firstUsers(limit: number): Promise<{ id: string; country: string }[]> {
  return getSql()<{ id: string; country: string }[]>`
    select id, country from product.users order by created_at, id limit ${limit}`;
}

// --- for privacy requests: a rectification's fields and a restriction's preferences -----------

/** The profile fields a rectification may change, with the column and the sealed field of each. */
const RECTIFIABLE = {
  display_name: { column: 'display_name_enc', sealed: 'users.display_name' },
  email: { column: 'email_enc', sealed: 'users.email' },
  phone: { column: 'phone_enc', sealed: 'users.phone' },
  country: { column: 'country', sealed: null },
  locale: { column: 'locale', sealed: null },
} as const;
export type ProfileField = keyof typeof RECTIFIABLE;

/**
 * The current clear values of the rectifiable profile fields (null when the user has none), or
 * null when there is no such user. Checks nothing, audits nothing: only through the gate.
 */
export async function readProfileFields(
  userId: string,
): Promise<Record<ProfileField, string | null> | null> {
  if (!UUID.test(userId)) return null;
  const [row] = await getSql()<
    {
      display_name_enc: Buffer;
      email_enc: Buffer;
      phone_enc: Buffer | null;
      country: string;
      locale: string;
    }[]
  >`select display_name_enc, email_enc, phone_enc, country, locale
    from product.users where id = ${userId}`;
  if (!row) return null;
  const key = await requireDataKey(userId);
  return {
    display_name: decryptField(key, 'users.display_name', userId, row.display_name_enc),
    email: decryptField(key, 'users.email', userId, row.email_enc),
    phone: row.phone_enc ? decryptField(key, 'users.phone', userId, row.phone_enc) : null,
    country: row.country,
    locale: row.locale,
  };
}

/** Why a new value cannot be written (a message naming no value), or null when it can. */
function profileValueProblem(field: ProfileField, value: string): string | null {
  if (field === 'country' && !(COUNTRIES as readonly string[]).includes(value)) {
    return 'Not a country code the service knows';
  }
  if (field === 'locale' && !(LOCALES as readonly string[]).includes(value)) {
    return 'Not a locale the service knows';
  }
  if (field === 'email' && !EMAIL.test(normaliseEmail(value))) return 'Not an email address';
  if (field === 'phone' && !PHONE.test(value)) return 'Not a phone number';
  if (field === 'display_name' && !value.trim()) return 'A name cannot be empty';
  return null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9 ().-]{4,32}$/;

/**
 * Writes a rectification's new values to the user's profile in the caller's transaction: sealed
 * under the user's key, and for an email its blind index and masked form too. Writing the same
 * values again changes nothing, so a rerun after a crash is harmless. Returns the fields applied.
 * A value the profile cannot hold is an InputError naming `details.changes.<field>`; an email
 * another account already has is a ConflictError (neither message carries the value).
 */
export async function rectifyProfile(
  tx: Tx,
  userId: string,
  changes: Partial<Record<string, string>>,
): Promise<ProfileField[]> {
  const fields = Object.keys(changes)
    .filter((f): f is ProfileField => f in RECTIFIABLE)
    .sort();
  if (fields.length !== Object.keys(changes).length) {
    const bad = Object.keys(changes).find((f) => !(f in RECTIFIABLE))!;
    throw new InputError(`details.changes.${bad}`, 'Not a field a rectification may change');
  }
  const key = await requireDataKey(userId);
  const set: SQL[] = [];
  for (const field of fields) {
    const value = changes[field]!.trim();
    const problem = profileValueProblem(field, value);
    if (problem) throw new InputError(`details.changes.${field}`, problem);
    const spec = RECTIFIABLE[field];
    if (field === 'email') {
      const index = emailBlindIndex(keyRing().index, value);
      const taken = await tx.execute(
        dsql`select 1 from product.users where email_index = ${index} and id <> ${userId}`,
      );
      if (taken.length > 0) {
        throw new ConflictError('Another account already has the requested email address');
      }
      set.push(
        dsql`email_index = ${index}`,
        dsql`email_index_key_id = ${keyRing().index.id}`,
        dsql`email_masked = ${maskEmail(value)}`,
      );
    }
    set.push(
      spec.sealed
        ? dsql`${dsql.identifier(spec.column)} = ${encryptField(key, spec.sealed, userId, value)}`
        : dsql`${dsql.identifier(spec.column)} = ${value}`,
    );
  }
  const updated = await tx.execute(
    dsql`update product.users set ${dsql.join(set, dsql`, `)} where id = ${userId} returning id`,
  );
  if (updated.length === 0) throw new GoneError('This user no longer exists');
  return fields;
}

/**
 * Sets the user's data-use preference for each purpose, with its history (source
 * `privacy_request`), in the caller's transaction. A purpose already at that value gets no new
 * history line, so a rerun after a crash changes nothing. Returns the purposes it changed.
 */
export async function setPurposePreferences(
  tx: Tx,
  userId: string,
  purposes: readonly Purpose[],
  allowed: boolean,
  at: Date,
): Promise<Purpose[]> {
  if (purposes.length === 0) return [];
  const iso = at.toISOString();
  // One statement: upsert where different, then a history line for each row that changed.
  const rows = await tx.execute<{ purpose: Purpose }>(dsql`
    with wanted as (
      select unnest(string_to_array(${purposes.join(',')}, ',')::product.purpose[]) as purpose
    ), changed as (
      insert into product.data_use_preferences as p (user_id, purpose, allowed, updated_at)
      select ${userId}::uuid, w.purpose, ${allowed}, ${iso}::timestamptz from wanted w
      on conflict (user_id, purpose) do update set allowed = excluded.allowed,
                                                   updated_at = excluded.updated_at
        where p.allowed is distinct from excluded.allowed
      returning p.purpose
    ), logged as (
      insert into product.data_use_preference_changes (id, user_id, purpose, allowed, source, changed_at)
      select gen_random_uuid(), ${userId}::uuid, c.purpose, ${allowed}, 'privacy_request', ${iso}::timestamptz
      from changed c
      returning purpose
    )
    select purpose from logged order by purpose`);
  return rows.map((r) => r.purpose);
}
