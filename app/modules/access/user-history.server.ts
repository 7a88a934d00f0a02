import type { StaffActor } from '#app/modules/actor.ts';
import {
  accessHistoryForUser,
  listAuditEntries,
  type AccessRecord,
} from '#app/modules/audit/trail.server.ts';
import { describeAction } from '#app/modules/audit/catalogue.server.ts';
import { label } from '#app/modules/labels.ts';
import { DATA_CATEGORIES } from '#app/modules/vocabulary.ts';

// The access history on a user's page (issue 13): the views, reveals and lookups of this user,
// with the refusals among them, but without the reader's own lookups, which are only the page
// being opened (8 of 15 rows were the agent opening the page). Newest first, paged by seq.

/** How many pages of the history are read, at most, to fill one page without own lookups. */
const MAX_READS = 5;
/** Refusals read for one page of the history, at most. */
const MAX_REFUSALS = 100;

export type UserPageAccess = AccessRecord;

export async function userPageHistory(
  userId: string,
  viewer: StaffActor,
  options: { cursor?: number; limit?: number } = {},
): Promise<{ rows: UserPageAccess[]; next: number | null }> {
  const limit = Math.min(Math.max(options.limit ?? 25, 1), 100);
  const kept: AccessRecord[] = [];
  let cursor = options.cursor;
  let more = false;
  for (let read = 0; read < MAX_READS; read++) {
    const page = await accessHistoryForUser(userId, { cursor, limit: limit * 2 });
    kept.push(
      ...page.rows.filter(
        (r) => !(r.action === 'user.lookup' && r.actorStaffId === viewer.staffId),
      ),
    );
    cursor = page.next ?? undefined;
    more = page.next !== null;
    if (!more || kept.length > limit) break;
  }
  const rows = kept.slice(0, limit);
  // The page covers the entries from `next` (inclusive) up to the cursor it was asked with.
  const next = kept.length > limit ? rows[rows.length - 1]!.seq : more ? (cursor ?? null) : null;
  const refusals = await listAuditEntries(
    { userId, outcome: 'denied' },
    { cursor: options.cursor, dir: 'desc', limit: MAX_REFUSALS },
  );
  for (const r of refusals.rows) {
    if (next !== null && r.seq < next) break;
    rows.push({
      seq: r.seq,
      time: r.time ?? new Date(0),
      action: r.action,
      description: describeAction(r.action).description,
      outcome: r.outcome,
      actorStaffId: r.actorStaffId,
      actorName: r.actorName,
      grantId: r.grantId,
      purpose: null,
      ...refusalOf(r.details),
    });
  }
  rows.sort((a, b) => b.seq - a.seq);
  return { rows, next };
}

/**
 * Why a refusal happened, in words, and the data category it concerned: an access.denied entry's
 * `reason` is `<why>:<category>` from the gate ("grant_expired:conversations") or a plain code.
 */
export function refusalOf(details: Record<string, unknown> | null): {
  dataCategory: string | null;
  detail: string | null;
} {
  const reason = typeof details?.reason === 'string' ? details.reason : null;
  if (!reason) return { dataCategory: null, detail: null };
  const [why = reason, category] = reason.split(':', 2);
  const known = (DATA_CATEGORIES as readonly string[]).includes(category ?? '');
  return { dataCategory: known ? category! : null, detail: label('refusal', why) };
}
