import { desc, or, eq, sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { auditEntries, staff } from '#app/db/schema.ts';

/** A staff member's recent sign-ins and locks, from the audit trail. */
export async function recentSignIns(staffId: string, limit = 5) {
  const rows = await getDb()
    .select({
      occurredAt: auditEntries.occurredAt,
      action: auditEntries.action,
      outcome: auditEntries.outcome,
      body: auditEntries.body,
    })
    .from(auditEntries)
    .where(
      sql`${or(eq(auditEntries.subjectStaffId, staffId), eq(auditEntries.actorStaffId, staffId))} and ${auditEntries.action} in ('auth.sign_in', 'auth.lock')`,
    )
    .orderBy(desc(auditEntries.seq))
    .limit(limit);
  return rows.map(({ body, ...row }) => {
    const entry = JSON.parse(body) as { client?: { address?: string | null } };
    return { ...row, clientAddress: entry.client?.address ?? null };
  });
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
