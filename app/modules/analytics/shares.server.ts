import { createHash, randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gt, lt, or, type SQL } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { analyticsShares } from '#app/db/schema.ts';
import { staffIdOf, type Actor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { qualified, staffName } from '#app/modules/staff-names.server.ts';
import type { KeysetCursor } from '#app/utils/cursor.server.ts';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '#app/utils/errors.ts';
import { releasedFiguresCsv } from './csv.server.ts';
import type { ShareForm, ShareSort } from './input.server.ts';
import { cellsOfReleases, releaseCode } from './read.server.ts';

// Sharing analytics (issue 15, ADR 037). The privacy policy lets aggregated figures go to
// analytics providers; a holder of analytics:share hands chosen stored releases to a recipient
// that the record of processing lists as one. What leaves is the CSV of those releases' stored
// cells (the page's CSV, csv.server.ts): never contributions, events or an unreleased cell. Each
// share is a row of the sharing log (console.analytics_shares, append-only) and an audit entry,
// in one transaction; the log keeps the CSV's row count and SHA-256, never its figures.
//
// NOTE: the record of processing belongs to privacy, which depends on analytics (erasure removes
// contributions): analytics may not import it. The route reads the current record through the
// privacy module and hands its version and recipients in (RecordRecipients).

/** The record of processing as the share needs it: its version and its recipients. */
export interface RecordRecipients {
  version: number;
  recipients: readonly { name: string; kind: string }[];
}

/** The kind of recipient that may receive released figures: the policy's analytics providers. */
export const SHAREABLE_KIND = 'analytics_provider';

/** The recipients of the record that figures may be shared with. */
export function shareableRecipients(record: RecordRecipients) {
  return record.recipients.filter((r) => r.kind === SHAREABLE_KIND);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function requireSharer(actor: Actor) {
  if (actor.kind === 'staff' && !actor.permissions.has('analytics:share')) {
    throw new ForbiddenError('Sharing analytics takes the analytics:share permission');
  }
}

export interface ShareMade {
  id: string;
  recipient: string;
  releases: number;
  rows: number;
  sha256: string;
}

/**
 * Shares the chosen releases with a recipient of the record: checks the recipient (listed in this
 * version of the record, an analytics provider) and that every release exists, builds the CSV,
 * then writes the log row and its audit entry in one transaction. Bad input throws an InputError
 * naming its field, before anything is written.
 */
export async function shareReleases(
  actor: Actor,
  input: ShareForm,
  record: RecordRecipients,
): Promise<ShareMade> {
  requireSharer(actor);
  const listed = record.recipients.find((r) => r.name === input.recipient);
  if (!listed) {
    throw new InputError(
      'recipient',
      `Choose a recipient listed in the record of processing (version ${record.version})`,
    );
  }
  if (listed.kind !== SHAREABLE_KIND) {
    throw new InputError(
      'recipient',
      `${listed.name} is not an analytics provider in the record of processing: released figures go to analytics providers only`,
    );
  }
  const { releases, cells } = await cellsOfReleases(input.release);
  if (releases.length !== input.release.length) {
    const missing = input.release.length - releases.length;
    throw new InputError(
      'release',
      `${missing} of the chosen releases ${missing === 1 ? 'does' : 'do'} not exist: only stored releases can be shared (never an unreleased period)`,
    );
  }
  const csv = releasedFiguresCsv(cells);
  const hash = sha256(csv.text);
  const id = randomUUID();
  const periods = releases.map(releaseCode);
  const datasets = [...new Set(releases.map((r) => r.dataset))].sort();
  const sharedBy = staffIdOf(actor);
  if (!sharedBy) throw new ForbiddenError('Only a staff member shares analytics');
  await getDb().transaction(async (tx) => {
    await tx.insert(analyticsShares).values({
      id,
      recipientName: listed.name,
      recipientKind: listed.kind,
      recordVersion: record.version,
      releaseIds: releases.map((r) => r.id),
      periods,
      datasets,
      rows: csv.rows,
      sha256: hash,
      sharedBy,
      sharedAt: now(),
    });
    await recordAudit(
      actor,
      {
        action: 'analytics.share',
        outcome: 'allowed',
        details: {
          share: id,
          recipient: listed.name,
          recordVersion: record.version,
          releases: periods,
          datasets,
          rows: csv.rows,
          sha256: hash,
        },
      },
      tx,
    );
  });
  return { id, recipient: listed.name, releases: releases.length, rows: csv.rows, sha256: hash };
}

export interface ShareRow {
  id: string;
  recipientName: string;
  recordVersion: number;
  releases: number;
  /** The first and last release shared, in period order (`daily:2025-06-01`). */
  first: string;
  last: string;
  datasets: string[];
  rows: number;
  sha256: string;
  sharedByName: string | null;
  sharedAt: string;
}

const columns = {
  id: analyticsShares.id,
  recipientName: analyticsShares.recipientName,
  recordVersion: analyticsShares.recordVersion,
  periods: analyticsShares.periods,
  datasets: analyticsShares.datasets,
  rows: analyticsShares.rows,
  sha256: analyticsShares.sha256,
  sharedByName: staffName(qualified(analyticsShares.sharedBy)),
  sharedAt: analyticsShares.sharedAt,
};

function rowOf(r: {
  id: string;
  recipientName: string;
  recordVersion: number;
  periods: string[];
  datasets: string[];
  rows: number;
  sha256: string;
  sharedByName: string | null;
  sharedAt: Date;
}): ShareRow {
  return {
    id: r.id,
    recipientName: r.recipientName,
    recordVersion: r.recordVersion,
    releases: r.periods.length,
    first: r.periods[0] ?? '',
    last: r.periods[r.periods.length - 1] ?? '',
    datasets: r.datasets,
    rows: r.rows,
    sha256: r.sha256,
    sharedByName: r.sharedByName,
    sharedAt: r.sharedAt.toISOString(),
  };
}

/** One page of the sharing log, keyset-paged on (sort column, id). */
export async function listShares(query: {
  sort: ShareSort;
  dir: 'asc' | 'desc';
  after?: KeysetCursor;
  limit: number;
}): Promise<{ rows: ShareRow[]; next: KeysetCursor | null }> {
  const column =
    query.sort === 'recipient' ? analyticsShares.recipientName : analyticsShares.sharedAt;
  const filters: (SQL | undefined)[] = [];
  if (query.after) {
    const value = query.sort === 'shared' ? new Date(query.after.value) : query.after.value;
    const cmp = query.dir === 'asc' ? gt : lt;
    filters.push(
      or(cmp(column, value), and(eq(column, value), cmp(analyticsShares.id, query.after.id))),
    );
  }
  const order = query.dir === 'asc' ? asc : desc;
  const found = await getDb()
    .select(columns)
    .from(analyticsShares)
    .where(and(...filters))
    .orderBy(order(column), order(analyticsShares.id))
    .limit(query.limit + 1);
  const rows = found.slice(0, query.limit).map(rowOf);
  const last = rows[rows.length - 1];
  const next =
    found.length > query.limit && last
      ? { value: query.sort === 'shared' ? last.sharedAt : last.recipientName, id: last.id }
      : null;
  return { rows, next };
}

/** One share of the log, or null. */
export async function findShare(id: string): Promise<ShareRow | null> {
  const [row] = await getDb()
    .select(columns)
    .from(analyticsShares)
    .where(eq(analyticsShares.id, id));
  return row ? rowOf(row) : null;
}

/**
 * The CSV of a share again, for its sharer to hand over or check: rebuilt from the stored
 * releases (which are never changed or removed) and refused unless its SHA-256 is the one the log
 * holds, so what is downloaded is byte for byte what was shared. Audited before it is returned.
 */
export async function shareCsv(
  actor: Actor,
  id: string,
): Promise<{ text: string; rows: number; sha256: string; recipient: string }> {
  requireSharer(actor);
  const [share] = await getDb()
    .select({
      releaseIds: analyticsShares.releaseIds,
      recipientName: analyticsShares.recipientName,
      sha256: analyticsShares.sha256,
      rows: analyticsShares.rows,
    })
    .from(analyticsShares)
    .where(eq(analyticsShares.id, id));
  if (!share) throw new NotFoundError('No such share in the sharing log');
  const { releases, cells } = await cellsOfReleases(share.releaseIds);
  const csv = releasedFiguresCsv(cells);
  if (releases.length !== share.releaseIds.length || sha256(csv.text) !== share.sha256) {
    throw new ConflictError(
      'The figures of this share can no longer be rebuilt byte for byte (its SHA-256 differs): nothing was downloaded',
    );
  }
  await recordAudit(actor, {
    action: 'analytics.share_download',
    outcome: 'allowed',
    details: { share: id, rows: csv.rows, sha256: share.sha256 },
  });
  return { text: csv.text, rows: csv.rows, sha256: share.sha256, recipient: share.recipientName };
}
