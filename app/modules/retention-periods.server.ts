import { getDb, type Tx } from '#app/db/client.server.ts';
import { retentionPolicies } from '#app/db/schema.ts';

// The live period of each retention policy (console.retention_policies, ADR 032), read by what
// must tell users how long their data is kept (the record of processing's Art. 15 text, ADR 036).
// console.retention_policies belongs to retention, which depends on every capability it purges,
// privacy among them; so the one read others need sits here, in the shared kernel beside
// staff-names, rather than as an import of the retention module that would close a cycle.

type Db = Tx | ReturnType<typeof getDb>;

/** Each policy's period in days, by category (every category: the migration seeds them all). */
export async function retentionPeriods(db: Db = getDb()): Promise<Map<string, number>> {
  const rows = await db
    .select({ category: retentionPolicies.category, periodDays: retentionPolicies.periodDays })
    .from(retentionPolicies)
    .orderBy(retentionPolicies.category);
  return new Map(rows.map((r) => [r.category, r.periodDays]));
}
