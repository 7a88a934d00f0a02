import { sql } from 'drizzle-orm';
import { parseParams } from '#app/utils/forms.server.ts';
import { z } from 'zod';
import { getDb } from '#app/db/client.server.ts';
import { grantState } from '#app/modules/access/list.server.ts';
import type { GrantState, RevokeBasis } from '#app/modules/access/vocabulary.ts';
import { now } from '#app/modules/clock.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { decodeCursor, encodeCursor } from '#app/utils/cursor.server.ts';
import { InputError } from '#app/utils/errors.ts';
import { dayAfter, type OutsideReason } from './review.ts';

// The security review of staff access (/security/access): who was granted what over a period,
// which views of personal data fall outside the grant they name (law 2 says none should), and who
// revoked what. Reads only; the page and its CSV download audit themselves.

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

// --- grants per staff member, keyset-paged on (name, id) -----------------------------------------

// [display name, id] of the page's last staff member.
const StaffCursorSchema = z
  .tuple([z.string().max(400), z.uuid()])
  .transform(([n, id]) => ({ n, id }));

export function encodeStaffCursor(row: { staffName: string; staffId: string }) {
  return encodeCursor([row.staffName, row.staffId]);
}

/** The cursor from the address, or a 400 naming `after`. */
export function decodeStaffCursor(raw: string | null | undefined) {
  return decodeCursor(StaffCursorSchema, raw);
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

/** Per requester, what they asked for in the period: one page, by name. */
export async function grantsPerStaff(
  period: Period,
  page: { cursor?: { n: string; id: string }; limit?: number } = {},
): Promise<{ rows: StaffGrantSummary[]; next: string | null }> {
  const limit = Math.min(Math.max(page.limit ?? 25, 1), 100);
  const at = now().toISOString();
  const after = page.cursor
    ? sql`and (s.display_name, s.id) > (${page.cursor.n}, ${page.cursor.id}::uuid)`
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
    select s.id as staff_id, s.display_name as staff_name,
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
    join console.staff s on s.id = g.requester_id
    where g.created_at >= ${period.from.toISOString()} and g.created_at < ${period.to.toISOString()}
      ${after}
    group by s.id, s.display_name
    order by s.display_name, s.id
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
  const last = list[list.length - 1];
  return { rows: list, next: rows.length > limit && last ? encodeStaffCursor(last) : null };
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
    select g.id, g.requester_id, s.display_name, g.user_id, g.categories, g.status,
           g.request_expires_at, g.starts_at, g.ends_at
    from console.grants g join console.staff s on s.id = g.requester_id
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
      select e.seq, e.occurred_at, e.action, e.actor_staff_id, e.user_id, e.grant_id,
             b.doc #>> '{details,category}' as category,
             case
               when g.id is null then 'no_grant'
               when g.requester_id is distinct from e.actor_staff_id then 'other_staff'
               when g.user_id is distinct from e.user_id then 'other_user'
               when not coalesce((b.doc #>> '{details,category}') = any(g.categories), false)
                 then 'category'
               when g.starts_at is null or g.ends_at is null then 'not_started'
               when e.occurred_at < g.starts_at then 'before_start'
               when e.occurred_at >= g.ends_at then 'after_end'
               when g.revoked_at is not null and e.occurred_at >= g.revoked_at
                 then 'after_revocation'
             end as reason
      from console.audit_entries e
      cross join lateral (select e.body::jsonb as doc) b
      left join console.grants g on g.id = e.grant_id
      where e.action in ('user.view', 'user.reveal') and e.outcome = 'allowed'
        and e.occurred_at >= ${period.from.toISOString()}
        and e.occurred_at < ${period.to.toISOString()}
    )
    select c.*, a.display_name as actor_name, count(*) over () as total
    from checked c left join console.staff a on a.id = c.actor_staff_id
    where c.reason is not null
    order by c.seq desc
    limit ${limit}`);
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
    select g.id, g.revoked_at, g.revoke_basis, g.revoked_by, rb.display_name as revoked_by_name,
           g.requester_id, r.display_name as requester_name, g.user_id, g.categories, g.break_glass
    from console.grants g
    join console.staff r on r.id = g.requester_id
    left join console.staff rb on rb.id = g.revoked_by
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
    select g.id, g.created_at, g.requester_id, r.display_name as requester_name, g.user_id,
           g.categories, g.reason_code, g.justification, g.ticket_ref, g.duration_minutes,
           g.status, g.request_expires_at, g.starts_at, g.ends_at, g.revoked_at, g.revoke_basis,
           rb.display_name as revoked_by_name, g.break_glass, g.reviewed_at,
           rv.display_name as reviewed_by_name,
           (select string_agg(s.display_name || ' (' || d.decision || ')', '; '
                              order by d.decided_at)
            from console.grant_decisions d join console.staff s on s.id = d.approver_id
            where d.grant_id = g.id) as approvers
    from console.grants g
    join console.staff r on r.id = g.requester_id
    left join console.staff rb on rb.id = g.revoked_by
    left join console.staff rv on rv.id = g.reviewed_by
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

// --- the period in the address -------------------------------------------------------------------

const DAY = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const day = (label: string) =>
  z
    .string()
    .regex(DATE, `${label} must be a date such as 2025-01-31`)
    .refine((v) => !Number.isNaN(new Date(`${v}T00:00:00Z`).getTime()), `${label} is not a date`);

export const PeriodQuerySchema = z
  .object({
    from: day('From').optional(),
    to: day('To').optional(),
    after: z.string().max(600, 'The page cursor is too long').optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, {
    path: ['to'],
    message: 'To must not be before from',
  });

/**
 * The review's period from `from` and `to` (UTC days, both included; the last 30 days by
 * default), or a 400 naming the parameter.
 */
export function parsePeriodQuery(params: URLSearchParams) {
  const raw = Object.fromEntries([...params].filter(([, v]) => v !== ''));
  const query = parseParams(PeriodQuerySchema, raw);
  const today = now().toISOString().slice(0, 10);
  const toDay = query.to ?? today;
  const fromDay =
    query.from ??
    new Date(new Date(`${toDay}T00:00:00Z`).getTime() - 29 * DAY).toISOString().slice(0, 10);
  if (fromDay > toDay) {
    throw new InputError('from', 'From must not be after to');
  }
  const period: Period = {
    from: new Date(`${fromDay}T00:00:00Z`),
    to: new Date(`${dayAfter(toDay)}T00:00:00Z`),
  };
  return { fromDay, toDay, period, after: query.after };
}
