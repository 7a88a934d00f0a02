import { and, desc, eq, gt, lte, sql } from 'drizzle-orm';
import { getDb, getSql, type Db, type Tx } from '#app/db/client.server.ts';
import { grants } from '#app/db/schema.ts';
import { now } from '#app/modules/clock.server.ts';
import { DATA_CATEGORIES, type DataCategory, type ReasonCode } from '#app/modules/vocabulary.ts';
import { GrantRequiredError, type MissingGrant } from './errors.ts';
import { UUID } from './sql.server.ts';

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

function liveWhere(staffId: string, userId: string, at: Date) {
  return and(
    eq(grants.requesterId, staffId),
    eq(grants.userId, userId),
    eq(grants.status, 'approved'),
    lte(grants.startsAt, at),
    gt(grants.endsAt, at),
  );
}

const liveColumns = {
  grantId: grants.id,
  categories: grants.categories,
  startsAt: grants.startsAt,
  endsAt: grants.endsAt,
  breakGlass: grants.breakGlass,
  reasonCode: grants.reasonCode,
};

/**
 * The live grant covering this scope now, or null. An approved grant wins over break-glass.
 * A prepared statement (the driver's tagged template, not the query builder): it runs on every
 * request for personal data.
 */
export async function findLiveGrant(scope: GrantScope): Promise<LiveGrant | null> {
  if (!UUID.test(scope.staffId) || !UUID.test(scope.userId)) return null;
  if (!(DATA_CATEGORIES as readonly string[]).includes(scope.category)) return null;
  const at = now().toISOString();
  const [row] = await getSql()<
    {
      id: string;
      categories: DataCategory[];
      starts_at: string | Date;
      ends_at: string | Date;
      break_glass: boolean;
      reason_code: ReasonCode;
    }[]
  >`
    select g.id, g.categories, g.starts_at, g.ends_at, g.break_glass, g.reason_code
      from console.grants g
     where g.requester_id = ${scope.staffId} and g.user_id = ${scope.userId}
       and g.status = 'approved' and g.starts_at <= ${at} and g.ends_at > ${at}
       and ${scope.category}::text = any(g.categories)
     order by g.break_glass, g.ends_at desc
     limit 1`;
  if (!row) return null;
  return {
    grantId: row.id,
    categories: row.categories,
    startsAt: new Date(row.starts_at),
    endsAt: new Date(row.ends_at),
    breakGlass: row.break_glass,
    reasonCode: row.reason_code,
  };
}

/** The live grant covering this scope, or a GrantRequiredError saying what is missing. */
export async function requireLiveGrant(scope: GrantScope): Promise<LiveGrant> {
  const live = await findLiveGrant(scope);
  if (live) return live;
  throw await whyNoLiveGrant(scope, getDb());
}

async function whyNoLiveGrant(scope: GrantScope, tx: Db | Tx): Promise<GrantRequiredError> {
  const none = () => new GrantRequiredError(scope.staffId, scope.userId, scope.category, 'none');
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
  return new GrantRequiredError(
    scope.staffId,
    scope.userId,
    scope.category,
    missing,
    missing === 'none' ? null : latest.id,
    when,
  );
}

/** For a user's overview: per category, the live grant this staff member holds now (and its end). */
export async function liveGrantsFor(input: {
  staffId: string;
  userId: string;
}): Promise<Partial<Record<DataCategory, LiveGrant>>> {
  if (!UUID.test(input.staffId) || !UUID.test(input.userId)) return {};
  const rows = (await getDb()
    .select(liveColumns)
    .from(grants)
    .where(liveWhere(input.staffId, input.userId, now()))
    .orderBy(grants.breakGlass, desc(grants.endsAt))) as LiveGrant[];
  const out: Partial<Record<DataCategory, LiveGrant>> = {};
  for (const row of rows) {
    for (const category of row.categories) out[category] ??= row;
  }
  return out;
}

export interface LayoutState {
  breakGlass: (LiveGrant & { userId: string })[];
  unread: number;
}

/**
 * What the layout shows on every page, in one prepared statement: the staff member's live
 * break-glass grants (the console shows a banner while one lasts) and their unread notifications.
 */
export async function layoutStateOf(staffId: string): Promise<LayoutState> {
  if (!UUID.test(staffId)) return { breakGlass: [], unread: 0 };
  const at = now().toISOString();
  const [row] = await getSql()<
    {
      unread: number;
      break_glass: {
        id: string;
        user_id: string;
        categories: DataCategory[];
        starts_at: string;
        ends_at: string;
        reason_code: ReasonCode;
      }[];
    }[]
  >`
    select (select count(*)::int from console.notifications n
             where n.recipient_id = ${staffId} and n.read_at is null) as unread,
           coalesce((select json_agg(json_build_object(
                               'id', g.id, 'user_id', g.user_id, 'categories', g.categories,
                               'starts_at', g.starts_at, 'ends_at', g.ends_at,
                               'reason_code', g.reason_code) order by g.ends_at)
                       from console.grants g
                      where g.requester_id = ${staffId} and g.break_glass
                        and g.status = 'approved' and g.starts_at <= ${at} and g.ends_at > ${at}),
                    '[]') as break_glass`;
  return {
    unread: row?.unread ?? 0,
    breakGlass: (row?.break_glass ?? []).map((g) => ({
      grantId: g.id,
      userId: g.user_id,
      categories: g.categories,
      startsAt: new Date(g.starts_at),
      endsAt: new Date(g.ends_at),
      breakGlass: true,
      reasonCode: g.reason_code,
    })),
  };
}
