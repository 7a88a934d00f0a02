import { and, desc, eq, sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { authEvents, staff } from '#app/db/schema.ts';

/** The staff member's own recent sign-in activity, for the home page. */
export async function recentSignIns(staffId: string, limit = 5) {
  return getDb()
    .select({
      occurredAt: authEvents.occurredAt,
      action: authEvents.action,
      outcome: authEvents.outcome,
      clientAddress: sql<string | null>`host(${authEvents.clientAddress})`,
    })
    .from(authEvents)
    .where(
      and(
        eq(authEvents.targetStaffId, staffId),
        sql`${authEvents.action} in ('auth.sign_in', 'auth.lock')`,
      ),
    )
    .orderBy(desc(authEvents.occurredAt))
    .limit(limit);
}

export async function staffCounts() {
  const [row] = await getDb()
    .select({
      active: sql<number>`count(*) filter (where ${staff.status} = 'active')::int`,
      disabled: sql<number>`count(*) filter (where ${staff.status} = 'disabled')::int`,
      mustChange: sql<number>`count(*) filter (where ${staff.mustChangePassword})::int`,
    })
    .from(staff);
  return row ?? { active: 0, disabled: 0, mustChange: 0 };
}
