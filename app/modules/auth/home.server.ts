import { sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { staff } from '#app/db/schema.ts';

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
