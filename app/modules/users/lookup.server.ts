import { sql } from 'drizzle-orm';
import { env } from '#app/config.server.ts';
import { getDb, getSql } from '#app/db/client.server.ts';
import { notify } from '#app/modules/access/notifications.server.ts';
import { auditBody, recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { staffNameOf } from '#app/modules/staff-names.server.ts';
import { emailBlindIndex } from '#app/modules/crypto/envelope.server.ts';
import { keyRing } from '#app/modules/crypto/keys.server.ts';
import type { Plan, UserStatus } from '#app/modules/vocabulary.ts';
import { batched, inKeyOrder } from '#app/db/batch.server.ts';
import { accountAge, type LookupQuery, type UserCardView } from './lookup.ts';
import type { StaffActor } from '#app/modules/actor.ts';

// Finding an end user by exact id or exact email (through the blind index), audited, within the
// viewer's daily limit of distinct users. Nothing here decrypts: the card shows only columns kept
// in clear for this purpose.

export interface UserCard {
  id: string;
  /** "j•••@example.com", stored in clear for lookup cards. */
  emailMasked: string;
  country: string;
  plan: Plan;
  status: UserStatus;
  createdAt: Date;
}

/** The card as the page shows it (serialisable; the age computed on the console's clock). */
export function cardView(card: UserCard): UserCardView {
  return {
    id: card.id,
    emailMasked: card.emailMasked,
    country: card.country,
    plan: card.plan,
    status: card.status,
    createdAt: card.createdAt.toISOString(),
    accountAge: accountAge(card.createdAt, now()),
  };
}

export type LookupResult =
  | { kind: 'found'; card: UserCard; usedToday: number }
  | { kind: 'not_found'; usedToday: number }
  | { kind: 'refused'; limit: number; resetsAt: Date };

export function lookupDailyLimit(): number {
  return env().CUSTODIAN_LOOKUP_DAILY_LIMIT;
}

/** The UTC calendar day of an instant, as PostgreSQL's date literal. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function nextUtcMidnight(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));
}

interface CardRow {
  id: string;
  email_masked: string;
  country: string;
  plan: Plan;
  status: UserStatus;
  created_at: Date | string;
}

const toCard = (r: CardRow): UserCard => ({
  id: r.id,
  emailMasked: r.email_masked,
  country: r.country,
  plan: r.plan,
  status: r.status,
  createdAt: r.created_at instanceof Date ? r.created_at : new Date(r.created_at),
});

/**
 * A card by id or by the email's blind index: one probe of a unique index (users_pkey,
 * users_email_index_key). Lookups are a hot path, so concurrent ones share one prepared statement
 * (ADR 014); each key is a user id or an email's blind index (hex), never both.
 */
const cardOf = batched<{ id: string | null; emailIndex: string | null }, CardRow | null>(
  async (keys) => {
    const rows = await getSql()<(CardRow & { i: string })[]>`
      select k.i, u.id, u.email_masked, u.country, u.plan, u.status, u.created_at
        from unnest(${keys.map((k) => k.id)}::uuid[], ${keys.map((k) => k.emailIndex)}::text[])
             with ordinality as k(id, email_index, i)
        cross join lateral (
          select id, email_masked, country, plan, status, created_at
            from product.users where id = k.id
          union all
          select id, email_masked, country, plan, status, created_at
            from product.users where email_index = decode(k.email_index, 'hex')
          limit 1) u`;
    return inKeyOrder(keys.length, rows);
  },
);

async function findCard(query: LookupQuery, blindIndex: Buffer | null) {
  const row = await cardOf(
    query.by === 'id'
      ? { id: query.value, emailIndex: null }
      : { id: null, emailIndex: blindIndex!.toString('hex') },
  );
  return row ? toCard(row) : null;
}

interface LookupCount {
  staffId: string;
  day: string;
  target: string;
  at: string;
  limit: number;
  body: Buffer;
}

const byStaffAndTarget = (a: LookupCount, b: LookupCount) =>
  a.staffId < b.staffId ? -1 : a.staffId > b.staffId ? 1 : a.target < b.target ? -1 : 1;

/**
 * `console.record_lookup` for concurrent lookups in one statement (ADR 014): one commit for their
 * counts and entries. Calls run in the order of staff member and target, so that two processes
 * lock the same day rows in the same order. A staff member's second lookup in the same statement
 * sees the first one's count.
 */
const countLookup = batched<LookupCount, number | null>(async (keys) => {
  const sorted = keys
    .map((key, index) => ({ key, index }))
    .sort((a, b) => byStaffAndTarget(a.key, b.key));
  const rows = await getSql()<{ i: string; used: number | null }[]>`
    select k.i, console.record_lookup(k.staff_id, k.day::date, k.target, k.at::timestamptz,
                                      k.lim::int, decode(k.body, 'hex')) as used
      from unnest(${sorted.map((s) => s.key.staffId)}::uuid[], ${sorted.map((s) => s.key.day)}::text[],
                  ${sorted.map((s) => s.key.target)}::text[], ${sorted.map((s) => s.key.at)}::text[],
                  ${sorted.map((s) => String(s.key.limit))}::text[],
                  ${sorted.map((s) => s.key.body.toString('hex'))}::text[])
           with ordinality as k(staff_id, day, target, at, lim, body, i)`;
  const used = new Array<number | null>(keys.length).fill(null);
  for (const row of rows) used[sorted[Number(row.i) - 1]!.index] = row.used;
  if (rows.length !== keys.length)
    throw new Error(`${rows.length} counts for ${keys.length} lookups`);
  return used;
});

/**
 * Looks a user up by exact id or email. The lookup's place in the daily count and its audit entry
 * commit together, in one statement (`console.record_lookup`, drizzle/0014), before anything is
 * returned; when the entry cannot be written the lookup fails and nothing is counted (fail closed).
 * A user already looked up today is free; past the daily limit of distinct users the lookup is
 * refused, audited as denied, and (once a day per staff member) holders of security:review are
 * alerted.
 */
export async function lookupUser(viewer: StaffActor, query: LookupQuery): Promise<LookupResult> {
  const at = now();
  const day = utcDay(at);
  const blindIndex = query.by === 'email' ? emailBlindIndex(keyRing().index, query.value) : null;
  const card = await findCard(query, blindIndex);
  const target = card
    ? `u:${card.id}`
    : blindIndex
      ? `e:${blindIndex.toString('hex')}`
      : `i:${query.value}`;
  const body = auditBody(
    viewer,
    {
      action: 'user.lookup',
      outcome: 'allowed',
      userId: card?.id ?? null,
      details: { by: query.by, found: card !== null },
    },
    at,
  );
  // The day's count of distinct users after this lookup, or null when it was refused.
  const usedToday = await countLookup({
    staffId: viewer.staffId,
    day,
    target,
    at: at.toISOString(),
    limit: lookupDailyLimit(),
    body,
  });
  if (usedToday !== null) {
    return card ? { kind: 'found', card, usedToday } : { kind: 'not_found', usedToday };
  }
  await refuseOverLimit(viewer, query, day, at);
  return { kind: 'refused', limit: lookupDailyLimit(), resetsAt: nextUtcMidnight(at) };
}

async function refuseOverLimit(viewer: StaffActor, query: LookupQuery, day: string, at: Date) {
  await getDb().transaction(async (tx) => {
    await tx.execute(sql`
      update console.user_lookup_days
      set refused = refused + 1, first_refused_at = coalesce(first_refused_at, ${at.toISOString()})
      where staff_id = ${viewer.staffId} and day = ${day}`);
    // The user is not named: a refused lookup learns nothing, and records nothing about anyone.
    await recordAudit(
      viewer,
      {
        action: 'access.denied',
        outcome: 'denied',
        details: {
          reason: 'lookup_daily_limit',
          permission: 'users:lookup',
          route: `/users (by ${query.by})`,
        },
      },
      tx,
    );
    // Once a day per staff member, not once per refused attempt.
    await notify(
      {
        kind: 'lookup.limit',
        to: { holdersOf: ['security:review'], except: [viewer.staffId] },
        subjectStaffId: viewer.staffId,
        unlessSentSince: new Date(`${day}T00:00:00Z`),
      },
      tx,
    );
  });
}

export interface LookupLimitHit {
  staffId: string;
  staffName: string;
  day: string;
  distinctUsers: number;
  refused: number;
  firstRefusedAt: Date;
}

/** Staff who hit their lookup limit on days in [from, to) (UTC dates), newest first. */
export async function lookupLimitHits(range: { from: string; to: string }, limit = 500) {
  const rows = await getSql()<
    {
      staff_id: string;
      display_name: string;
      day: string;
      distinct_targets: number;
      refused: number;
      first_refused_at: Date | string;
    }[]
  >`
    select d.staff_id, ${staffNameOf(getSql(), 'd.staff_id')} as display_name, d.day::text as day,
           d.distinct_targets, d.refused, d.first_refused_at
    from console.user_lookup_days d
    where d.refused > 0 and d.day >= ${range.from}::date and d.day < ${range.to}::date
    order by d.day desc, d.first_refused_at desc
    limit ${limit}`;
  return rows.map((r): LookupLimitHit => ({
    staffId: r.staff_id,
    staffName: r.display_name,
    day: r.day,
    distinctUsers: r.distinct_targets,
    refused: r.refused,
    firstRefusedAt:
      r.first_refused_at instanceof Date ? r.first_refused_at : new Date(r.first_refused_at),
  }));
}

/** How many distinct users the viewer has looked up today, and the limit. */
export async function lookupsToday(staffId: string) {
  const [row] = await getSql()<{ distinct_targets: number }[]>`
    select distinct_targets from console.user_lookup_days
    where staff_id = ${staffId} and day = ${utcDay(now())}::date`;
  return { used: row?.distinct_targets ?? 0, limit: lookupDailyLimit() };
}
