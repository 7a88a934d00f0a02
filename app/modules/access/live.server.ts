import { and, desc, eq, gt, lte, sql } from 'drizzle-orm';
import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
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

/** The live grant covering this scope now, or null. An approved grant wins over break-glass. */
export async function findLiveGrant(
  scope: GrantScope,
  tx: Db | Tx = getDb(),
): Promise<LiveGrant | null> {
  if (!UUID.test(scope.staffId) || !UUID.test(scope.userId)) return null;
  if (!(DATA_CATEGORIES as readonly string[]).includes(scope.category)) return null;
  const [row] = await tx
    .select(liveColumns)
    .from(grants)
    .where(
      and(
        liveWhere(scope.staffId, scope.userId, now()),
        sql`${scope.category} = any(${grants.categories})`,
      ),
    )
    .orderBy(grants.breakGlass, desc(grants.endsAt))
    .limit(1);
  return (row as LiveGrant | undefined) ?? null;
}

/** The live grant covering this scope, or a GrantRequiredError saying what is missing. */
export async function requireLiveGrant(
  scope: GrantScope,
  tx: Db | Tx = getDb(),
): Promise<LiveGrant> {
  const live = await findLiveGrant(scope, tx);
  if (live) return live;
  throw await whyNoLiveGrant(scope, tx);
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

/** A staff member's break-glass grants live now: the console shows a banner while one lasts. */
export async function liveBreakGlassOf(
  staffId: string,
): Promise<(LiveGrant & { userId: string })[]> {
  if (!UUID.test(staffId)) return [];
  const at = now();
  const rows = await getDb()
    .select({ ...liveColumns, userId: grants.userId })
    .from(grants)
    .where(
      and(
        eq(grants.requesterId, staffId),
        eq(grants.breakGlass, true),
        eq(grants.status, 'approved'),
        lte(grants.startsAt, at),
        gt(grants.endsAt, at),
      ),
    )
    .orderBy(grants.endsAt);
  return rows as (LiveGrant & { userId: string })[];
}
