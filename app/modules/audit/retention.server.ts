import postgres from 'postgres';
import { getSql } from '#app/db/client.server.ts';

// The audit trail's contents under the retention policy (issue 14, ADR 033): the one narrow path
// law 4 allows. The database decides what is old enough, by the first checkpoint that covered each
// entry and its own clock, never by an entry's occurred_at (the intake accepts any time):
// console.purge_audit_contents() (drizzle/0028) refuses anything covered less than six years ago
// (console.audit_contents_minimum()) whatever cutoff it is given. It runs as custodian_retention,
// which no login can become, and only the sequencer's role may call it: the purge connects with
// the sequencer's login, never the app's.

/** Entries emptied per call of the function: one bounded transaction each. */
export const AUDIT_PURGE_BATCH = 5_000;

const KEY = Symbol.for('custodian.audit.purge-connection');
const holder = globalThis as unknown as { [KEY]?: () => string };

/**
 * Where the purge connects: the sequencer's login (start-up sets it; a test sets a function, as
 * each test file has its own database). Kept on globalThis, as the Remix build holds its own copy
 * of this module.
 */
export function setAuditPurgeConnection(url: string | (() => string) | undefined) {
  holder[KEY] = url === undefined ? undefined : typeof url === 'string' ? () => url : url;
}

function purgeUrl(): string {
  const get = holder[KEY];
  if (!get) {
    throw new Error(
      "the audit purge has no connection: start-up gives it the sequencer's login (setAuditPurgeConnection)",
    );
  }
  return get();
}

function checkCutoff(cutoff: Date) {
  if (!(cutoff instanceof Date) || Number.isNaN(cutoff.getTime())) {
    throw new TypeError('cutoff: a valid date is required');
  }
}

/**
 * How many entries the purge would empty at `cutoff` (a dry run): those whose first covering
 * checkpoint is older than the cutoff and than the six-year minimum, still holding their contents,
 * and not the record of an earlier purge. Reads on the app's connection.
 */
export async function countAuditContentsBefore(cutoff: Date): Promise<number> {
  checkCutoff(cutoff);
  const [row] = (await getSql()`
    with s as (select console.audit_purgeable_size(${cutoff.toISOString()}::timestamptz) as size)
    select count(*)::bigint as n from console.audit_entries e, s
    where e.seq < s.size and e.purged_by is null
      and e.seq > coalesce((select max(p.to_seq) from console.trail_purges p), -1)
      and e.action is distinct from 'audit.contents_purged'`) as unknown as { n: string }[];
  return Number(row?.n ?? 0);
}

/**
 * Empties the contents of every entry old enough at `cutoff`, in batches of AUDIT_PURGE_BATCH (one
 * transaction each, so the sequencer and the console keep answering; a crash loses at most the
 * batch in flight, and the next run carries on). Each batch records its run and queues an
 * `audit.contents_purged` entry naming its range. Returns the total and the whole range emptied.
 */
export async function purgeAuditContents(
  cutoff: Date,
): Promise<{ emptied: number; fromSeq: number | null; toSeq: number | null }> {
  checkCutoff(cutoff);
  const sql = postgres(purgeUrl(), {
    max: 1,
    onnotice: () => {},
    connection: { application_name: 'custodian-audit-purge', role: 'custodian_sequencer' },
  });
  let emptied = 0;
  let fromSeq: number | null = null;
  let toSeq: number | null = null;
  try {
    for (;;) {
      const [row] = (await sql`
        select emptied, from_seq::text as from_seq, to_seq::text as to_seq
        from console.purge_audit_contents(${cutoff.toISOString()}::timestamptz, ${AUDIT_PURGE_BATCH}::integer)`) as unknown as {
        emptied: number;
        from_seq: string;
        to_seq: string;
      }[];
      if (!row) break;
      emptied += row.emptied;
      fromSeq = fromSeq === null ? Number(row.from_seq) : Math.min(fromSeq, Number(row.from_seq));
      toSeq = toSeq === null ? Number(row.to_seq) : Math.max(toSeq, Number(row.to_seq));
      if (row.emptied < AUDIT_PURGE_BATCH) break;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  return { emptied, fromSeq, toSeq };
}
