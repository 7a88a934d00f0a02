import { sql, type SQL } from 'drizzle-orm';
import { ROW, type ExpiryTarget } from '#app/db/expiry.server.ts';
import { FINAL_STATES } from './vocabulary.ts';

// What retention may remove from the privacy capability's tables, and which users it must spare
// (ADR 032): a legal hold, or a privacy request still open, suspends the policies that say so.

const at = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const FINAL = sql.raw(FINAL_STATES.map((s) => `'${s}'`).join(', '));

/**
 * True for a user whose rows a purge must keep: under an active legal hold (`hold`), or with a
 * privacy request not yet completed, denied or cancelled (`openRequest`). `userId` is the column
 * (or expression) naming the user in the table being purged. Null when nothing spares anyone.
 */
export function sparedUsers(
  userId: SQL,
  options: { hold: boolean; openRequest: boolean },
): SQL | null {
  const parts: SQL[] = [];
  if (options.hold) {
    parts.push(
      sql`exists (select 1 from console.legal_holds h where h.user_id = ${userId} and h.lifted_at is null)`,
    );
  }
  if (options.openRequest) {
    parts.push(
      sql`exists (select 1 from console.privacy_requests r where r.user_id = ${userId} and r.state not in (${FINAL}))`,
    );
  }
  return parts.length ? sql.join(parts, sql` or `) : null;
}

/** Messages to users that were sent or gave up, created before the cut-off (queued ones stay). */
export function expiredOutbox(cutoff: Date): ExpiryTarget {
  return {
    table: 'console.user_outbox',
    key: 'id',
    expired: sql`state <> 'queued' and created_at < ${at(cutoff)}`,
    userColumn: 'user_id',
  };
}

/**
 * Export packages that expired before the cut-off: the row goes (its chunks went at expiry, and
 * any left go with it by the foreign key's cascade). Its link then answers 404 instead of 410.
 */
export function expiredExportPackages(cutoff: Date): ExpiryTarget {
  return {
    table: 'console.export_packages',
    key: 'id',
    expired: sql`state = 'expired' and expired_at < ${at(cutoff)}`,
    userColumn: 'user_id',
  };
}

/**
 * The working data of requests closed before the cut-off: what the user asked (the sealed
 * details) and the notes of the request's timeline. The request, its dates, states and the
 * timeline's moves stay: they are the record that the request was answered, and on time.
 */
export function closedRequestWorkingData(cutoff: Date): ExpiryTarget {
  return {
    table: 'console.privacy_requests',
    key: 'id',
    expired: sql`state in (${FINAL}) and closed_at < ${at(cutoff)} and (details_enc is not null
      or exists (select 1 from console.privacy_request_events e where e.request_id = ${ROW}.id and e.note is not null))`,
    userColumn: 'user_id',
    update: sql`details_enc = null`,
    alsoDelete: [
      {
        table: 'console.privacy_request_events',
        column: 'request_id',
        update: sql`note = null`,
        where: sql`x.note is not null`,
      },
    ],
  };
}
