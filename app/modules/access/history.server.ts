import { z } from 'zod';
import { accessesOfUser } from '#app/modules/audit/trail.server.ts';
import { decodeCursor, encodeCursor } from '#app/utils/cursor.server.ts';
import { grantReasons } from './list.server.ts';

// What a user may be told about staff access to their data (the service API's access history,
// and the copy in an access export): when, which data category, what was done and on what basis
// (the grant's reason code, and whether it was a break-glass grant). No staff identity: not the
// staff member's id, name, roles, session or address, nor the grant's id or ticket.

export interface UserAccess {
  at: string;
  /** The data category viewed or revealed; null for a lookup by id or email. */
  category: string | null;
  /** `view`, `reveal` or `lookup`. */
  action: string;
  /** Why the grant was given (a reason code); null when no grant was needed (a lookup). */
  reasonCode: string | null;
  breakGlass: boolean;
}

const ACTION_WORDS: Record<string, string> = {
  'user.view': 'view',
  'user.reveal': 'reveal',
  'user.lookup': 'lookup',
};

// [seq] of the page's last entry.
const HistoryCursorSchema = z.tuple([z.number().int().nonnegative()]);

/** Checks a page cursor of the access history without reading anything: an InputError on `after`. */
export function checkHistoryCursor(after: string | undefined): void {
  decodeCursor(HistoryCursorSchema, after, 'after');
}

/**
 * One page of a user's access history, newest first; `next` is the cursor of the following page
 * (pass it as `after`), null on the last. A cursor not made here is an InputError on `after`.
 */
export async function userAccessHistory(
  userId: string,
  options: { after?: string; limit?: number } = {},
): Promise<{ items: UserAccess[]; next: string | null }> {
  const cursor = decodeCursor(HistoryCursorSchema, options.after, 'after');
  const { rows, more } = await accessesOfUser(userId, {
    before: cursor?.[0],
    limit: options.limit,
  });
  const reasons = await grantReasons(rows.flatMap((r) => (r.grantId ? [r.grantId] : [])));
  const items = rows.map((r): UserAccess => {
    const grant = r.grantId ? reasons.get(r.grantId) : undefined;
    return {
      at: r.time.toISOString(),
      category: r.dataCategory,
      action: ACTION_WORDS[r.action] ?? r.action,
      reasonCode: grant?.reasonCode ?? null,
      breakGlass: grant?.breakGlass ?? false,
    };
  });
  const last = rows[rows.length - 1];
  return { items, next: more && last ? encodeCursor([last.seq]) : null };
}
