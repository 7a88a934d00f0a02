import { and, desc, eq, sql } from 'drizzle-orm';
import { getDb, getSql, type Db, type Tx } from '#app/db/client.server.ts';
import { grants } from '#app/db/schema.ts';
import { now } from '#app/modules/clock.server.ts';
import { DATA_CATEGORIES, type DataCategory, type ReasonCode } from '#app/modules/vocabulary.ts';
import { MISSING_GRANT, type GrantRefusal, type MissingGrant } from './errors.ts';
import { UUID } from './sql.server.ts';
import { batched, inKeyOrder } from '#app/db/batch.server.ts';
import type postgres from 'postgres';

// Law 2: no personal data without a live grant covering this staff member, this user and this
// category. Asked at every request, against the clock, never cached: a revocation or an end time
// takes effect on the very next request, whether or not the expiry job has run.

export interface LiveGrant {
  grantId: string;
  categories: DataCategory[];
  startsAt: Date;
  endsAt: Date;
  breakGlass: boolean;
  /** Why it was asked for: the purpose every view under it is recorded with. */
  reasonCode: ReasonCode;
}

export interface GrantScope {
  staffId: string;
  userId: string;
  category: DataCategory;
}

/** A grant row as the statements below read it (timestamps as text, or as JSON inside json_agg). */
interface LiveGrantRow {
  id: string;
  categories: DataCategory[];
  starts_at: string | Date;
  ends_at: string | Date;
  break_glass: boolean;
  reason_code: ReasonCode;
}

const toLiveGrant = (row: LiveGrantRow): LiveGrant => ({
  grantId: row.id,
  categories: row.categories,
  startsAt: new Date(row.starts_at),
  endsAt: new Date(row.ends_at),
  breakGlass: row.break_glass,
  reasonCode: row.reason_code,
});

/**
 * What "live" means, once for every reader of grants (`g` is console.grants): approved, started,
 * not yet ended, at the instant `at` (a parameter, or a column of the statement). A fragment of the
 * driver's tagged templates, so the statements that use it stay prepared.
 */
const liveAt = (at: Date | postgres.Fragment) => {
  const t = at instanceof Date ? getSql()`${at.toISOString()}::timestamptz` : at;
  return getSql()`g.status = 'approved' and g.starts_at <= ${t} and g.ends_at > ${t}`;
};

interface ScopeAt extends GrantScope {
  at: string;
}

/**
 * Every request for personal data asks this, so concurrent requests ask it together (ADR 014):
 * one prepared statement answers a batch of scopes, each at its own instant. An approved grant
 * wins over break-glass.
 */
const liveGrantOf = batched<ScopeAt, LiveGrant | null>(async (scopes) => {
  const rows = await getSql()<(LiveGrantRow & { i: string })[]>`
    select k.i, g.id, g.categories, g.starts_at, g.ends_at, g.break_glass, g.reason_code
      from unnest(${scopes.map((s) => s.staffId)}::uuid[], ${scopes.map((s) => s.userId)}::uuid[],
                  ${scopes.map((s) => s.category)}::text[], ${scopes.map((s) => s.at)}::text[])
           with ordinality as k(staff_id, user_id, category, at, i)
      cross join lateral (
        select g.id, g.categories, g.starts_at, g.ends_at, g.break_glass, g.reason_code
          from console.grants g
         where g.requester_id = k.staff_id and g.user_id = k.user_id
           and ${liveAt(getSql()`k.at::timestamptz`)} and k.category = any(g.categories)
         order by g.break_glass, g.ends_at desc
         limit 1) g`;
  return inKeyOrder(scopes.length, rows).map((row) => row && toLiveGrant(row));
});

/** The live grant covering this scope now (asked at this moment, never cached), or null. */
export async function findLiveGrant(scope: GrantScope): Promise<LiveGrant | null> {
  if (!UUID.test(scope.staffId) || !UUID.test(scope.userId)) return null;
  if (!(DATA_CATEGORIES as readonly string[]).includes(scope.category)) return null;
  return liveGrantOf({ ...scope, at: now().toISOString() });
}

export type GrantCheck = { live: true; grant: LiveGrant } | { live: false; refusal: GrantRefusal };

/** The live grant covering this scope now, or the refusal saying what is missing. */
export async function checkLiveGrant(scope: GrantScope): Promise<GrantCheck> {
  const grant = await findLiveGrant(scope);
  if (grant) return { live: true, grant };
  return { live: false, refusal: await whyNoLiveGrant(scope, getDb()) };
}

function refusal(
  scope: GrantScope,
  missing: MissingGrant,
  grantId: string | null = null,
  at: Date | null = null,
): GrantRefusal {
  return {
    kind: 'grant',
    missing,
    message: MISSING_GRANT[missing],
    at: at?.toISOString() ?? null,
    userId: scope.userId,
    category: scope.category,
    grantId,
  };
}

/** The thread of one inquiry: what the grant must be bound to (or a break-glass grant). */
export interface InquiryScope {
  staffId: string;
  userId: string;
  inquiryId: string;
}

/**
 * The live grant that opens this inquiry's thread to this staff member now: one bound to this
 * inquiry (its assignment, ADR 034), or a break-glass grant of the inquiries category. A grant
 * bound to another inquiry of the same user does not open this one.
 */
export async function checkInquiryGrant(scope: InquiryScope): Promise<GrantCheck> {
  const category = 'inquiries' as const;
  const base = { staffId: scope.staffId, userId: scope.userId, category };
  if (!UUID.test(scope.staffId) || !UUID.test(scope.userId) || !UUID.test(scope.inquiryId)) {
    return { live: false, refusal: refusal(base, 'none') };
  }
  const [row] = await getSql()<LiveGrantRow[]>`
    select g.id, g.categories, g.starts_at, g.ends_at, g.break_glass, g.reason_code
      from console.grants g
     where g.requester_id = ${scope.staffId} and g.user_id = ${scope.userId}
       and ${liveAt(now())} and ${category} = any(g.categories)
       and (g.inquiry_id = ${scope.inquiryId} or g.break_glass)
     order by g.break_glass, g.ends_at desc
     limit 1`;
  if (row) return { live: true, grant: toLiveGrant(row) };
  return { live: false, refusal: await whyNoLiveGrant(base, getDb(), scope.inquiryId) };
}

async function whyNoLiveGrant(
  scope: GrantScope,
  tx: Db | Tx,
  inquiryId?: string,
): Promise<GrantRefusal> {
  const none = () => refusal(scope, 'none');
  if (!UUID.test(scope.staffId) || !UUID.test(scope.userId)) return none();
  const at = now();
  const [latest] = await tx
    .select({
      id: grants.id,
      status: grants.status,
      requestExpiresAt: grants.requestExpiresAt,
      startsAt: grants.startsAt,
      endsAt: grants.endsAt,
    })
    .from(grants)
    .where(
      and(
        eq(grants.requesterId, scope.staffId),
        eq(grants.userId, scope.userId),
        sql`${scope.category} = any(${grants.categories})`,
        sql`${grants.status} <> 'cancelled'`,
        inquiryId ? eq(grants.inquiryId, inquiryId) : undefined,
      ),
    )
    .orderBy(desc(grants.createdAt), desc(grants.id))
    .limit(1);
  if (!latest) return none();
  let missing: MissingGrant = 'none';
  let when: Date | null = null;
  const t = at.getTime();
  switch (latest.status) {
    case 'pending':
      missing = latest.requestExpiresAt.getTime() > t ? 'pending' : 'none';
      break;
    case 'approved':
      if (latest.startsAt && latest.startsAt.getTime() > t) {
        missing = 'scheduled';
        when = latest.startsAt;
      } else {
        missing = 'expired';
        when = latest.endsAt;
      }
      break;
    case 'expired':
      missing = latest.endsAt ? 'expired' : 'none';
      when = latest.endsAt;
      break;
    case 'revoked':
    case 'denied':
      missing = latest.status;
      break;
  }
  return refusal(scope, missing, missing === 'none' ? null : latest.id, when);
}

/** For a user's overview: per category, the live grant this staff member holds now (and its end). */
export async function liveGrantsFor(input: {
  staffId: string;
  userId: string;
}): Promise<Partial<Record<DataCategory, LiveGrant>>> {
  if (!UUID.test(input.staffId) || !UUID.test(input.userId)) return {};
  const rows = await getSql()<LiveGrantRow[]>`
    select g.id, g.categories, g.starts_at, g.ends_at, g.break_glass, g.reason_code
      from console.grants g
     where g.requester_id = ${input.staffId} and g.user_id = ${input.userId} and ${liveAt(now())}
     order by g.break_glass, g.ends_at desc`;
  const out: Partial<Record<DataCategory, LiveGrant>> = {};
  for (const grant of rows.map(toLiveGrant)) {
    for (const category of grant.categories) out[category] ??= grant;
  }
  return out;
}

export interface LayoutState {
  breakGlass: (LiveGrant & { userId: string })[];
  unread: number;
}

interface LayoutRow {
  i: string;
  unread: number;
  break_glass: (LiveGrantRow & { user_id: string })[];
}

/**
 * What the layout shows on every page: the staff member's live break-glass grants (the console
 * shows a banner while one lasts) and their unread notifications. Every page asks, so concurrent
 * pages ask together (ADR 014): one prepared statement, each staff member at their own instant.
 */
const layoutRowOf = batched<{ staffId: string; at: string }, LayoutRow | null>(async (keys) => {
  const rows = await getSql()<LayoutRow[]>`
    select k.i,
           (select count(*)::int from console.notifications n
             where n.recipient_id = k.staff_id and n.read_at is null) as unread,
           coalesce((select json_agg(json_build_object(
                               'id', g.id, 'user_id', g.user_id, 'categories', g.categories,
                               'starts_at', g.starts_at, 'ends_at', g.ends_at,
                               'break_glass', g.break_glass, 'reason_code', g.reason_code)
                             order by g.ends_at)
                       from console.grants g
                      where g.requester_id = k.staff_id and g.break_glass
                        and ${liveAt(getSql()`k.at::timestamptz`)}),
                    '[]') as break_glass
      from unnest(${keys.map((k) => k.staffId)}::uuid[], ${keys.map((k) => k.at)}::text[])
           with ordinality as k(staff_id, at, i)`;
  return inKeyOrder(keys.length, rows);
});

export async function layoutStateOf(staffId: string): Promise<LayoutState> {
  if (!UUID.test(staffId)) return { breakGlass: [], unread: 0 };
  const row = await layoutRowOf({ staffId, at: now().toISOString() });
  return {
    unread: row?.unread ?? 0,
    breakGlass: (row?.break_glass ?? []).map((g) => ({ ...toLiveGrant(g), userId: g.user_id })),
  };
}
