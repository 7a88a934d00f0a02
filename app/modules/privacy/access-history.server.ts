import { grantReasons } from '#app/modules/access/list.server.ts';
import { accessHistoryForUser } from '#app/modules/audit/trail.server.ts';

// A user's access history as the product may show it to them: when staff looked at which
// category of their data, what they did and why (the grant's reason code, and whether it was a
// break-glass grant), never who. The service API's GET /api/v1/users/:id/access-history gives the
// same items; this projection, built from the same trail function, goes into the export package.
// (Issue 12: the API's own projection is written beside it; the two are to become one.)

export interface AccessHistoryItem {
  at: string;
  /** The data category viewed or revealed; null for a lookup. */
  category: string | null;
  action: string;
  reasonCode: string | null;
  breakGlass: boolean;
}

/** The whole history, newest first, in pages of `limit` (the trail's (user_id, seq) index). */
export async function* accessHistoryBatches(
  userId: string,
  limit = 1_000,
): AsyncGenerator<AccessHistoryItem[]> {
  let cursor: number | undefined;
  for (;;) {
    const page = await accessHistoryForUser(userId, { cursor, limit });
    if (page.rows.length === 0) return;
    const reasons = await grantReasons(page.rows.flatMap((r) => (r.grantId ? [r.grantId] : [])));
    yield page.rows.map((r) => {
      const grant = r.grantId ? reasons.get(r.grantId) : undefined;
      return {
        at: r.time.toISOString(),
        category: r.dataCategory,
        action: r.action,
        reasonCode: grant?.reasonCode ?? r.purpose,
        breakGlass: grant?.breakGlass ?? false,
      };
    });
    if (page.next === null) return;
    cursor = page.next;
  }
}
