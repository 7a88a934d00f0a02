import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { now } from '#app/modules/clock.server.ts';
import { decryptField, unwrapDataKey } from '#app/modules/crypto/envelope.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
// Registers the support_inquiry purpose (ADR 034) for tests that request grants in process.
import '#app/modules/inquiries/inquiries.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { ownerUrl, testKeyRing } from '../support/db.ts';

// Shared by the users-*.test.ts files: a small seeded product database, its users in clear (for
// comparing what pages show), and grant rows written directly in the access module's schema.

export interface PlainUser {
  id: string;
  email: string;
  emailMasked: string;
  displayName: string;
  phone: string | null;
}

export async function seedUsers(url = ownerUrl()) {
  await seedProductData(url, testKeyRing, {
    users: 30,
    messagesPerUser: 5,
    eventsPerUser: 5,
    seed: 1,
    append: false,
    workers: 0,
  });
}

/** The table owner's connection, for setting up and breaking things the app's role may not. */
export function ownerConnection(url = ownerUrl()) {
  return postgres(url, { max: 2, onnotice: () => {} });
}

export async function plainUsers(owner: postgres.Sql): Promise<PlainUser[]> {
  const rows = await owner<
    {
      id: string;
      email_enc: Buffer;
      email_masked: string;
      display_name_enc: Buffer;
      phone_enc: Buffer | null;
      key_version: number;
      master_key_id: string;
      wrapped_key: Buffer;
    }[]
  >`select u.id, u.email_enc, u.email_masked, u.display_name_enc, u.phone_enc,
           k.key_version, k.master_key_id, k.wrapped_key
    from product.users u join product.user_keys k on k.user_id = u.id
    order by u.created_at, u.id`;
  return rows.map((r) => {
    const key = unwrapDataKey(
      {
        userId: r.id,
        keyVersion: r.key_version,
        masterKeyId: r.master_key_id,
        wrappedKey: r.wrapped_key,
      },
      testKeyRing,
    );
    return {
      id: r.id,
      email: decryptField(key, 'users.email', r.id, r.email_enc),
      emailMasked: r.email_masked,
      displayName: decryptField(key, 'users.display_name', r.id, r.display_name_enc),
      phone: r.phone_enc ? decryptField(key, 'users.phone', r.id, r.phone_enc) : null,
    };
  });
}

/**
 * An approved grant, live from `startsAt` (default: a minute ago on the console's clock) for
 * `minutes`, written straight into console.grants as the access module would leave it.
 */
export async function insertGrant(
  owner: postgres.Sql,
  grant: {
    staffId: string;
    userId: string;
    categories: DataCategory[];
    minutes?: number;
    startsAt?: Date;
    status?: 'approved' | 'pending' | 'denied' | 'expired';
    breakGlass?: boolean;
  },
): Promise<string> {
  const id = randomUUID();
  const at = now();
  const startsAt = grant.startsAt ?? new Date(at.getTime() - 60_000);
  const endsAt = new Date(startsAt.getTime() + (grant.minutes ?? 60) * 60_000);
  const status = grant.status ?? 'approved';
  const decided = status === 'approved' || status === 'denied' || status === 'expired';
  const live = status === 'approved' || status === 'expired';
  await owner`
    insert into console.grants (
      id, requester_id, user_id, categories, reason_code, justification, ticket_ref,
      duration_minutes, approvals_needed, approver_permissions, status, created_at,
      request_expires_at, decided_at, starts_at, ends_at, break_glass)
    values (
      ${id}, ${grant.staffId}, ${grant.userId}, ${grant.categories}, 'support_inquiry',
      'The user wrote in about a billing problem on their account', 'SUP-1234',
      ${grant.minutes ?? 60}, ${grant.breakGlass ? 0 : 1}, ${['grants:approve_sensitive']},
      ${status}, ${new Date(at.getTime() - 120_000).toISOString()},
      ${new Date(at.getTime() + 86_400_000).toISOString()},
      ${decided ? startsAt.toISOString() : null}, ${live ? startsAt.toISOString() : null},
      ${live ? endsAt.toISOString() : null}, ${grant.breakGlass ?? false})`;
  return id;
}

export async function revokeGrantRow(owner: postgres.Sql, grantId: string) {
  await owner`
    update console.grants
    set status = 'revoked', revoked_at = ${now().toISOString()}, revoke_basis = 'revoke_any'
    where id = ${grantId}`;
}

/** Runs `fn` while the app's role may not queue audit entries (law 3's failure case). */
export async function withAuditWritesBroken<T>(owner: postgres.Sql, fn: () => Promise<T>) {
  await owner`revoke insert on console.audit_intake from custodian_app`;
  try {
    return await fn();
  } finally {
    await owner`grant insert on console.audit_intake to custodian_app`;
  }
}

export const someUuid = () => randomUUID();

/**
 * An open inquiry of `userId` assigned to `staffId`, written directly (its subject is not
 * readable: tests that read a thread make theirs with createInquiry()). What a grant requested
 * with the reason support_inquiry must name (ADR 034).
 */
export async function inquiryFor(staffId: string, userId: string, url = ownerUrl()) {
  const owner = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const id = randomUUID();
    const at = now();
    const later = new Date(at.getTime() + 86_400_000).toISOString();
    await owner`
      insert into console.inquiries (id, user_id, category, state, source, subject_enc,
        assignee_id, received_at, first_response_due_at, resolution_due_at, created_at, updated_at)
      values (${id}, ${userId}, 'account', 'assigned', 'staff', ${Buffer.from('not readable')},
        ${staffId}, ${at.toISOString()}, ${later}, ${later}, ${at.toISOString()}, ${at.toISOString()})`;
    return id;
  } finally {
    await owner.end();
  }
}
