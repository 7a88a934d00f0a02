import { sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { MetricsQuerySchema } from './input.server.ts';
import { REQUEST_TYPES, type RequestType } from './vocabulary.ts';

// The figures the CCPA regulations (11 CCR §7102) ask a business handling many consumers' data
// to publish each year, month by month and by type: requests received, complied with (completed)
// and denied; the median and mean days to complete; and here also the share completed on time
// (on or before the effective due day, the extended one when extended). One aggregate statement
// over console.privacy_requests; no personal data, no per-row work (ADR 027).
//
// A request counts as received in the month it arrived, and as completed or denied in the month
// it closed; days to complete run from receipt to completion (calendar time, pauses included).

export interface MetricsCell {
  /** `YYYY-MM`, or null for the whole range. */
  month: string | null;
  /** null for every type together. */
  type: RequestType | null;
  received: number;
  completed: number;
  denied: number;
  medianDays: number | null;
  meanDays: number | null;
  completedOnTime: number;
  /** completedOnTime / completed, null when nothing was completed. */
  onTimeShare: number | null;
}

export interface Metrics {
  from: string;
  to: string;
  months: string[];
  cells: MetricsCell[];
}

const monthOf = (d: Date) => d.toISOString().slice(0, 7);
function addMonths(month: string, n: number): string {
  const d = new Date(`${month}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + n);
  return monthOf(d);
}

/** The metrics of a range of whole months (default: the twelve ending with this one). */
export async function privacyMetrics(params: Record<string, string | undefined>): Promise<Metrics> {
  const query = parseParams(MetricsQuerySchema, params);
  const to = query.to ?? (query.from ? addMonths(query.from, 11) : monthOf(now()));
  const from = query.from ?? addMonths(to, -11);
  const start = `${from}-01T00:00:00Z`;
  const end = `${addMonths(to, 1)}-01T00:00:00Z`;
  const rows = await getDb().execute<{
    month: string | null;
    type: RequestType | null;
    received: number;
    completed: number;
    denied: number;
    median_days: number | null;
    mean_days: number | null;
    on_time: number;
  }>(sql`
    with events as (
      select type, date_trunc('month', received_at at time zone 'UTC') as month,
             'received' as what, null::float8 as days, false as on_time
        from console.privacy_requests
       where received_at >= ${start}::timestamptz and received_at < ${end}::timestamptz
      union all
      select type, date_trunc('month', closed_at at time zone 'UTC'), state,
             case when state = 'completed'
                  then extract(epoch from completed_at - received_at)::float8 / 86400 end,
             state = 'completed' and (completed_at at time zone 'UTC')::date <= due_day
        from console.privacy_requests
       where state in ('completed', 'denied')
         and closed_at >= ${start}::timestamptz and closed_at < ${end}::timestamptz
    )
    select to_char(month, 'YYYY-MM') as month, type,
           count(*) filter (where what = 'received')::int as received,
           count(*) filter (where what = 'completed')::int as completed,
           count(*) filter (where what = 'denied')::int as denied,
           percentile_cont(0.5) within group (order by days) as median_days,
           avg(days) as mean_days,
           count(*) filter (where on_time)::int as on_time
      from events
     group by grouping sets ((month, type), (month), (type), ())
     order by month nulls last, type nulls last`);
  const round = (n: number | null) => (n === null ? null : Math.round(Number(n) * 10) / 10);
  const months: string[] = [];
  for (let m = from; m <= to; m = addMonths(m, 1)) months.push(m);
  const cells = rows
    .filter((r) => r.type === null || (REQUEST_TYPES as readonly string[]).includes(r.type))
    .map((r): MetricsCell => ({
      month: r.month,
      type: r.type,
      received: r.received,
      completed: r.completed,
      denied: r.denied,
      medianDays: round(r.median_days),
      meanDays: round(r.mean_days),
      completedOnTime: r.on_time,
      onTimeShare: r.completed > 0 ? r.on_time / r.completed : null,
    }));
  return { from, to, months, cells };
}
