import { sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { analyticsReleases } from '#app/db/schema.ts';

/** What the home page says of analytics: how many releases, and the last day its figures cover. */
export async function releaseSummary(): Promise<{
  releases: number;
  latestDay: string | null;
  latestReleasedAt: Date | null;
}> {
  const [row] = await getDb()
    .select({
      releases: sql<number>`count(*)::int`,
      // The daily releases say which day the figures reach (a month's release covers days to come).
      latestDay: sql<string | null>`(max(${analyticsReleases.periodEnd})
        filter (where ${analyticsReleases.kind} = 'daily') - 1)::text`,
      latestReleasedAt: sql<string | null>`max(${analyticsReleases.releasedAt})`,
    })
    .from(analyticsReleases);
  return {
    releases: row?.releases ?? 0,
    latestDay: row?.latestDay ?? null,
    latestReleasedAt: row?.latestReleasedAt ? new Date(row.latestReleasedAt) : null,
  };
}
