import type { LoaderFunctionArgs } from '@remix-run/node';
import { requires } from '#app/modules/auth/access.ts';
import { privacyMetrics } from '#app/modules/privacy/metrics.server.ts';
import { toCsv, type CsvValue } from '#app/utils/csv.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer } from '#app/utils/http.server.ts';

export const access = requires('privacy:process');

// The metrics page's figures, one row per month and type (and the totals, with `all` in place of
// the month or the type): aggregates of the console's own records, no personal data.
const HEADER = [
  'month',
  'type',
  'received',
  'completed',
  'denied',
  'median_days_to_complete',
  'mean_days_to_complete',
  'completed_on_time',
  'on_time_share',
];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const params = Object.fromEntries(new URL(args.request.url).searchParams);
  const metrics = await privacyMetrics(params).catch(answer);
  const rows: CsvValue[][] = metrics.cells.map((c) => [
    c.month ?? 'all',
    c.type ?? 'all',
    c.received,
    c.completed,
    c.denied,
    c.medianDays,
    c.meanDays,
    c.completedOnTime,
    c.onTimeShare === null ? null : Math.round(c.onTimeShare * 1000) / 1000,
  ]);
  return new Response(`\uFEFF${toCsv(HEADER, rows)}`, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="privacy-metrics-${metrics.from}-to-${metrics.to}.csv"`,
      'Cache-Control': 'no-store',
    },
  });
}
