import type postgres from 'postgres';
import { getSql } from '#app/db/client.server.ts';
import { redactCardNumbers } from '#app/modules/access/redact.ts';
import { decryptField, type DataKey } from '#app/modules/crypto/envelope.server.ts';
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
import { requireDataKey } from './data.server.ts';

// Everything the product holds about one user, read for their access or portability package
// (privacy/package.server.ts): decrypted, in keyset batches, inside one read-only snapshot so the
// package's files agree with each other however the user's data changes meanwhile. Nothing is
// held whole: each list is an async iterator of batches, and a long history costs the same memory
// as a short one. Like the rest of this module's reads, it checks nothing and audits nothing: the
// caller is the job that carries out a verified request.

/** Rows per batch: one round trip each, small enough to keep memory flat. */
export const SNAPSHOT_BATCH = 1_000;

// NOTE: drizzle shares getSql()'s client and makes it return timestamps as text.
const iso = (value: Date | string) =>
  (value instanceof Date ? value : new Date(value)).toISOString();
const isoOrNull = (value: Date | string | null) => (value === null ? null : iso(value));
// A keyset cursor keeps the database's own text of the timestamp (a Date drops microseconds).
const exact = (value: Date | string) => (value instanceof Date ? value.toISOString() : value);

export interface SnapshotProfile {
  id: string;
  displayName: string;
  email: string;
  phone: string | null;
  country: string;
  locale: string;
  plan: Plan;
  status: UserStatus;
  createdAt: string;
  lastActiveAt: string | null;
}

export interface SnapshotConversation {
  id: string;
  title: string;
  model: Model;
  createdAt: string;
  updatedAt: string;
}

export interface SnapshotMessage {
  id: string;
  role: MessageRole;
  content: string;
  tokenCount: number;
  createdAt: string;
}

export interface SnapshotPayment {
  id: string;
  provider: PaymentProvider;
  cardBrand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
  createdAt: string;
}

export interface SnapshotUsage {
  id: string;
  kind: UsageKind;
  model: Model | null;
  tokens: number;
  country: string;
  occurredAt: string;
}

export interface SnapshotPreference {
  purpose: Purpose;
  allowed: boolean;
  updatedAt: string;
}

export interface SnapshotPreferenceChange {
  id: string;
  purpose: Purpose;
  allowed: boolean;
  source: string;
  changedAt: string;
}

export interface SnapshotCounts {
  conversations: number;
  messages: number;
  payments: number;
  usageEvents: number;
  preferences: number;
  preferenceChanges: number;
}

export interface ProductSnapshot {
  userId: string;
  /** The user's data key (the package's chunks are sealed under it too). */
  key: DataKey;
  counts(): Promise<SnapshotCounts>;
  profile(): Promise<SnapshotProfile>;
  conversations(): AsyncGenerator<SnapshotConversation[]>;
  /** One conversation's messages, oldest first. */
  messages(conversationId: string): AsyncGenerator<SnapshotMessage[]>;
  payments(): AsyncGenerator<SnapshotPayment[]>;
  usage(): AsyncGenerator<SnapshotUsage[]>;
  preferences(): Promise<SnapshotPreference[]>;
  preferenceChanges(): AsyncGenerator<SnapshotPreferenceChange[]>;
}

/**
 * Runs `read` against a repeatable-read, read-only snapshot of the user's product data. Throws
 * a GoneError when the user's key is destroyed, and returns null when there is no such user.
 */
export async function withProductSnapshot<T>(
  userId: string,
  read: (snapshot: ProductSnapshot) => Promise<T>,
): Promise<T | null> {
  const result = await getSql().begin('isolation level repeatable read read only', async (tx) => {
    const [exists] = await tx<{ id: string }[]>`select id from product.users where id = ${userId}`;
    if (!exists) return { found: false as const };
    const key = await requireDataKey(userId);
    return { found: true as const, value: await read(snapshotOf(tx, userId, key)) };
  });
  return result.found ? result.value : null;
}

/** Batches of a keyset-paged query: `page(after)` returns up to SNAPSHOT_BATCH raw rows. */
async function* keyset<R, O>(
  page: (after: R | undefined) => Promise<R[]>,
  map: (row: R) => O,
): AsyncGenerator<O[]> {
  let after: R | undefined;
  for (;;) {
    const rows = await page(after);
    if (rows.length === 0) return;
    yield rows.map(map);
    if (rows.length < SNAPSHOT_BATCH) return;
    after = rows[rows.length - 1];
  }
}

function snapshotOf(tx: postgres.TransactionSql, userId: string, key: DataKey): ProductSnapshot {
  const open = (field: string, rowId: string, sealed: Buffer) =>
    decryptField(key, field, rowId, sealed);
  return {
    userId,
    key,
    async counts() {
      const [row] = await tx<SnapshotCounts[]>`
        select
          (select count(*)::int from product.conversations where user_id = ${userId}) as conversations,
          (select count(*)::int from product.messages where user_id = ${userId}) as messages,
          (select count(*)::int from product.payment_references where user_id = ${userId}) as payments,
          (select count(*)::int from product.usage_events where user_id = ${userId}) as "usageEvents",
          (select count(*)::int from product.data_use_preferences where user_id = ${userId}) as preferences,
          (select count(*)::int from product.data_use_preference_changes where user_id = ${userId})
            as "preferenceChanges"`;
      return row!;
    },
    async profile() {
      const [row] = await tx<
        {
          email_enc: Buffer;
          display_name_enc: Buffer;
          phone_enc: Buffer | null;
          country: string;
          locale: string;
          plan: Plan;
          status: UserStatus;
          created_at: Date | string;
          last_active_at: Date | string | null;
        }[]
      >`select email_enc, display_name_enc, phone_enc, country, locale, plan, status, created_at,
               last_active_at
        from product.users where id = ${userId}`;
      const r = row!;
      return {
        id: userId,
        displayName: open('users.display_name', userId, r.display_name_enc),
        email: open('users.email', userId, r.email_enc),
        phone: r.phone_enc ? open('users.phone', userId, r.phone_enc) : null,
        country: r.country,
        locale: r.locale,
        plan: r.plan,
        status: r.status,
        createdAt: iso(r.created_at),
        lastActiveAt: isoOrNull(r.last_active_at),
      };
    },
    conversations() {
      type Raw = {
        id: string;
        title_enc: Buffer;
        model: Model;
        created_at: Date | string;
        updated_at: Date | string;
      };
      return keyset<Raw, SnapshotConversation>(
        (after) => tx<Raw[]>`
          select id, title_enc, model, created_at, updated_at from product.conversations
          where user_id = ${userId}
            ${after ? tx`and (updated_at, id) > (${exact(after.updated_at)}::timestamptz, ${after.id}::uuid)` : tx``}
          order by updated_at, id limit ${SNAPSHOT_BATCH}`,
        (r) => ({
          id: r.id,
          // Card numbers typed into a chat are not handed out again (ADR 025).
          title: redactCardNumbers(open('conversations.title', r.id, r.title_enc)),
          model: r.model,
          createdAt: iso(r.created_at),
          updatedAt: iso(r.updated_at),
        }),
      );
    },
    messages(conversationId) {
      type Raw = {
        id: string;
        role: MessageRole;
        content_enc: Buffer;
        token_count: number;
        created_at: Date | string;
      };
      // NOTE: selected by conversation alone along messages_conversation_idx (see readConversation);
      // the conversation itself was selected by this user, and a message of another user's key
      // would not decrypt.
      return keyset<Raw, SnapshotMessage>(
        (after) => tx<Raw[]>`
          select id, role, content_enc, token_count, created_at from product.messages
          where conversation_id = ${conversationId}
            ${after ? tx`and (created_at, id) > (${exact(after.created_at)}::timestamptz, ${after.id}::uuid)` : tx``}
          order by created_at, id limit ${SNAPSHOT_BATCH}`,
        (r) => ({
          id: r.id,
          role: r.role,
          content: redactCardNumbers(open('messages.content', r.id, r.content_enc)),
          tokenCount: r.token_count,
          createdAt: iso(r.created_at),
        }),
      );
    },
    payments() {
      type Raw = {
        id: string;
        provider: PaymentProvider;
        card_brand: CardBrand;
        last4: string;
        exp_month: number;
        exp_year: number;
        created_at: Date | string;
      };
      return keyset<Raw, SnapshotPayment>(
        (after) => tx<Raw[]>`
          select id, provider, card_brand, last4, exp_month, exp_year, created_at
          from product.payment_references
          where user_id = ${userId}
            ${after ? tx`and (created_at, id) > (${exact(after.created_at)}::timestamptz, ${after.id}::uuid)` : tx``}
          order by created_at, id limit ${SNAPSHOT_BATCH}`,
        (r) => ({
          id: r.id,
          provider: r.provider,
          cardBrand: r.card_brand,
          last4: r.last4,
          expMonth: r.exp_month,
          expYear: r.exp_year,
          createdAt: iso(r.created_at),
        }),
      );
    },
    usage() {
      type Raw = {
        id: string;
        kind: UsageKind;
        model: Model | null;
        tokens: number;
        country: string;
        occurred_at: Date | string;
      };
      return keyset<Raw, SnapshotUsage>(
        (after) => tx<Raw[]>`
          select id, kind, model, tokens, country, occurred_at from product.usage_events
          where user_id = ${userId}
            ${after ? tx`and (occurred_at, id) > (${exact(after.occurred_at)}::timestamptz, ${after.id}::uuid)` : tx``}
          order by occurred_at, id limit ${SNAPSHOT_BATCH}`,
        (r) => ({
          id: r.id,
          kind: r.kind,
          model: r.model,
          tokens: r.tokens,
          country: r.country,
          occurredAt: iso(r.occurred_at),
        }),
      );
    },
    async preferences() {
      const rows = await tx<{ purpose: Purpose; allowed: boolean; updated_at: Date | string }[]>`
        select purpose, allowed, updated_at from product.data_use_preferences
        where user_id = ${userId} order by purpose`;
      return rows.map((r) => ({
        purpose: r.purpose,
        allowed: r.allowed,
        updatedAt: iso(r.updated_at),
      }));
    },
    preferenceChanges() {
      type Raw = {
        id: string;
        purpose: Purpose;
        allowed: boolean;
        source: string;
        changed_at: Date | string;
      };
      return keyset<Raw, SnapshotPreferenceChange>(
        (after) => tx<Raw[]>`
          select id, purpose, allowed, source, changed_at from product.data_use_preference_changes
          where user_id = ${userId}
            ${after ? tx`and (changed_at, id) > (${exact(after.changed_at)}::timestamptz, ${after.id}::uuid)` : tx``}
          order by changed_at, id limit ${SNAPSHOT_BATCH}`,
        (r) => ({
          id: r.id,
          purpose: r.purpose,
          allowed: r.allowed,
          source: r.source,
          changedAt: iso(r.changed_at),
        }),
      );
    },
  };
}
