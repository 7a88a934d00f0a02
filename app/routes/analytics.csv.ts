import type { LoaderFunctionArgs } from '@remix-run/node';
import { releasedFiguresCsv } from '#app/modules/analytics/csv.server.ts';
import { parseRange, releasedCells } from '#app/modules/analytics/read.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { requires } from '#app/modules/auth/access.ts';

export const access = requires('analytics:read', { writesOnGet: true });

// The released figures of the page's date range, one row per stored cell (the writer and its
// columns: app/modules/analytics/csv.server.ts, shared with the sharing of figures, ADR 037).

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const parsed = await parseRange(new URL(args.request.url).searchParams);
  if (!parsed.ok) {
    return new Response(`${Object.values(parsed.fieldErrors).join('\n')}\n`, {
      status: 400,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
    });
  }
  const { range } = parsed;
  const { releases, cells } = await releasedCells(range);
  const csv = releasedFiguresCsv(cells);
  // Audit, then show: the download is on record before its first byte leaves.
  await recordAudit(me, {
    action: 'analytics.export',
    outcome: 'allowed',
    details: { from: range.from, to: range.to, releases, rows: csv.rows },
  });
  return new Response(csv.text, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="analytics-${range.from}-to-${range.to}.csv"`,
      'Cache-Control': 'no-store',
      'X-Custodian-Rows': String(csv.rows),
    },
  });
}
