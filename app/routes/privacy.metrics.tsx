import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData } from '@remix-run/react';
import { ChartFigure, formatPercent } from '#app/components/charts/chart-figure.tsx';
import { CountBarChart } from '#app/components/charts/count-bar-chart.tsx';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { requires } from '#app/modules/auth/access.ts';
import { privacyMetrics, type MetricsCell } from '#app/modules/privacy/metrics.server.ts';
import { REQUEST_TYPES, TYPE_LABELS, type RequestType } from '#app/modules/privacy/vocabulary.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer } from '#app/utils/http.server.ts';

export const access = requires('privacy:process');

export const meta: MetaFunction = () => [{ title: 'Privacy request metrics · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  const params = Object.fromEntries(new URL(args.request.url).searchParams);
  const metrics = await privacyMetrics(params).catch(answer);
  const csv = new URLSearchParams({ from: metrics.from, to: metrics.to });
  return json({ ...metrics, csvHref: `/privacy/metrics.csv?${csv.toString()}` });
}

const SERIES = [
  { key: 'received', label: 'Received', color: '#2563eb' },
  { key: 'completed', label: 'Completed', color: '#16a34a' },
  { key: 'denied', label: 'Denied', color: '#dc2626' },
];

type Row = MetricsCell & { key: string; label: string };
const col = columnHelper<Row>();
const days = (n: number | null) => (n === null ? '—' : n.toFixed(1));
const columns = col.columns([
  col.accessor('label', { header: '' }),
  col.accessor('received', { header: 'Received' }),
  col.accessor('completed', { header: 'Completed' }),
  col.accessor('denied', { header: 'Denied' }),
  col.accessor('medianDays', { header: 'Median days', cell: (i) => days(i.getValue()) }),
  col.accessor('meanDays', { header: 'Mean days', cell: (i) => days(i.getValue()) }),
  col.accessor('onTimeShare', {
    header: 'On time',
    cell: (i) => {
      const share = i.getValue();
      const r = i.row.original;
      return share === null ? '—' : `${formatPercent(share)} (${r.completedOnTime}/${r.completed})`;
    },
  }),
]);

export default function PrivacyMetricsRoute() {
  const data = useLoaderData<typeof loader>();
  const cell = (month: string | null, type: RequestType | null) =>
    data.cells.find((c) => c.month === month && c.type === type);
  const zero = (month: string | null, type: RequestType | null): MetricsCell => ({
    month,
    type,
    received: 0,
    completed: 0,
    denied: 0,
    medianDays: null,
    meanDays: null,
    completedOnTime: 0,
    onTimeShare: null,
  });
  const total = cell(null, null) ?? zero(null, null);
  const byType: Row[] = [
    ...REQUEST_TYPES.map((t) => ({
      ...(cell(null, t) ?? zero(null, t)),
      key: t,
      label: TYPE_LABELS[t],
    })),
    { ...total, key: 'all', label: 'All types' },
  ];
  const byMonth: Row[] = data.months.map((m) => ({
    ...(cell(m, null) ?? zero(m, null)),
    key: m,
    label: m,
  }));
  return (
    <main>
      <p>
        <Link to="/privacy">← Privacy requests</Link>
      </p>
      <h1>Privacy request metrics</h1>
      <p className="muted">
        The figures the CCPA regulations (§7102) ask a large business to publish: requests received,
        completed and denied, by type and month; the median and mean days to complete; and the share
        completed on or before the effective due day. A request counts as received in the month it
        arrived and as completed or denied in the month it closed.
      </p>
      <Form method="get" className="table-tools" aria-label="Months">
        <div>
          <label htmlFor="from">From</label>
          <input id="from" name="from" type="month" defaultValue={data.from} />
        </div>
        <div>
          <label htmlFor="to">To</label>
          <input id="to" name="to" type="month" defaultValue={data.to} />
        </div>
        <button type="submit">Show</button>
        <a className="button secondary" href={data.csvHref} download>
          Download CSV
        </a>
      </Form>
      <section className="panel">
        <dl className="facts">
          <dt>Received</dt>
          <dd data-metric="received">{total.received}</dd>
          <dt>Completed</dt>
          <dd data-metric="completed">{total.completed}</dd>
          <dt>Denied</dt>
          <dd data-metric="denied">{total.denied}</dd>
          <dt>Days to complete</dt>
          <dd data-metric="days">
            median {days(total.medianDays)} · mean {days(total.meanDays)}
          </dd>
          <dt>Completed on time</dt>
          <dd data-metric="on-time">
            {total.onTimeShare === null ? '—' : formatPercent(total.onTimeShare)}
          </dd>
        </dl>
      </section>
      <ChartFigure
        id="privacy-by-month"
        title="Requests by month"
        description={`Received, completed and denied, ${data.from} to ${data.to} (UTC months).`}
        summary={`${total.received} received, ${total.completed} completed and ${total.denied} denied from ${data.from} to ${data.to}.`}
        height={280}
        table={
          <DataTable
            caption="By month, every type"
            columns={columns}
            data={byMonth}
            getRowId={(r) => r.key}
            paged={false}
            empty="No requests in this range."
          />
        }
      >
        <CountBarChart
          data={byMonth.map((r) => ({
            period: r.key,
            values: { received: r.received, completed: r.completed, denied: r.denied },
          }))}
          series={SERIES}
          height={280}
        />
      </ChartFigure>
      <DataTable
        caption={`By type, ${data.from} to ${data.to}`}
        columns={columns}
        data={byType}
        getRowId={(r) => r.key}
        paged={false}
        empty="No requests in this range."
      />
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
