import type { LoaderFunctionArgs } from '@remix-run/node';
import { describeAction } from '#app/modules/audit/catalogue.server.ts';
import {
  exportSnapshot,
  parseTrailQuery,
  PURGED_DESCRIPTION,
  type ExportRow,
} from '#app/modules/audit/trail.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { guard, requireRecentSecondFactor } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { now } from '#app/modules/clock.server.ts';
import { csvStream, type CsvValue } from '#app/utils/csv.ts';

export const access = requires('audit:read', { writesOnGet: true });

// Same filters and order as /audit (TrailQuerySchema); a download holds at most this many entries.
const CSV_MAX_ROWS = 100_000;

const HEADER = [
  'seq',
  'time_utc',
  'action',
  'description',
  'outcome',
  'actor_staff_id',
  'actor_name',
  'user_id',
  'grant_id',
  'privacy_request_id',
  'client_address',
  'client_user_agent',
  'actor_service',
];

function record(r: ExportRow): CsvValue[] {
  return [
    r.seq,
    r.time,
    r.action,
    r.purged
      ? PURGED_DESCRIPTION
      : r.invalid
        ? `Invalid entry: ${r.invalid}`
        : describeAction(r.action).description,
    r.outcome,
    r.actorStaffId,
    r.actorName,
    r.userId,
    r.grantId,
    r.privacyRequestId,
    r.clientAddress,
    r.clientUserAgent,
    r.actorService,
  ];
}

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const url = new URL(args.request.url);
  const { filters, dir } = attempt(() => parseTrailQuery(url.searchParams));
  // Step-up (ADR 035): the whole trail leaves the console; a fresh second factor first.
  await requireRecentSecondFactor(me, 'audit.export', `/audit${url.search}`);
  const snapshot = await exportSnapshot(filters, dir, CSV_MAX_ROWS);
  // Audit, then show: the export is on record before its first byte leaves; if the entry cannot be
  // written, this throws and nothing is sent.
  await recordAudit(me, {
    action: 'audit.export',
    outcome: 'allowed',
    details: { format: 'csv', entries: snapshot.count },
  });
  async function* rows() {
    for await (const r of snapshot.rows()) yield record(r);
  }
  const stamp = now().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return new Response(csvStream(HEADER, rows(), { bom: true }), {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="audit-trail-${stamp}.csv"`,
      'Cache-Control': 'no-store',
      'X-Custodian-Rows': String(snapshot.count),
      'X-Custodian-Truncated': String(snapshot.truncated),
    },
  });
}
