import { sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { personalDataViews } from '#app/modules/audit/fragments.server.ts';
import { staffName } from '#app/modules/staff-names.server.ts';
import { now } from '#app/modules/clock.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { grantState } from './list.server.ts';
import type { GrantState, OutsideReason, RevokeBasis } from './vocabulary.ts';

// What the security review (/security/access) asks of grants over a period: who was granted what,
// which views of personal data fall outside the grant they name (law 2 says none should), who
// revoked what, and every grant for the CSV download. Reads only. Names come from auth's fragment
// and views from the trail's, so this module reads only its own tables.

export interface Period {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

// NOTE: the app's postgres client hands timestamps back as strings when drizzle has set its
// parsers, and as Date otherwise; raw queries take both.
function toDate(value: Date | string): Date;
function toDate(value: Date | string | null): Date | null;
function toDate(value: Date | string | null): Date | null {
  if (value === null) return null;
  return value instanceof Date ? value : new Date(value);
}

export interface StaffGrantSummary {
  staffId: string;
  staffName: string;
  requests: number;
  approved: number;
  denied: number;
  pending: number;
  revoked: number;
  breakGlass: number;
  distinctUsers: number;
  sensitive: number;
  lastRequestAt: Date;
}

/**
 * Per requester, what they asked for in the period: one page, keyset-ordered by (name, id) after
 * `cursor`, and whether more follow.
 */
export async function grantsPerStaff(
  period: Period,
  page: { cursor?: { n: string; id: string }; limit?: number } = {},
): Promise<{ rows: StaffGrantSummary[]; more: boolean }> {
  const limit = Math.min(Math.max(page.limit ?? 25, 1), 100);
  const at = now().toISOString();
  const after = page.cursor
    ? sql`where (per.staff_name, per.staff_id) > (${page.cursor.n}, ${page.cursor.id}::uuid)`
    : sql``;
  const rows = await getDb().execute<{
    staff_id: string;
    staff_name: string;
    requests: number;
    approved: number;
    denied: number;
    pending: number;
    revoked: number;
    break_glass: number;
    distinct_users: number;
    sensitive: number;
    last_request_at: Date | string;
  }>(sql`
    select * from (
    select g.requester_id as staff_id, ${staffName(sql`g.requester_id`)} as staff_name,
           count(*)::int as requests,
           count(*) filter (where not g.break_glass and g.starts_at is not null)::int as approved,
           count(*) filter (where g.status = 'denied')::int as denied,
           count(*) filter (where g.status = 'pending' and g.request_expires_at > ${at})::int
             as pending,
           count(*) filter (where g.status = 'revoked')::int as revoked,
           count(*) filter (where g.break_glass)::int as break_glass,
           count(distinct g.user_id)::int as distinct_users,
           count(*) filter (where g.categories && array['conversations', 'payments']::text[])::int
             as sensitive,
           max(g.created_at) as last_request_at
    from console.grants g
    where g.created_at >= ${period.from.toISOString()} and g.created_at < ${period.to.toISOString()}
    group by g.requester_id) per
    ${after}
    order by per.staff_name, per.staff_id
    limit ${limit + 1}`);
  const list = [...rows].slice(0, limit).map((r): StaffGrantSummary => ({
    staffId: r.staff_id,
    staffName: r.staff_name,
    requests: r.requests,
    approved: r.approved,
    denied: r.denied,
    pending: r.pending,
    revoked: r.revoked,
    breakGlass: r.break_glass,
    distinctUsers: r.distinct_users,
    sensitive: r.sensitive,
    lastRequestAt: toDate(r.last_request_at),
  }));
  return { rows: list, more: rows.length > limit };
}

// --- break-glass uses waiting for review (whatever the period) ----------------------------------

export interface UnreviewedBreakGlass {
  grantId: string;
  staffId: string;
  staffName: string;
  userId: string;
  categories: DataCategory[];
  startsAt: Date;
  endsAt: Date;
  state: GrantState;
}

export async function unreviewedBreakGlass(limit = 100): Promise<UnreviewedBreakGlass[]> {
  const at = now();
  const rows = await getDb().execute<{
    id: string;
    requester_id: string;
    display_name: string;
    user_id: string;
    categories: DataCategory[];
    status: string;
    request_expires_at: Date | string;
    starts_at: Date | string;
    ends_at: Date | string;
  }>(sql`
    select g.id, g.requester_id, ${staffName(sql`g.requester_id`)} as display_name, g.user_id,
           g.categories, g.status, g.request_expires_at, g.starts_at, g.ends_at
    from console.grants g
    where g.break_glass and g.reviewed_at is null
    order by g.created_at, g.id
    limit ${limit}`);
  return [...rows].map((r) => {
    const startsAt = toDate(r.starts_at);
    const endsAt = toDate(r.ends_at);
    return {
      grantId: r.id,
      staffId: r.requester_id,
      staffName: r.display_name,
      userId: r.user_id,
      categories: r.categories,
      startsAt,
      endsAt,
      state: grantState(
        { status: r.status, requestExpiresAt: toDate(r.request_expires_at), startsAt, endsAt },
        at,
      ),
    };
  });
}

// --- views of personal data outside the grant they name -----------------------------------------

export interface ViewOutsideGrant {
  seq: number;
  occurredAt: Date;
  action: string;
  actorStaffId: string | null;
  actorName: string | null;
  userId: string | null;
  grantId: string | null;
  category: string | null;
  reason: OutsideReason;
}

/**
 * Views and reveals (user.view, user.reveal) in the period whose grant does not cover them: no
 * grant, another holder or user, a category outside it, or a time outside [starts_at, ends_at)
 * or after revoked_at. Law 2 says this list is empty; the count is of every such entry.
 */
export async function viewsOutsideGrants(
  period: Period,
  limit = 100,
): Promise<{ count: number; rows: ViewOutsideGrant[] }> {
  const rows = await getDb().execute<{
    seq: string | number;
    occurred_at: Date | string;
    action: string;
    actor_staff_id: string | null;
    actor_name: string | null;
    user_id: string | null;
    grant_id: string | null;
    category: string | null;
    reason: OutsideReason;
    total: string | number;
  }>(sql`
    with checked as (
      select e.seq, e.occurred_at, e.action, e.actor_staff_id, e.user_id, e.grant_id, e.category,
             case
               when g.id is null then 'no_grant'
               when g.requester_id is distinct from e.actor_staff_id then 'other_staff'
               when g.user_id is distinct from e.user_id then 'other_user'
               when not coalesce(e.category = any(g.categories), false)
                 then 'category'
               when g.starts_at is null or g.ends_at is null then 'not_started'
               when e.occurred_at < g.starts_at then 'before_start'
               when e.occurred_at >= g.ends_at then 'after_end'
               when g.revoked_at is not null and e.occurred_at >= g.revoked_at
                 then 'after_revocation'
             end as reason
      from ${personalDataViews(period)} e
      left join console.grants g on g.id = e.grant_id
    ), outside as (
      select c.*, count(*) over () as total from checked c where c.reason is not null
      order by c.seq desc
      limit ${limit}
    )
    select o.*, ${staffName(sql`o.actor_staff_id`)} as actor_name
    from outside o
    order by o.seq desc`);
  const list = [...rows];
  return {
    count: list.length ? Number(list[0]!.total) : 0,
    rows: list.map((r) => ({
      seq: Number(r.seq),
      occurredAt: toDate(r.occurred_at),
      action: r.action,
      actorStaffId: r.actor_staff_id,
      actorName: r.actor_name,
      userId: r.user_id,
      grantId: r.grant_id,
      category: r.category,
      reason: r.reason,
    })),
  };
}

// --- revocations in the period -------------------------------------------------------------------

export interface Revocation {
  grantId: string;
  revokedAt: Date;
  basis: RevokeBasis | null;
  revokedById: string | null;
  revokedByName: string | null;
  staffId: string;
  staffName: string;
  userId: string;
  categories: DataCategory[];
  breakGlass: boolean;
}

export async function revocations(period: Period, limit = 100): Promise<Revocation[]> {
  const rows = await getDb().execute<{
    id: string;
    revoked_at: Date | string;
    revoke_basis: RevokeBasis | null;
    revoked_by: string | null;
    revoked_by_name: string | null;
    requester_id: string;
    requester_name: string;
    user_id: string;
    categories: DataCategory[];
    break_glass: boolean;
  }>(sql`
    select g.id, g.revoked_at, g.revoke_basis, g.revoked_by,
           ${staffName(sql`g.revoked_by`)} as revoked_by_name, g.requester_id,
           ${staffName(sql`g.requester_id`)} as requester_name, g.user_id, g.categories,
           g.break_glass
    from console.grants g
    where g.revoked_at >= ${period.from.toISOString()} and g.revoked_at < ${period.to.toISOString()}
    order by g.revoked_at desc, g.id desc
    limit ${limit}`);
  return [...rows].map((r) => ({
    grantId: r.id,
    revokedAt: toDate(r.revoked_at),
    basis: r.revoke_basis,
    revokedById: r.revoked_by,
    revokedByName: r.revoked_by_name,
    staffId: r.requester_id,
    staffName: r.requester_name,
    userId: r.user_id,
    categories: r.categories,
    breakGlass: r.break_glass,
  }));
}

// --- the CSV download: every grant requested in the period ---------------------------------------

export interface GrantExportRow {
  grantId: string;
  createdAt: Date;
  staffId: string;
  staffName: string;
  userId: string;
  categories: DataCategory[];
  reasonCode: string;
  justification: string;
  ticketRef: string | null;
  durationMinutes: number;
  state: GrantState;
  approvers: string | null;
  startsAt: Date | null;
  endsAt: Date | null;
  revokedAt: Date | null;
  revokeBasis: string | null;
  revokedByName: string | null;
  breakGlass: boolean;
  reviewedAt: Date | null;
  reviewedByName: string | null;
}

/** The grants requested in the period, oldest first, at most `max` (and whether there were more). */
export async function grantsForExport(
  period: Period,
  max: number,
): Promise<{ rows: GrantExportRow[]; truncated: boolean }> {
  const at = now();
  const rows = await getDb().execute<{
    id: string;
    created_at: Date | string;
    requester_id: string;
    requester_name: string;
    user_id: string;
    categories: DataCategory[];
    reason_code: string;
    justification: string;
    ticket_ref: string | null;
    duration_minutes: number;
    status: string;
    request_expires_at: Date | string;
    starts_at: Date | string | null;
    ends_at: Date | string | null;
    revoked_at: Date | string | null;
    revoke_basis: string | null;
    revoked_by_name: string | null;
    break_glass: boolean;
    reviewed_at: Date | string | null;
    reviewed_by_name: string | null;
    approvers: string | null;
  }>(sql`
    select g.id, g.created_at, g.requester_id, ${staffName(sql`g.requester_id`)} as requester_name,
           g.user_id,
           g.categories, g.reason_code, g.justification, g.ticket_ref, g.duration_minutes,
           g.status, g.request_expires_at, g.starts_at, g.ends_at, g.revoked_at, g.revoke_basis,
           ${staffName(sql`g.revoked_by`)} as revoked_by_name, g.break_glass, g.reviewed_at,
           ${staffName(sql`g.reviewed_by`)} as reviewed_by_name,
           (select string_agg(${staffName(sql`d.approver_id`)} || ' (' || d.decision || ')', '; '
                              order by d.decided_at)
            from console.grant_decisions d
            where d.grant_id = g.id) as approvers
    from console.grants g
    where g.created_at >= ${period.from.toISOString()} and g.created_at < ${period.to.toISOString()}
    order by g.created_at, g.id
    limit ${max + 1}`);
  const list = [...rows];
  return {
    truncated: list.length > max,
    rows: list.slice(0, max).map((r) => {
      const startsAt = toDate(r.starts_at);
      const endsAt = toDate(r.ends_at);
      return {
        grantId: r.id,
        createdAt: toDate(r.created_at),
        staffId: r.requester_id,
        staffName: r.requester_name,
        userId: r.user_id,
        categories: r.categories,
        reasonCode: r.reason_code,
        justification: r.justification,
        ticketRef: r.ticket_ref,
        durationMinutes: r.duration_minutes,
        state: grantState(
          { status: r.status, requestExpiresAt: toDate(r.request_expires_at), startsAt, endsAt },
          at,
        ),
        approvers: r.approvers,
        startsAt,
        endsAt,
        revokedAt: toDate(r.revoked_at),
        revokeBasis: r.revoke_basis,
        revokedByName: r.revoked_by_name,
        breakGlass: r.break_glass,
        reviewedAt: toDate(r.reviewed_at),
        reviewedByName: r.reviewed_by_name,
      };
    }),
  };
}
