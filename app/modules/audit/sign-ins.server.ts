import { desc, eq, or, sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { auditEntries } from '#app/db/schema.ts';

// What the trail says about one staff member's sign-ins: the audit module reads its own entries
// (and parses their bodies) for the pages that show them.

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
  // Only valid entries have an action, so these rows all have a body and a time.
  return rows.map(({ body, occurredAt, action, outcome }) => {
    const entry = JSON.parse(body!) as { client?: { address?: string | null } };
    return {
      occurredAt: occurredAt!,
      action: action!,
      outcome: outcome!,
      clientAddress: entry.client?.address ?? null,
    };
  });
}
