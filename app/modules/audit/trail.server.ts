import { z } from 'zod';
import { parseParams } from '#app/utils/forms.server.ts';
import { getSql } from '#app/db/client.server.ts';
import { CursorError, decodeCursor, encodeCursor } from '#app/utils/cursor.server.ts';
import { UtcDateTimeSchema } from '#app/utils/datetime.server.ts';
import {
  AUDIT_ACTION_CODES,
  AUDIT_ACTIONS,
  describeAction,
  type AuditAction,
  type AuditCategory,
} from './catalogue.server.ts';
import { staffNameOf } from '#app/modules/staff-names.server.ts';
import { leafHash, verifyInclusion } from './merkle.ts';
import { openCheckpoint, parseCheckpoint, parseNote } from './note.ts';
import { checkpointCovering, inclusionProofFor } from './proofs.server.ts';
import { auditKeys } from './runs.server.ts';
import type { Outcome } from './writer.server.ts';

// Reading the audit trail for the console: the filtered, keyset-paged list, one entry with its
// inclusion proof, and a user's access history. Every query runs as custodian_app (SELECT only)
// and walks an index in seq order; there is no OFFSET, so page 10,000 costs what page 1 costs.

export const OUTCOMES = ['allowed', 'denied', 'failed'] as const satisfies readonly Outcome[];

export interface TrailFilters {
  actorStaffId?: string;
  /** The staff member an entry is about (a sign-in refused, roles changed, a passkey refused). */
  subjectStaffId?: string;
  userId?: string;
  action?: AuditAction;
  outcome?: Outcome;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  grantId?: string;
  privacyRequestId?: string;
  /**
   * Words searched for in the action's code and description and in the entry's details (codes,
   * categories, fields, reasons, routes: the catalogue lets no personal data into them).
   */
  text?: string;
}

/** How the trail describes an entry whose contents the retention policy removed (ADR 033). */
export const PURGED_DESCRIPTION = 'Contents removed by retention policy';

/** Counting the entries that match stops here: the page says "1,000+" (as the grant queue does). */
export const TRAIL_COUNT_CAP = 1_000;

/** The page sizes the trail offers. */
export const TRAIL_PAGE_SIZES = [25, 50, 100, 200] as const;
export type TrailPageSize = (typeof TRAIL_PAGE_SIZES)[number];

export type TrailDir = 'asc' | 'desc';

export interface TrailRow {
  seq: number;
  /** Null for an invalid entry, which has no derived columns. */
  time: Date | null;
  /** `invalid` for an invalid entry. */
  action: string;
  outcome: string;
  /** Why the sequencer found the entry invalid (ADR 018), else null. */
  invalid: string | null;
  /** The retention policy removed the entry's contents (ADR 033): only its leaf hash is left. */
  purged: boolean;
  actorStaffId: string | null;
  actorName: string | null;
  /** The service token's name when the product acted through the service API (ADR 023). */
  actorService: string | null;
  userId: string | null;
  grantId: string | null;
  privacyRequestId: string | null;
  clientAddress: string | null;
  /** The entry's details (codes and counts only, as the catalogue allows); null when invalid. */
  details: Record<string, unknown> | null;
  /** The purpose the entry was recorded under (a grant's reason code), if any. */
  purpose: string | null;
}

/**
 * The text the trail's search reads: the action's code and the entry's details as JSON. The same
 * expression as the trigram index audit_entries_search_idx (drizzle/0026), so the planner can use
 * it: change both together.
 */
export const TRAIL_SEARCH_TEXT = `(coalesce(action, '') || ' ' || coalesce(((body)::jsonb -> 'details')::text, ''))`;

/** `q` as a LIKE pattern that matches it literally anywhere (`_` and `%` are common in codes). */
function containsPattern(text: string) {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The actions whose description holds the searched words ("revoked" finds grant.revoke). */
function actionsDescribedBy(text: string): string[] {
  const words = text.toLowerCase();
  return AUDIT_ACTION_CODES.filter((code) =>
    AUDIT_ACTIONS[code].description.toLowerCase().includes(words),
  );
}

// NOTE: a time range is turned into a range of seq so that every filter (and the time range alone)
// walks one index in seq order. Entries are stamped just before they are queued and sequenced in
// queue order, so time order and seq order differ only while a transaction that wrote an entry is
// still open. The bounds are taken SKEW wide and the exact time condition is applied as well: an
// entry is missed only if its transaction stayed open longer than SKEW (or a test moved the clock
// back by more than that).
const SKEW = '5 minutes';

type Sql = ReturnType<typeof getSql>;

// NOTE: drizzle shares getSql()'s client and makes it return timestamps as text.
const asDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));

function whereClause(sql: Sql, f: TrailFilters, cursor: number | undefined, dir: TrailDir) {
  const parts = [sql`true`];
  if (f.actorStaffId) parts.push(sql`actor_staff_id = ${f.actorStaffId}`);
  if (f.subjectStaffId) parts.push(sql`subject_staff_id = ${f.subjectStaffId}`);
  if (f.userId) parts.push(sql`user_id = ${f.userId}`);
  if (f.action) parts.push(sql`action = ${f.action}`);
  if (f.outcome) parts.push(sql`outcome = ${f.outcome}`);
  if (f.grantId) parts.push(sql`grant_id = ${f.grantId}`);
  if (f.privacyRequestId) parts.push(sql`privacy_request_id = ${f.privacyRequestId}`);
  if (f.text) {
    const described = actionsDescribedBy(f.text);
    const matches = sql`${sql.unsafe(TRAIL_SEARCH_TEXT)} ilike ${containsPattern(f.text)}`;
    parts.push(
      described.length > 0
        ? sql`(${matches} or action = any(${described}::text[]))`
        : sql`${matches}`,
    );
  }
  if (f.from) {
    const from = f.from.toISOString();
    parts.push(sql`occurred_at >= ${from}`);
    parts.push(sql`seq > coalesce((
      select seq from console.audit_entries
      where occurred_at < ${from}::timestamptz - ${SKEW}::interval
      order by occurred_at desc, seq desc limit 1), -1)`);
  }
  if (f.to) {
    const to = f.to.toISOString();
    parts.push(sql`occurred_at < ${to}`);
    parts.push(sql`seq < coalesce((
      select seq from console.audit_entries
      where occurred_at >= ${to}::timestamptz + ${SKEW}::interval
      order by occurred_at, seq limit 1), 9223372036854775807)`);
  }
  if (cursor !== undefined)
    parts.push(dir === 'desc' ? sql`seq < ${cursor}` : sql`seq > ${cursor}`);
  return parts.reduce((acc, part, i) => (i === 0 ? part : sql`${acc} and ${part}`));
}

interface RawRow {
  seq: string;
  occurred_at: Date | string | null;
  action: string | null;
  outcome: string | null;
  invalid: string | null;
  purged_by: string | null;
  actor_staff_id: string | null;
  actor_name: string | null;
  actor_service: string | null;
  user_id: string | null;
  grant_id: string | null;
  privacy_request_id: string | null;
  client_address: string | null;
  client_user_agent?: string | null;
  details?: Record<string, unknown> | string | null;
  purpose?: string | null;
}

function toRow(r: RawRow): TrailRow {
  return {
    seq: Number(r.seq),
    time: r.occurred_at === null ? null : asDate(r.occurred_at),
    action: r.action ?? (r.purged_by === null ? 'invalid' : 'purged'),
    outcome: r.outcome ?? (r.purged_by === null ? 'invalid' : 'purged'),
    invalid: r.invalid,
    purged: r.purged_by !== null,
    actorStaffId: r.actor_staff_id,
    actorName: r.actor_name,
    actorService: r.actor_service,
    userId: r.user_id,
    grantId: r.grant_id,
    privacyRequestId: r.privacy_request_id,
    clientAddress: r.client_address,
    details:
      typeof r.details === 'string'
        ? (JSON.parse(r.details) as Record<string, unknown>)
        : (r.details ?? null),
    purpose: r.purpose ?? null,
  };
}

// NOTE: postgres.js prepares every query, and after a few runs PostgreSQL may switch to a generic
// plan that cannot see the time range's real width; for a wide range that plan walks the time
// index and sorts everything in it. Custom plans keep the walk along seq.
function withCustomPlans<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
  return getSql().begin(async (tx) => {
    await tx`set local plan_cache_mode = force_custom_plan`;
    return run(tx as unknown as Sql);
  }) as Promise<T>;
}

async function selectPage(
  sql: Sql,
  f: TrailFilters,
  options: { cursor?: number; dir: TrailDir; limit: number; through?: number },
  withUserAgent: boolean,
): Promise<RawRow[]> {
  let where = whereClause(sql, f, options.cursor, options.dir);
  if (options.through !== undefined) where = sql`${where} and seq <= ${options.through}`;
  const order = options.dir === 'desc' ? sql`seq desc` : sql`seq asc`;
  // The page is cut first, then the names are read: a join under the LIMIT could make the planner
  // give up the index order and sort everything that matches.
  return (await sql`
    select p.seq, p.occurred_at, p.action, p.outcome, p.actor_staff_id,
           ${staffNameOf(sql, 'p.actor_staff_id')} as actor_name,
           p.body::jsonb #>> '{actor,service}' as actor_service,
           p.user_id, p.grant_id, p.privacy_request_id, p.invalid, p.purged_by,
           p.body::jsonb #>> '{client,address}' as client_address,
           p.body::jsonb -> 'details' as details, p.body::jsonb ->> 'purpose' as purpose
           ${withUserAgent ? sql`, p.body::jsonb #>> '{client,userAgent}' as client_user_agent` : sql``}
    from (
      select seq, occurred_at, action, outcome, actor_staff_id, user_id, grant_id,
             privacy_request_id, body, invalid, purged_by
      from console.audit_entries
      where ${where}
      order by ${order}
      limit ${options.limit}
    ) p
    order by ${order}`) as unknown as RawRow[];
}

/**
 * One page of the trail, newest or oldest first. `cursor` is the seq the page starts after;
 * with `back`, the page is the one that ends just before it (the previous page). `next` and `prev`
 * are the seqs to pass as the next and previous cursors, null at either end.
 */
export async function listAuditEntries(
  filters: TrailFilters,
  options: { cursor?: number; back?: boolean; dir?: TrailDir; limit?: number } = {},
): Promise<{ rows: TrailRow[]; next: number | null; prev: number | null }> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
  const dir = options.dir ?? 'desc';
  if (options.back && options.cursor !== undefined) {
    // Walk the other way from the cursor, then show the rows in the page's order.
    const reverse: TrailDir = dir === 'desc' ? 'asc' : 'desc';
    const raw = await withCustomPlans((sql) =>
      selectPage(sql, filters, { cursor: options.cursor, dir: reverse, limit: limit + 1 }, false),
    );
    const rows = raw.slice(0, limit).map(toRow).reverse();
    return {
      rows,
      prev: raw.length > limit ? rows[0]!.seq : null,
      next: rows.length > 0 ? rows[rows.length - 1]!.seq : null,
    };
  }
  const raw = await withCustomPlans((sql) =>
    selectPage(sql, filters, { cursor: options.cursor, dir, limit: limit + 1 }, false),
  );
  const rows = raw.slice(0, limit).map(toRow);
  return {
    rows,
    next: raw.length > limit ? rows[rows.length - 1]!.seq : null,
    prev: options.cursor !== undefined && rows.length > 0 ? rows[0]!.seq : null,
  };
}

/**
 * How many entries match the filters, counted up to TRAIL_COUNT_CAP (`capped` past it): the count
 * reads at most CAP + 1 entries along the same index walk as the page.
 */
export async function countAuditEntries(
  filters: TrailFilters,
): Promise<{ count: number; capped: boolean }> {
  const n = await withCustomPlans(async (sql) => {
    const where = whereClause(sql, filters, undefined, 'desc');
    const [row] = (await sql`
      select count(*)::int as n from (
        select 1 from console.audit_entries where ${where}
        order by seq desc limit ${TRAIL_COUNT_CAP + 1}
      ) c`) as unknown as { n: number }[];
    return row?.n ?? 0;
  });
  return { count: Math.min(n, TRAIL_COUNT_CAP), capped: n > TRAIL_COUNT_CAP };
}

export interface ExportRow extends TrailRow {
  clientUserAgent: string | null;
}

/**
 * A fixed snapshot of a filtered view for an export: the log is append-only, so counting and then
 * reading the entries up to `through` gives the same rows whatever is appended meanwhile.
 */
export async function exportSnapshot(filters: TrailFilters, dir: TrailDir, cap: number) {
  const { through, count: matching } = await withCustomPlans(async (sql) => {
    const [head] = (await sql`select max(seq) as seq from console.audit_entries`) as unknown as {
      seq: string | null;
    }[];
    const through = head?.seq === null || head?.seq === undefined ? -1 : Number(head.seq);
    const where = whereClause(sql, filters, undefined, dir);
    const [counted] = (await sql`
      select count(*)::int as n from (
        select 1 from console.audit_entries where ${where} and seq <= ${through}
        order by seq ${dir === 'desc' ? sql`desc` : sql`asc`} limit ${cap + 1}
      ) c`) as unknown as { n: number }[];
    return { through, count: counted?.n ?? 0 };
  });
  const count = Math.min(matching, cap);
  async function* rows(pageSize = 1_000): AsyncGenerator<ExportRow> {
    let cursor: number | undefined;
    let left = count;
    while (left > 0) {
      const page = await withCustomPlans((sql) =>
        selectPage(sql, filters, { cursor, dir, limit: Math.min(pageSize, left), through }, true),
      );
      if (page.length === 0) return;
      for (const r of page) yield { ...toRow(r), clientUserAgent: r.client_user_agent ?? null };
      left -= page.length;
      cursor = Number(page[page.length - 1]!.seq);
    }
  }
  return { through, count, truncated: matching > cap, rows };
}

// --- the page cursor ---------------------------------------------------------------------------

// [seq, direction] for the page after seq, [seq, direction, 'back'] for the page before it: a
// cursor names its direction, so it is only used the way it was made.
const seqAndDir = [z.number().int().nonnegative(), z.enum(['asc', 'desc'])] as const;
const TrailCursorSchema = z.union([
  z.tuple([...seqAndDir]),
  z.tuple([...seqAndDir, z.literal('back')]),
]);

export function encodeTrailCursor(seq: number | null, dir: TrailDir, back = false): string | null {
  if (seq === null) return null;
  return encodeCursor(back ? [seq, dir, 'back'] : [seq, dir]);
}

/**
 * The `after` parameter of a list that pages forward only (a user's access history); a cursor
 * edited by hand or made for the other direction is a 400.
 */
export function decodeTrailCursor(raw: string | undefined, dir: TrailDir): number | undefined {
  const cursor = decodeTrailPageCursor(raw, dir);
  if (cursor?.back) throw new CursorError('after');
  return cursor?.seq;
}

/** The trail's `after` parameter, forward or back; edited by hand or for the other direction: 400. */
export function decodeTrailPageCursor(
  raw: string | undefined,
  dir: TrailDir,
): { seq: number; back: boolean } | undefined {
  const cursor = decodeCursor(
    TrailCursorSchema.refine((c) => c[1] === dir),
    raw,
  );
  return cursor && { seq: cursor[0], back: cursor.length === 3 };
}

// --- the search parameters shared by the trail page and its CSV download -----------------------

const uuid = (what: string) => z.uuid(`Not a ${what} id (a UUID)`);

export const TrailQuerySchema = z
  .object({
    actor: uuid('staff').optional(),
    subject: uuid('staff').optional(),
    user: uuid('user').optional(),
    action: z.enum(AUDIT_ACTION_CODES, 'Not an action of the catalogue').optional(),
    outcome: z.enum(OUTCOMES, 'Use allowed, denied or failed').optional(),
    from: UtcDateTimeSchema.optional(),
    to: UtcDateTimeSchema.optional(),
    grant: uuid('grant').optional(),
    request: uuid('privacy request').optional(),
    q: z
      .string()
      .trim()
      .min(3, 'Search for at least 3 characters')
      .max(100, 'Search for at most 100 characters')
      .optional(),
    size: z.coerce
      .number('Choose 25, 50, 100 or 200 entries a page')
      .refine((n): n is TrailPageSize => (TRAIL_PAGE_SIZES as readonly number[]).includes(n), {
        message: 'Choose 25, 50, 100 or 200 entries a page',
      })
      .default(50),
    sort: z.literal('time', 'The trail sorts by time only').default('time'),
    dir: z.enum(['asc', 'desc'], 'Use asc or desc').default('desc'),
    after: z.string().max(200, 'The page cursor is too long').optional(),
  })
  .refine((q) => !q.from || !q.to || q.from < q.to, {
    path: ['to'],
    message: 'Must be later than from',
  });

/** Parses the trail's search parameters; bad input is a 400 naming the parameter. */
export function parseTrailQuery(params: URLSearchParams) {
  const raw = Object.fromEntries([...params].filter(([, v]) => v !== ''));
  const q = parseParams(TrailQuerySchema, raw);
  const filters: TrailFilters = {
    actorStaffId: q.actor,
    subjectStaffId: q.subject,
    userId: q.user,
    action: q.action,
    outcome: q.outcome,
    from: q.from,
    to: q.to,
    grantId: q.grant,
    privacyRequestId: q.request,
    text: q.q,
  };
  const cursor = decodeTrailPageCursor(q.after, q.dir);
  return {
    filters,
    dir: q.dir,
    cursor: cursor?.seq,
    back: cursor?.back ?? false,
    size: q.size,
  };
}

// --- one entry with its proof ------------------------------------------------------------------

export interface EntryBody {
  v: number;
  seq: number;
  prev: string | null;
  time: string;
  action: string;
  category: string;
  outcome: string;
  actor: { staffId: string; roles: string[] } | { service: string; tokenId: string } | null;
  subjectStaffId: string | null;
  userId: string | null;
  grantId: string | null;
  privacyRequestId: string | null;
  sessionId: string | null;
  purpose: string | null;
  client: { address: string | null; userAgent: string | null };
  details: Record<string, unknown>;
}

export async function getAuditEntry(seq: number) {
  const sql = getSql();
  const [row] = (await sql`
    select e.seq, e.body, e.raw, e.invalid, e.purged_by, e.occurred_at, e.outcome, e.action,
           l.leaf_hash,
           ${staffNameOf(sql, 'e.actor_staff_id')} as actor_name,
           ${staffNameOf(sql, 'e.subject_staff_id')} as subject_name
    from console.audit_entries e
    left join console.audit_leaves l on l.seq = e.seq
    where e.seq = ${seq}`) as unknown as {
    seq: string;
    body: string | null;
    raw: Buffer | null;
    invalid: string | null;
    purged_by: string | null;
    occurred_at: Date | string | null;
    outcome: string | null;
    action: string | null;
    leaf_hash: Buffer | null;
    actor_name: string | null;
    subject_name: string | null;
  }[];
  if (!row) return null;
  // An invalid entry's leaf is its bytes as committed (ADR 018): shown decoded, never parsed.
  const bytes = row.body === null ? (row.raw ?? Buffer.alloc(0)) : Buffer.from(row.body, 'utf8');
  const text = row.body ?? bytes.toString('utf8');
  const body = row.body === null ? null : (JSON.parse(row.body) as EntryBody);
  // An entry the retention policy emptied (ADR 033) has no bytes left: its stored leaf hash is what
  // the proof rests on, and the purge's record in the log is what verification checks it against.
  const purged = row.purged_by !== null && row.raw === null && row.body === null;
  const leaf = purged && row.leaf_hash ? row.leaf_hash : leafHash(bytes);
  const covering = await checkpointCovering(sql, seq);
  let proof: {
    treeSize: number;
    root: Buffer;
    note: string;
    createdAt: Date;
    hashes: Buffer[];
    verifies: boolean;
    signature: { valid: boolean; problem: string | null };
  } | null = null;
  if (covering) {
    const hashes = await inclusionProofFor(sql, seq, covering.treeSize);
    // The root the proof is checked against is the one in the signed note, not the table's copy.
    let root = covering.root;
    let signature: { valid: boolean; problem: string | null };
    try {
      root = Buffer.from(parseCheckpoint(parseNote(covering.note).text).rootHash);
      const keys = auditKeys();
      openCheckpoint(covering.note, keys.trusted, { origin: keys.origin });
      signature = { valid: true, problem: null };
    } catch (error) {
      signature = { valid: false, problem: (error as Error).message };
    }
    proof = {
      ...covering,
      createdAt: asDate(covering.createdAt),
      root,
      hashes,
      verifies: verifyInclusion(seq, covering.treeSize, leaf, hashes, root),
      signature,
    };
  }
  return {
    seq: Number(row.seq),
    time: row.occurred_at === null ? null : asDate(row.occurred_at),
    action: row.action ?? (purged ? 'purged' : 'invalid'),
    outcome: row.outcome ?? (purged ? 'purged' : 'invalid'),
    invalid: row.invalid,
    /** The purge run that emptied the entry, else null. */
    purgedBy: purged ? Number(row.purged_by) : null,
    description: purged
      ? PURGED_DESCRIPTION
      : row.invalid
        ? `Invalid entry: ${row.invalid}`
        : describeAction(row.action ?? '').description,
    bytes: bytes.length,
    actorName: row.actor_name,
    subjectName: row.subject_name,
    body,
    /** The entry's exact bytes, as stored and hashed. */
    text,
    leafHash: leaf,
    storedLeafHash: row.leaf_hash,
    proof,
  };
}

// --- a user's access history -------------------------------------------------------------------

const ACCESS_CATEGORIES: readonly AuditCategory[] = ['view', 'reveal', 'lookup'];
/** The actions that record a staff member looking at an end user's data. */
export const ACCESS_ACTIONS = AUDIT_ACTION_CODES.filter((code) =>
  ACCESS_CATEGORIES.includes(AUDIT_ACTIONS[code].category),
);

export interface AccessRecord {
  seq: number;
  time: Date;
  action: string;
  description: string;
  outcome: string;
  actorStaffId: string | null;
  actorName: string | null;
  grantId: string | null;
  purpose: string | null;
  /** The data category viewed or revealed (null for a lookup). */
  dataCategory: string | null;
  /** The field revealed, the page viewed, or how the user was looked up. */
  detail: string | null;
}

/**
 * Who looked at which of a user's data, when, under which grant and purpose: the entries about
 * this user whose category is view, reveal or lookup, newest first (the (user_id, seq) index).
 */
export async function accessHistoryForUser(
  userId: string,
  options: { cursor?: number; limit?: number } = {},
): Promise<{ rows: AccessRecord[]; next: number | null }> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 1_000);
  const sql = getSql();
  const raw = (await sql`
    select p.seq, p.occurred_at, p.action, p.outcome, p.actor_staff_id,
           ${staffNameOf(sql, 'p.actor_staff_id')} as actor_name, p.grant_id, b.doc ->> 'purpose' as purpose, b.doc #>> '{details,category}' as data_category,
           coalesce(b.doc #>> '{details,field}', b.doc #>> '{details,page}', b.doc #>> '{details,by}') as detail
    from (
      select seq, occurred_at, action, outcome, actor_staff_id, grant_id, body
      from console.audit_entries
      where user_id = ${userId} and action = any(${ACCESS_ACTIONS}::text[])
        ${options.cursor !== undefined ? sql`and seq < ${options.cursor}` : sql``}
      order by seq desc
      limit ${limit + 1}
    ) p
    cross join lateral (select p.body::jsonb as doc) b
    order by p.seq desc`) as unknown as {
    seq: string;
    occurred_at: Date | string;
    action: string;
    outcome: string;
    actor_staff_id: string | null;
    actor_name: string | null;
    grant_id: string | null;
    purpose: string | null;
    data_category: string | null;
    detail: string | null;
  }[];
  const rows = raw.slice(0, limit).map((r) => ({
    seq: Number(r.seq),
    time: asDate(r.occurred_at),
    action: r.action,
    description: describeAction(r.action).description,
    outcome: r.outcome,
    actorStaffId: r.actor_staff_id,
    actorName: r.actor_name,
    grantId: r.grant_id,
    purpose: r.purpose,
    dataCategory: r.data_category,
    detail: r.detail,
  }));
  return { rows, next: raw.length > limit ? rows[rows.length - 1]!.seq : null };
}

/** One access to a user's data with no staff identity in it: what the user may be shown. */
export interface AnonymousAccess {
  seq: number;
  time: Date;
  action: string;
  /** The data category viewed or revealed (null for a lookup). */
  dataCategory: string | null;
  grantId: string | null;
}

/**
 * The allowed accesses to a user's data, newest first, keyset-paged by seq: the same entries as
 * accessHistoryForUser() but without who (no staff id, name, session or address is read), for
 * what the product shows its signed-in user (the service API, ADR 023).
 */
export async function accessesOfUser(
  userId: string,
  options: { before?: number; limit?: number } = {},
): Promise<{ rows: AnonymousAccess[]; more: boolean }> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
  const sql = getSql();
  const raw = (await sql`
    select p.seq, p.occurred_at, p.action, p.grant_id,
           p.body::jsonb #>> '{details,category}' as data_category
    from (
      select seq, occurred_at, action, grant_id, body
      from console.audit_entries
      where user_id = ${userId} and action = any(${ACCESS_ACTIONS}::text[])
        and outcome = 'allowed'
        ${options.before !== undefined ? sql`and seq < ${options.before}` : sql``}
      order by seq desc
      limit ${limit + 1}
    ) p
    order by p.seq desc`) as unknown as {
    seq: string;
    occurred_at: Date | string;
    action: string;
    grant_id: string | null;
    data_category: string | null;
  }[];
  return {
    rows: raw.slice(0, limit).map((r) => ({
      seq: Number(r.seq),
      time: asDate(r.occurred_at),
      action: r.action,
      dataCategory: r.data_category,
      grantId: r.grant_id,
    })),
    more: raw.length > limit,
  };
}
