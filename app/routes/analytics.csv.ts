import type { LoaderFunctionArgs } from '@remix-run/node';
import { parseRange, releasedCells, shownFigure } from '#app/modules/analytics/read.server.ts';
import { formatEpsilonMicros } from '#app/modules/analytics/release.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { toCsv, type CsvValue } from '#app/utils/csv.ts';

export const access = requires('analytics:read', { writesOnGet: true });

// The released figures of the page's date range, one row per stored cell: only noisy values and
// their public parameters, never contributions or events (those never leave the build job).
const HEADER = [
  'release',
  'period_start',
  'period_end',
  'figure',
  'category',
  'value',
  'ci95_low',
  'ci95_high',
  'low_precision',
  'release_epsilon',
  'min_cohort_k',
  'released_at',
];

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
  const rows: CsvValue[][] = cells.map((c) => {
    // The figures as the page shows them: clamped at zero (the stored cell stays as drawn).
    const shown = shownFigure(c);
    return [
      c.kind,
      c.periodStart,
      c.periodEnd,
      c.metric,
      c.category,
      shown.value,
      shown.low,
      shown.high,
      shown.lowPrecision,
      formatEpsilonMicros(c.epsilonMicros),
      c.minCohort,
      c.releasedAt,
    ];
  });
  // Audit, then show: the download is on record before its first byte leaves.
  await recordAudit(me, {
    action: 'analytics.export',
    outcome: 'allowed',
    details: { from: range.from, to: range.to, releases, rows: rows.length },
  });
  return new Response(`\uFEFF${toCsv(HEADER, rows)}`, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="analytics-${range.from}-to-${range.to}.csv"`,
      'Cache-Control': 'no-store',
      'X-Custodian-Rows': String(rows.length),
    },
  });
}
