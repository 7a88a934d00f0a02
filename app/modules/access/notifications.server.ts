import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, getSql, type Db, type Tx } from '#app/db/client.server.ts';
import { notifications } from '#app/db/schema.ts';
import type { Permission } from '#app/modules/auth/permissions.ts';
import { now } from '#app/modules/clock.server.ts';
import { decodeCursor, encodeCursor } from '#app/utils/cursor.server.ts';
import type { NotificationKind } from './vocabulary.ts';
import { UUID } from './sql.server.ts';
import { activeStaff } from '#app/modules/auth/permissions.server.ts';

// In-console notifications, written to an outbox in the transaction of the change they announce.
// `delivered_at` is left for a mailer; the console reads the rows directly.

export type Recipients =
  | { staffIds: readonly string[] }
  /** Active staff holding every one of these permissions, through any of their roles. */
  | { holdersOf: readonly Permission[]; except?: readonly string[] }
  /** Active staff holding at least one of these permissions (a role request's approvers). */
  | { holdersOfAny: readonly Permission[]; except?: readonly string[] };

export interface Notice {
  kind: NotificationKind;
  to: Recipients;
  grantId?: string | null;
  /** Whom an alert is about (the staff member over their lookup limit). */
  subjectStaffId?: string | null;
  /** Skip a recipient who already got this kind about this subject since then (one alert a day). */
  unlessSentSince?: Date;
}

/**
 * Queues a notification for each recipient; returns how many were queued. Pass the transaction
 * of the change it announces. For a lookup-limit alert:
 * `notify({ kind: 'lookup.limit', to: { holdersOf: ['security:review'], except: [staffId] },
 *   subjectStaffId: staffId, unlessSentSince: startOfDay }, tx)`.
 */
export async function notify(notice: Notice, tx: Db | Tx = getDb()): Promise<number> {
  const at = now().toISOString();
  const fresh: SQL = notice.unlessSentSince
    ? sql`and not exists (
        select 1 from console.notifications n
        where n.recipient_id = r.id and n.kind = ${notice.kind}
          and n.subject_staff_id is not distinct from ${notice.subjectStaffId ?? null}::uuid
          and n.grant_id is not distinct from ${notice.grantId ?? null}::uuid
          and n.created_at >= ${notice.unlessSentSince.toISOString()})`
    : sql``;
  const rows = await tx.execute(sql`
    insert into console.notifications (id, recipient_id, kind, grant_id, subject_staff_id, created_at)
    select gen_random_uuid(), r.id, ${notice.kind}, ${notice.grantId ?? null}::uuid,
           ${notice.subjectStaffId ?? null}::uuid, ${at}
    from ${activeStaff(notice.to)} r
    where true ${fresh}
    returning id`);
  return rows.length;
}

export interface NotificationRow {
  id: string;
  kind: NotificationKind;
  grantId: string | null;
  subjectStaffId: string | null;
  /** The audit entry an alert is about (an invalid entry). */
  auditSeq: number | null;
  createdAt: Date;
  readAt: Date | null;
}

// [created at, id] of the page's last notification. Their times come from the clock, in whole
// milliseconds, so a Date holds them exactly.
const NotificationCursorSchema = z
  .tuple([z.iso.datetime(), z.uuid()])
  .transform(([t, id]) => ({ createdAt: new Date(t), id }));

/** One page of a staff member's notifications, newest first; `cursor` is the previous `next`. */
export async function listNotifications(input: {
  staffId: string;
  unreadOnly?: boolean;
  cursor?: string;
  limit?: number;
}): Promise<{ rows: NotificationRow[]; next?: string }> {
  const limit = Math.min(Math.max(input.limit ?? 20, 1), 100);
  const filters: (SQL | undefined)[] = [eq(notifications.recipientId, input.staffId)];
  if (input.unreadOnly) filters.push(isNull(notifications.readAt));
  const after = decodeCursor(NotificationCursorSchema, input.cursor, 'cursor');
  if (after) {
    filters.push(
      or(
        lt(notifications.createdAt, after.createdAt),
        and(eq(notifications.createdAt, after.createdAt), lt(notifications.id, after.id)),
      ),
    );
  }
  const rows = await getDb()
    .select({
      id: notifications.id,
      kind: notifications.kind,
      grantId: notifications.grantId,
      subjectStaffId: notifications.subjectStaffId,
      auditSeq: notifications.auditSeq,
      createdAt: notifications.createdAt,
      readAt: notifications.readAt,
    })
    .from(notifications)
    .where(and(...filters))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit) as NotificationRow[];
  const last = page[page.length - 1];
  return {
    rows: page,
    next:
      rows.length > limit && last
        ? encodeCursor([last.createdAt.toISOString(), last.id])
        : undefined,
  };
}

export async function countUnread(staffId: string): Promise<number> {
  // The notifications page's count; the layout reads its own with the break-glass banner
  // (layoutStateOf).
  const [row] = await getSql()<{ n: number }[]>`
    select count(*)::int as n from console.notifications
     where recipient_id = ${staffId} and read_at is null`;
  return row?.n ?? 0;
}

/** Marks the given notifications (or all) of this staff member read; returns how many changed. */
export async function markNotificationsRead(input: {
  staffId: string;
  ids?: readonly string[];
}): Promise<number> {
  const ids = input.ids?.filter((id) => UUID.test(id));
  if (ids && ids.length === 0) return 0;
  const rows = await getDb()
    .update(notifications)
    .set({ readAt: now() })
    .where(
      and(
        eq(notifications.recipientId, input.staffId),
        isNull(notifications.readAt),
        ids ? inArray(notifications.id, ids) : undefined,
      ),
    )
    .returning({ id: notifications.id });
  return rows.length;
}

/**
 * What the console's header polls for (issue 13): the unread count and the newest notification's
 * time, so a page reloads its data only when something arrived or was read.
 */
export async function notificationPulse(
  staffId: string,
): Promise<{ unread: number; latest: string | null }> {
  if (!UUID.test(staffId)) return { unread: 0, latest: null };
  const [row] = await getSql()<{ unread: number; latest: Date | string | null }[]>`
    select count(*) filter (where read_at is null)::int as unread, max(created_at) as latest
      from console.notifications
     where recipient_id = ${staffId}`;
  const latest = row?.latest ?? null;
  return {
    unread: row?.unread ?? 0,
    latest: latest === null ? null : new Date(latest).toISOString(),
  };
}

/**
 * Security reviewers learn that a staff member's passkey answered with a signature counter it had
 * used before (a copied key, ADR 038): once an hour at most per account, never to the account
 * itself. The refusal itself is in the audit trail.
 */
export function alertSuspectedClone(staffId: string): Promise<number> {
  return notify({
    kind: 'staff.passkey_clone',
    to: { holdersOf: ['security:review'], except: [staffId] },
    subjectStaffId: staffId,
    unlessSentSince: new Date(now().getTime() - 60 * 60_000),
  });
}
