import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { grants } from '#app/db/schema.ts';
import { staffName, staffNames } from '#app/modules/staff-names.server.ts';
import type { DataCategory } from '#app/modules/vocabulary.ts';
import { listNotifications, type NotificationRow } from './notifications.server.ts';
import { UUID } from './sql.server.ts';

// What the grant pages show beside the domain's own answers (./list.server.ts): the grant or person
// a notification mentions (names through staff-names.server.ts), and the break-glass use a person still waits to have
// reviewed. Plain arguments in, the columns the pages show out.

/** When a grant was closed (withdrawn, denied, revoked, expired), which the queues do not carry. */
export async function grantClosedAt(grantId: string): Promise<Date | null> {
  if (!UUID.test(grantId)) return null;
  const [row] = await getDb()
    .select({ closedAt: grants.closedAt })
    .from(grants)
    .where(eq(grants.id, grantId));
  return row?.closedAt ?? null;
}

/** This person's break-glass use that no reviewer has reviewed yet (at most one: a unique index). */
export async function unreviewedBreakGlassOf(staffId: string) {
  if (!UUID.test(staffId)) return null;
  const [row] = await getDb()
    .select({ id: grants.id, userId: grants.userId, createdAt: grants.createdAt })
    .from(grants)
    .where(
      and(eq(grants.requesterId, staffId), eq(grants.breakGlass, true), isNull(grants.reviewedAt)),
    )
    .limit(1);
  return row ?? null;
}

export interface NotificationView extends NotificationRow {
  grant: {
    userId: string;
    categories: DataCategory[];
    requesterId: string;
    requesterName: string;
    breakGlass: boolean;
  } | null;
  subjectName: string | null;
}

/** One page of a staff member's notifications, each with the grant or person it is about. */
export async function notificationsPage(input: {
  staffId: string;
  cursor?: string;
  unreadOnly?: boolean;
  limit?: number;
}): Promise<{ rows: NotificationView[]; next?: string }> {
  const page = await listNotifications(input);
  const grantIds = [...new Set(page.rows.flatMap((r) => (r.grantId ? [r.grantId] : [])))];
  const about = grantIds.length
    ? await getDb()
        .select({
          id: grants.id,
          userId: grants.userId,
          categories: sql<DataCategory[]>`${grants.categories}`,
          requesterId: grants.requesterId,
          requesterName: staffName(grants.requesterId),
          breakGlass: grants.breakGlass,
        })
        .from(grants)
        .where(inArray(grants.id, grantIds))
    : [];
  const names = await staffNames(page.rows.map((r) => r.subjectStaffId));
  return {
    next: page.next,
    rows: page.rows.map((r) => {
      const g = about.find((a) => a.id === r.grantId);
      return {
        ...r,
        grant: g
          ? {
              userId: g.userId,
              categories: g.categories,
              requesterId: g.requesterId,
              requesterName: g.requesterName,
              breakGlass: g.breakGlass,
            }
          : null,
        subjectName: r.subjectStaffId ? (names[r.subjectStaffId] ?? null) : null,
      };
    }),
  };
}
