import { and, asc, desc, eq, gt, gte, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { getDb } from '#app/db/client.server.ts';
import { grantDecisions, grants } from '#app/db/schema.ts';
import { staffName } from '#app/modules/staff-names.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { DATA_CATEGORIES, REASON_CODES, type DataCategory } from '#app/modules/vocabulary.ts';
import { decodeCursor, encodeCursor } from '#app/utils/cursor.server.ts';
import { parseInput } from './run.server.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import { textArray } from '#app/db/arrays.server.ts';
import { UUID } from './sql.server.ts';
import {
  GRANT_STATES,
  type Decision,
  type GrantState,
  type GrantStatus,
  type RevokeBasis,
} from './vocabulary.ts';

// The grant queues of /grants: my requests, waiting for my decision, active, history. Keyset
// paging on (time, id); the cursor is opaque to the page and checked when it comes back.

export const GRANT_VIEWS = ['mine', 'to_decide', 'active', 'history'] as const;
export type GrantView = (typeof GRANT_VIEWS)[number];

/** Staff who see every grant in the active and history queues, not only their own. */
const OVERSEERS = ['grants:revoke_any', 'security:review', 'audit:read'] as const;

export const GrantFiltersSchema = z.object({
  state: z.enum(GRANT_STATES, 'Not a grant state').optional(),
  userId: z.uuid('Not a user id').optional(),
  requesterId: z.uuid('Not a staff id').optional(),
  category: z.enum(DATA_CATEGORIES, 'Not a data category').optional(),
  reasonCode: z.enum(REASON_CODES, 'Not a reason').optional(),
  breakGlass: z.boolean().optional(),
  /** Break-glass uses nobody has reviewed yet. */
  unreviewed: z.boolean().optional(),
  from: z.coerce.date('Not a date').optional(),
  to: z.coerce.date('Not a date').optional(),
});
export type GrantFilters = z.input<typeof GrantFiltersSchema>;

// [sort time, id] of the page's last grant.
const GrantCursorSchema = z
  .tuple([z.iso.datetime(), z.uuid()])
  .transform(([t, id]) => ({ t: new Date(t), id }));

/** A grant's state at `at` (SQL), matching grantState(). */
function stateSql(at: string): SQL<GrantState> {
  return sql<GrantState>`case
    when ${grants.status} = 'pending' and ${grants.requestExpiresAt} <= ${at} then 'expired'
    when ${grants.status} = 'approved' and ${grants.endsAt} <= ${at} then 'expired'
    when ${grants.status} = 'approved' and ${grants.startsAt} > ${at} then 'scheduled'
    when ${grants.status} = 'approved' then 'active'
    else ${grants.status} end`;
}

/** A grant's state at `at`: its stored status read against the clock. */
export function grantState(
  g: {
    status: string;
    requestExpiresAt: Date;
    startsAt: Date | null;
    endsAt: Date | null;
  },
  at: Date,
): GrantState {
  const t = at.getTime();
  if (g.status === 'pending') return g.requestExpiresAt.getTime() <= t ? 'expired' : 'pending';
  if (g.status === 'approved') {
    if (!g.endsAt || g.endsAt.getTime() <= t) return 'expired';
    if (g.startsAt && g.startsAt.getTime() > t) return 'scheduled';
    return 'active';
  }
  return g.status as GrantState;
}

const rowColumns = (at: string) => ({
  id: grants.id,
  requesterId: grants.requesterId,
  requesterName: staffName(grants.requesterId),
  userId: grants.userId,
  categories: sql<DataCategory[]>`${grants.categories}`,
  reasonCode: grants.reasonCode,
  justification: grants.justification,
  ticketRef: grants.ticketRef,
  durationMinutes: grants.durationMinutes,
  requestedStartAt: grants.requestedStartAt,
  status: sql<GrantStatus>`${grants.status}`,
  state: stateSql(at),
  createdAt: grants.createdAt,
  requestExpiresAt: grants.requestExpiresAt,
  decidedAt: grants.decidedAt,
  startsAt: grants.startsAt,
  endsAt: grants.endsAt,
  revokedAt: grants.revokedAt,
  breakGlass: grants.breakGlass,
  reviewedAt: grants.reviewedAt,
  approvalsNeeded: grants.approvalsNeeded,
  approvals: sql<number>`(select count(*)::int from console.grant_decisions d
    where d.grant_id = ${grants.id} and d.decision = 'approve')`,
});

export type GrantRow = Awaited<ReturnType<typeof listGrants>>['rows'][number];

function involved(me: StaffActor): SQL {
  return sql`(${grants.requesterId} = ${me.staffId} or exists (
    select 1 from console.grant_decisions d where d.grant_id = ${grants.id} and d.approver_id = ${me.staffId}))`;
}

function oversees(me: StaffActor) {
  return OVERSEERS.some((p) => me.permissions.has(p));
}

/**
 * Pending, undecided by me, not mine, and I hold every permission its policies ask (as requested
 * and as now); a grant bound to a privacy request asks only what it was requested with (ADR 027).
 */
function decidableBy(me: StaffActor, at: string): SQL {
  const mine = textArray([...me.permissions]);
  return sql`${grants.status} = 'pending' and ${grants.requestExpiresAt} > ${at}
    and ${grants.requesterId} <> ${me.staffId}
    and ${grants.approverPermissions} <@ ${mine}
    and (${grants.privacyRequestId} is not null
         or not exists (select 1 from console.grant_policies p
                        where p.category = any(${grants.categories})
                          and not (p.approver_permission = any(${mine}))))
    and not exists (select 1 from console.grant_decisions d
                    where d.grant_id = ${grants.id} and d.approver_id = ${me.staffId})`;
}

type SortColumn = typeof grants.createdAt | typeof grants.endsAt;

/** What a grant queue holds for this staff member, and its order. */
function queueOf(
  view: GrantView,
  me: StaffActor,
  filters: z.output<typeof GrantFiltersSchema>,
  at: string,
) {
  const where: (SQL | undefined)[] = [];
  let sortColumn: SortColumn = grants.createdAt;
  let direction: 'asc' | 'desc' = 'desc';
  switch (view) {
    case 'mine':
      where.push(eq(grants.requesterId, me.staffId));
      break;
    case 'to_decide':
      where.push(decidableBy(me, at));
      direction = 'asc';
      break;
    case 'active':
      where.push(
        sql`${grants.status} = 'approved' and ${grants.startsAt} <= ${at} and ${grants.endsAt} > ${at}`,
      );
      if (!oversees(me)) where.push(involved(me));
      sortColumn = grants.endsAt;
      direction = 'asc';
      break;
    case 'history':
      if (!oversees(me)) where.push(involved(me));
      break;
  }
  if (filters.state) where.push(sql`${stateSql(at)} = ${filters.state}`);
  if (filters.userId) where.push(eq(grants.userId, filters.userId));
  if (filters.requesterId) where.push(eq(grants.requesterId, filters.requesterId));
  if (filters.category) where.push(sql`${filters.category} = any(${grants.categories})`);
  if (filters.reasonCode) where.push(eq(grants.reasonCode, filters.reasonCode));
  if (filters.breakGlass !== undefined) where.push(eq(grants.breakGlass, filters.breakGlass));
  if (filters.unreviewed) {
    where.push(sql`${grants.breakGlass} and ${grants.reviewedAt} is null`);
  }
  if (filters.from) where.push(gte(grants.createdAt, filters.from));
  if (filters.to) where.push(lt(grants.createdAt, filters.to));
  return { where, sortColumn, direction };
}

/** Counting stops here: a tab or a card says "1,000+" rather than count a long history. */
export const COUNT_CAP = 1_000;

/** How many grants a queue holds for this staff member, up to COUNT_CAP (then COUNT_CAP). */
export async function countGrants(input: {
  view: GrantView;
  staff: StaffActor;
  filters?: GrantFilters;
}): Promise<number> {
  const view = parseInput(z.enum(GRANT_VIEWS, 'Not a grant queue'), input.view);
  const filters = parseInput(GrantFiltersSchema, input.filters ?? {});
  const { where } = queueOf(view, input.staff, filters, now().toISOString());
  const capped = getDb()
    .select({ one: sql`1` })
    .from(grants)
    .where(and(...where))
    .limit(COUNT_CAP)
    .as('capped');
  const [row] = await getDb()
    .select({ n: sql<number>`count(*)::int` })
    .from(capped);
  return row?.n ?? 0;
}

/** One page of a grant queue, for this staff member. */
export async function listGrants(input: {
  view: GrantView;
  staff: StaffActor;
  filters?: GrantFilters;
  cursor?: string | null;
  limit?: number;
}) {
  const view = parseInput(z.enum(GRANT_VIEWS, 'Not a grant queue'), input.view);
  const filters = parseInput(GrantFiltersSchema, input.filters ?? {});
  const limit = Math.min(Math.max(input.limit ?? 25, 1), 100);
  const me = input.staff;
  const at = now().toISOString();
  const { where, sortColumn, direction } = queueOf(view, me, filters, at);
  if (input.cursor) {
    const after = decodeCursor(GrantCursorSchema, input.cursor, 'cursor')!;
    const cmp = direction === 'asc' ? gt : lt;
    where.push(
      or(cmp(sortColumn, after.t), and(eq(sortColumn, after.t), cmp(grants.id, after.id))),
    );
  }
  const order = direction === 'asc' ? asc : desc;
  const rows = await getDb()
    .select(rowColumns(at))
    .from(grants)
    .where(and(...where))
    .orderBy(order(sortColumn), order(grants.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const lastT = last ? (sortColumn === grants.endsAt ? last.endsAt : last.createdAt) : null;
  return {
    rows: page,
    next:
      rows.length > limit && last && lastT
        ? encodeCursor([lastT.toISOString(), last.id])
        : undefined,
  };
}

export interface GrantDetail {
  grant: GrantRow & {
    revokedBy: string | null;
    revokeBasis: RevokeBasis | null;
    reviewedBy: string | null;
    reviewComment: string | null;
    approverPermissions: string[];
  };
  decisions: {
    approverId: string;
    approverName: string;
    decision: Decision;
    comment: string | null;
    decidedAt: Date;
  }[];
  /** What the viewer may do with it now (the functions check again when asked). */
  can: { decide: boolean; revoke: boolean; cancel: boolean; review: boolean };
}

/** One grant with its decisions, if the viewer may see it (involved, a possible approver, or an overseer). */
export async function getGrant(input: {
  grantId: string;
  viewer: StaffActor;
}): Promise<GrantDetail | null> {
  const { grantId } = parseInput(z.object({ grantId: z.uuid('Not a grant id') }), input);
  const me = input.viewer;
  const at = now().toISOString();
  const [row] = await getDb()
    .select({
      ...rowColumns(at),
      revokedBy: grants.revokedBy,
      revokeBasis: sql<RevokeBasis | null>`${grants.revokeBasis}`,
      reviewedBy: grants.reviewedBy,
      reviewComment: grants.reviewComment,
      approverPermissions: grants.approverPermissions,
      decidable: sql<boolean>`(${decidableBy(me, at)})`,
    })
    .from(grants)
    .where(eq(grants.id, grantId));
  if (!row) return null;
  const decisions = await getDb()
    .select({
      approverId: grantDecisions.approverId,
      approverName: staffName(grantDecisions.approverId),
      decision: sql<Decision>`${grantDecisions.decision}`,
      comment: grantDecisions.comment,
      decidedAt: grantDecisions.decidedAt,
    })
    .from(grantDecisions)
    .where(eq(grantDecisions.grantId, grantId))
    .orderBy(grantDecisions.decidedAt);
  const mine = row.requesterId === me.staffId;
  const approvedIt = decisions.some((d) => d.approverId === me.staffId && d.decision === 'approve');
  const decided = decisions.some((d) => d.approverId === me.staffId);
  const { decidable, ...grant } = row;
  if (!mine && !decided && !decidable && !oversees(me)) return null;
  const live = grant.state === 'active' || grant.state === 'scheduled';
  return {
    grant,
    decisions,
    can: {
      decide: decidable,
      revoke: live && (mine || approvedIt || me.permissions.has('grants:revoke_any')),
      cancel: mine && grant.state === 'pending',
      review:
        grant.breakGlass && !grant.reviewedAt && !mine && me.permissions.has('security:review'),
    },
  };
}

/** The reason code, ticket and break-glass flag of each grant (for "why" in an access history). */
export async function grantReasons(ids: readonly string[]) {
  const unique = [...new Set(ids)].filter((id) => UUID.test(id));
  if (unique.length === 0) {
    return new Map<string, { reasonCode: string; ticketRef: string | null; breakGlass: boolean }>();
  }
  const rows = await getDb()
    .select({
      id: grants.id,
      reasonCode: grants.reasonCode,
      ticketRef: grants.ticketRef,
      breakGlass: grants.breakGlass,
    })
    .from(grants)
    .where(inArray(grants.id, unique));
  return new Map(
    rows.map((r) => [
      r.id,
      { reasonCode: r.reasonCode, ticketRef: r.ticketRef, breakGlass: r.breakGlass },
    ]),
  );
}

/**
 * A short token that changes whenever what the grant page shows of this grant changes (its state,
 * a decision, a revocation, a review), or null when the viewer may not see it: the page polls it
 * and reloads only on a change.
 */
export async function grantPulse(input: {
  grantId: string;
  viewer: StaffActor;
}): Promise<string | null> {
  const detail = await getGrant(input);
  if (!detail) return null;
  const g = detail.grant;
  return [
    g.state,
    g.approvals,
    detail.decisions.length,
    g.revokedAt?.toISOString() ?? '',
    g.reviewedAt?.toISOString() ?? '',
  ].join('|');
}
