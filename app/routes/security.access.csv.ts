import type { LoaderFunctionArgs } from '@remix-run/node';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import {
  grantsForExport,
  parsePeriodQuery,
  type GrantExportRow,
} from '#app/modules/security/review.server.ts';
import { csvStream, type CsvValue } from '#app/utils/csv.ts';

export const access = requires('security:review', { writesOnGet: true });

// Every grant requested in the period, with its decisions, revocation and review: what the
// security review looks at, for a spreadsheet. Same period parameters as /security/access.
const CSV_MAX_ROWS = 50_000;

const HEADER = [
  'grant_id',
  'requested_at_utc',
  'requester_staff_id',
  'requester_name',
  'user_id',
  'categories',
  'reason_code',
  'justification',
  'ticket_ref',
  'duration_minutes',
  'state',
  'decisions',
  'starts_at_utc',
  'ends_at_utc',
  'revoked_at_utc',
  'revoke_basis',
  'revoked_by',
  'break_glass',
  'reviewed_at_utc',
  'reviewed_by',
];

function record(r: GrantExportRow): CsvValue[] {
  return [
    r.grantId,
    r.createdAt,
    r.staffId,
    r.staffName,
    r.userId,
    r.categories.join(' '),
    r.reasonCode,
    r.justification,
    r.ticketRef,
    r.durationMinutes,
    r.state,
    r.approvers,
    r.startsAt,
    r.endsAt,
    r.revokedAt,
    r.revokeBasis,
    r.revokedByName,
    r.breakGlass,
    r.reviewedAt,
    r.reviewedByName,
  ];
}

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const { fromDay, toDay, period } = attempt(() =>
    parsePeriodQuery(new URL(args.request.url).searchParams),
  );
  const { rows, truncated } = await grantsForExport(period, CSV_MAX_ROWS);
  // Audit, then show: the download is on record before its first byte leaves; if the entry cannot
  // be written, this throws and nothing is sent.
  await recordAudit(me, {
    action: 'export.run',
    outcome: 'allowed',
    details: { kind: 'security_access', rows: rows.length },
  });
  async function* records() {
    for (const r of rows) yield record(r);
  }
  return new Response(csvStream(HEADER, records(), { bom: true }), {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="security-access-${fromDay}-to-${toDay}.csv"`,
      'Cache-Control': 'no-store',
      'X-Custodian-Rows': String(rows.length),
      'X-Custodian-Truncated': String(truncated),
    },
  });
}
