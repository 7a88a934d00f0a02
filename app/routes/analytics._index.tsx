import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useLoaderData } from '@remix-run/react';
import type { ReactNode } from 'react';
import {
  ChartFigure,
  figureText,
  formatPercent,
  type ChartFigureValue,
} from '#app/components/charts/chart-figure.tsx';
import { GroupedIntervalBarChart } from '#app/components/charts/grouped-interval-bar-chart.tsx';
import { IntervalBarChart } from '#app/components/charts/interval-bar-chart.tsx';
import { IntervalLineChart } from '#app/components/charts/interval-line-chart.tsx';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { anyRelease, loadAnalyticsView, parseRange } from '#app/modules/analytics/read.server.ts';
import { formatEpsilonMicros } from '#app/modules/analytics/release.ts';
import { guard } from '#app/utils/guard.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { utcDate } from '#app/components/time.tsx';

export const access = requires('analytics:read');

export const meta: MetaFunction = () => [{ title: 'Usage analytics · Custodian' }];

// What each stored figure is called on the page, in the order the parameters are listed.
const FIGURES: { kind: string; key: string; label: string }[] = [
  { kind: 'daily', key: 'dau', label: 'Daily active users' },
  { kind: 'daily', key: 'messages', label: 'Messages per day' },
  { kind: 'daily', key: 'conversations', label: 'Conversations per day' },
  { kind: 'daily', key: 'tokens', label: 'Tokens per day' },
  { kind: 'weekly', key: 'wau', label: 'Weekly active users' },
  { kind: 'monthly', key: 'mau', label: 'Monthly active users' },
  { kind: 'monthly', key: 'plan', label: 'Active users by plan' },
  { kind: 'monthly', key: 'country', label: 'Active users by country' },
  { kind: 'monthly', key: 'model_users', label: 'Users by model' },
  { kind: 'monthly', key: 'model_conversations', label: 'Conversations by model' },
  { kind: 'preferences', key: 'population', label: 'Accounts (opt-out denominator)' },
  { kind: 'preferences', key: 'opted_out', label: 'Opted out, per purpose' },
];

const MODEL_COLORS = ['#2563eb', '#0f766e', '#7c3aed', '#c2410c', '#be185d'];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const parsed = await parseRange(new URL(args.request.url).searchParams);
  const view = await loadAnalyticsView(parsed.range);
  const exists = view.releases > 0 || (await anyRelease());
  const parameters = FIGURES.flatMap((f) => {
    const p = view.params[f.kind as keyof typeof view.params]?.[f.key] as
      | { epsilonMicros: number; sensitivity: number; halfWidth95: number; delta?: number }
      | undefined;
    return p
      ? [
          {
            label: f.label,
            epsilon: formatEpsilonMicros(p.epsilonMicros),
            sensitivity: p.sensitivity,
            halfWidth: p.halfWidth95,
            delta: p.delta ?? null,
          },
        ]
      : [];
  });
  const csv = new URLSearchParams({ from: parsed.range.from, to: parsed.range.to });
  return json(
    {
      exists,
      range: parsed.range,
      fieldErrors: parsed.ok ? null : parsed.fieldErrors,
      minCohort: view.minCohort,
      daily: view.daily,
      weekly: view.weekly,
      monthly: view.monthly,
      preferences: view.preferences,
      budgets: view.budgets.map((b) => ({
        dataset: b.dataset,
        month: b.month,
        spent: formatEpsilonMicros(b.spentMicros),
        budget: formatEpsilonMicros(b.budgetMicros),
        remaining: formatEpsilonMicros(Math.max(0, b.budgetMicros - b.spentMicros)),
        share: b.budgetMicros > 0 ? Math.min(1, b.spentMicros / b.budgetMicros) : 1,
      })),
      refusals: view.refusals.map((r) => ({
        kind: r.kind,
        period: r.period,
        month: r.month,
        epsilon: formatEpsilonMicros(r.epsilonMicros),
        spent: formatEpsilonMicros(r.spentMicros),
        budget: formatEpsilonMicros(r.budgetMicros),
      })),
      parameters,
      csvHref: `/analytics/csv?${csv.toString()}`,
      // The sharing of released figures (ADR 037): the form for its holders, the log for readers.
      canShare: me.permissions.has('analytics:share'),
      canReadShares: me.permissions.has('privacy:process') || me.permissions.has('security:review'),
    },
    { status: parsed.ok ? 200 : 400 },
  );
}

type Data = ReturnType<typeof useLoaderData<typeof loader>>;

interface FigureRow {
  key: string;
  cells: ReactNode[];
}
const figureCol = columnHelper<FigureRow>();

function FigureTable(props: { caption: string; columns: string[]; rows: FigureRow[] }) {
  const columns = props.columns.map((header, i) =>
    figureCol.display({ id: String(i), header, cell: (info) => info.row.original.cells[i] }),
  );
  return (
    <DataTable
      caption={props.caption}
      columns={columns}
      data={props.rows}
      getRowId={(r) => r.key}
      empty="Nothing released in this range."
      rowHeader
      paged={false}
    />
  );
}

/**
 * One released series (over time, or by category) as a chart with its figures as a table: a line
 * with its band, or bars with error bars. A point or category without a figure is below k.
 */
function SeriesChart(props: {
  id: string;
  title: string;
  description: ReactNode;
  /** The table's first column: what a point is (a day, a month, a plan…). */
  column: string;
  unit: string;
  color: string;
  points: { key: string; figure: ChartFigureValue | null }[];
  draw: 'line' | 'bars' | 'horizontal-bars';
  /** Said instead of the chart when no point has a figure. */
  empty: string;
  height?: number;
  format?: (n: number) => string;
}) {
  const shown = props.points.filter((p) => p.figure);
  const values = shown.map((p) => p.figure!.value);
  const summary = shown.length
    ? `${props.title}: ${shown.length} of ${props.points.length} shown, from ${Math.min(...values).toLocaleString('en')} to ${Math.max(...values).toLocaleString('en')}.`
    : props.empty;
  return (
    <ChartFigure
      id={props.id}
      title={props.title}
      description={props.description}
      summary={summary}
      height={props.height}
      empty={shown.length ? null : props.empty}
      table={
        <FigureTable
          caption={`${props.title}, released values with 95% intervals`}
          columns={[props.column, props.unit]}
          rows={props.points.map((p) => ({
            key: p.key,
            cells: [p.key, figureText(p.figure, props.format)],
          }))}
        />
      }
    >
      {props.draw === 'line' ? (
        <IntervalLineChart
          data={props.points.map((p) => ({ x: p.key, figure: p.figure }))}
          color={props.color}
          unit={props.unit}
        />
      ) : (
        <IntervalBarChart
          data={shown.map((p) => ({ label: p.key, figure: p.figure! }))}
          color={props.color}
          unit={props.unit}
          horizontal={props.draw === 'horizontal-bars'}
          height={props.height}
          format={props.format}
        />
      )}
    </ChartFigure>
  );
}

function DailyChart(props: {
  id: string;
  title: string;
  unit: string;
  color: string;
  daily: Data['daily'];
  pick: (d: Data['daily'][number]) => ChartFigureValue | null;
  k: number | null;
}) {
  return (
    <SeriesChart
      id={props.id}
      title={props.title}
      description={`Per UTC day; the band is the 95% interval of the noise, hollow points are low precision, gaps are days under ${props.k ?? 'k'} active users.`}
      column="Day"
      unit={props.unit}
      color={props.color}
      points={props.daily.map((d) => ({ key: d.day, figure: props.pick(d) }))}
      draw="line"
      empty={`No day in this range reached k = ${props.k ?? 50} active users, so no ${props.unit} figure is shown.`}
    />
  );
}

const budgetCol = columnHelper<Data['budgets'][number]>();
const budgetColumns = budgetCol.columns([
  budgetCol.accessor('month', { header: 'Month' }),
  budgetCol.accessor('dataset', { header: 'Dataset' }),
  budgetCol.accessor('spent', {
    header: 'Spent',
    cell: ({ row: { original: b } }) => (
      <>
        <meter
          min={0}
          max={1}
          value={b.share}
          aria-label={`${b.dataset} ${b.month}: ${b.spent} of ${b.budget} spent`}
          className="budget-meter"
        />
        ε = {b.spent}
      </>
    ),
  }),
  budgetCol.accessor('budget', { header: 'Budget', cell: (info) => `ε = ${info.getValue()}` }),
  budgetCol.accessor('remaining', {
    header: 'Remaining',
    cell: (info) => `ε = ${info.getValue()}`,
  }),
]);

function BudgetPanel({
  budgets,
  refusals,
}: {
  budgets: Data['budgets'];
  refusals: Data['refusals'];
}) {
  return (
    <section className="panel" aria-labelledby="budget-title">
      <h2 id="budget-title" className="panel-heading">
        Privacy budget
      </h2>
      <p className="muted flush-top">
        Every release spends ε from the monthly budget of its dataset, in each month of data it
        describes. A release that would go over is refused and nothing of it is shown.
      </p>
      {refusals.length ? (
        <div className="form-error spaced" role="status" data-testid="budget-refusals">
          <strong>
            {refusals.length} release{refusals.length === 1 ? ' was' : 's were'} refused: the budget
            is spent.
          </strong>
          <ul className="tight-list">
            {refusals.slice(0, 8).map((r) => (
              <li key={`${r.kind}-${r.period}`}>
                The {r.kind} release of {r.period} needs ε = {r.epsilon}, but {r.spent} of the{' '}
                {r.month} budget of {r.budget} is already spent.
              </li>
            ))}
          </ul>
          {refusals.length > 8 ? <p className="tight">…and {refusals.length - 8} more.</p> : null}
        </div>
      ) : null}
      <DataTable
        caption="ε spent per month of data, by dataset"
        columns={budgetColumns}
        data={budgets}
        getRowId={(b) => `${b.month}-${b.dataset}`}
        empty="Nothing has been spent for these months."
        rowHeader
        paged={false}
        testId="budget-table"
      />
    </section>
  );
}

export default function AnalyticsRoute() {
  const data = useLoaderData<typeof loader>();
  const k = data.minCohort;
  const latestMonth = data.monthly.at(-1) ?? null;
  return (
    <>
      <div className="page-header">
        <h1>Usage analytics</h1>
        <span className="row">
          {data.canReadShares ? (
            <Link className="button secondary" to="/analytics/shares">
              Sharing log
            </Link>
          ) : null}
          {data.exists && data.canShare ? (
            <Link className="button secondary" to="/analytics/shares/new">
              Share released figures
            </Link>
          ) : null}
          {data.exists ? (
            <a className="button" href={data.csvHref}>
              Download the released figures (CSV)
            </a>
          ) : null}
        </span>
      </div>
      <p className="flush-top">
        Aggregates only, from releases made by a scheduled job: every figure carries calibrated
        noise drawn once and stored, so every viewer sees the same numbers. Bands and ranges are 95%
        intervals; a category is shown only when its noisy count of distinct users is at least k ={' '}
        {k ?? 50}. Users who objected to analytics are left out.
      </p>
      <p className="flush-top" data-testid="band-meaning">
        Every figure has random noise added so that no single person can be picked out of it; the
        shaded band (or error bar) around a figure is the range that noise stays within 95 times out
        of 100, so the true figure lies inside it with at least 95% probability, and figures and
        bands are never shown below zero, since no count can be.
      </p>
      <Form method="get" className="table-tools" role="search" aria-label="Date range">
        <div className="field-md">
          <label htmlFor="from">From (UTC day)</label>
          <input
            id="from"
            name="from"
            type="date"
            defaultValue={data.range.from}
            aria-invalid={data.fieldErrors?.from ? true : undefined}
            aria-describedby={data.fieldErrors?.from ? 'range-error' : undefined}
          />
        </div>
        <div className="field-md">
          <label htmlFor="to">To (UTC day, included)</label>
          <input
            id="to"
            name="to"
            type="date"
            defaultValue={data.range.to}
            aria-invalid={data.fieldErrors?.to ? true : undefined}
            aria-describedby={data.fieldErrors?.to ? 'range-error' : undefined}
          />
        </div>
        <button type="submit">Show</button>
        <span className="muted center-self">
          {data.range.from} to {data.range.to}
        </span>
        <Link to="/analytics" className="center-self">
          Last 90 days
        </Link>
      </Form>
      {data.fieldErrors ? (
        <p className="form-error" role="alert" id="range-error">
          {Object.values(data.fieldErrors).join(' ')} Showing the last 90 released days instead.
        </p>
      ) : null}

      {!data.exists ? (
        <section className="panel" aria-labelledby="empty-title">
          <h2 id="empty-title" className="panel-heading">
            No release yet
          </h2>
          <p className="empty">
            No analytics release has been published yet. The build job runs at start-up and every
            hour; the first build takes under a minute on the demo data. Reload this page then.
          </p>
        </section>
      ) : (
        <>
          <BudgetPanel budgets={data.budgets} refusals={data.refusals} />
          <h2>Active users</h2>
          <div className="chart-grid">
            <DailyChart
              id="dau"
              title="Daily active users"
              unit="users"
              color="#2563eb"
              daily={data.daily}
              pick={(d) => d.dau}
              k={k}
            />
            <SeriesChart
              id="wau"
              title="Weekly active users"
              description="Distinct users per ISO week (Monday to Sunday), complete weeks only."
              column="Week of"
              unit="users"
              color="#0f766e"
              points={data.weekly.map((w) => ({ key: w.start, figure: w.wau }))}
              draw="line"
              empty="No complete week in this range has a figure at or above k."
            />
            <SeriesChart
              id="mau"
              title="Monthly active users"
              description="Distinct users per calendar month, complete months only."
              column="Month"
              unit="users"
              color="#7c3aed"
              points={data.monthly.map((m) => ({ key: m.month, figure: m.mau }))}
              draw="bars"
              empty="No complete month in this range has a figure at or above k."
            />
          </div>

          <h2>Activity</h2>
          <div className="chart-grid">
            <DailyChart
              id="messages"
              title="Messages per day"
              unit="messages"
              color="#c2410c"
              daily={data.daily}
              pick={(d) => d.messages}
              k={k}
            />
            <DailyChart
              id="conversations"
              title="Conversations per day"
              unit="conversations"
              color="#be185d"
              daily={data.daily}
              pick={(d) => d.conversations}
              k={k}
            />
            <DailyChart
              id="tokens"
              title="Tokens per day"
              unit="tokens"
              color="#4d7c0f"
              daily={data.daily}
              pick={(d) => d.tokens}
              k={k}
            />
            <ChartFigure
              id="models"
              title="Conversations by model"
              description="Per calendar month; a model used by fewer than k users that month has no bar."
              summary={`Conversations by model for ${data.monthly.length} months.`}
              empty={
                data.monthly.some((m) => m.models.some((x) => x.conversations))
                  ? null
                  : 'No model reached k users in a complete month of this range.'
              }
              height={260}
              table={
                <FigureTable
                  caption="Conversations and users by model and month"
                  columns={['Month / model', 'Conversations', 'Users']}
                  rows={data.monthly.flatMap((m) =>
                    m.models.map((x) => ({
                      key: `${m.month}-${x.key}`,
                      cells: [
                        `${m.month} ${x.key}`,
                        figureText(x.conversations),
                        figureText(x.users),
                      ],
                    })),
                  )}
                />
              }
            >
              <GroupedIntervalBarChart
                data={data.monthly.map((m) => ({
                  period: m.month,
                  values: Object.fromEntries(m.models.map((x) => [x.key, x.conversations])),
                }))}
                series={(data.monthly[0]?.models ?? []).flatMap((x, i) =>
                  data.monthly.some((m) => m.models[i]?.conversations)
                    ? [{ key: x.key, label: x.key, color: MODEL_COLORS[i % MODEL_COLORS.length]! }]
                    : [],
                )}
                unit="conversations"
              />
            </ChartFigure>
          </div>

          <h2>Who uses the service{latestMonth ? ` (${latestMonth.month})` : ''}</h2>
          <div className="chart-grid">
            <SeriesChart
              id="plans"
              title="Plan mix"
              description="Active users of the last complete month in the range, by plan (the plan of their last active day)."
              column="Plan"
              unit="users"
              color="#2563eb"
              points={latestMonth?.plans ?? []}
              draw="bars"
              empty="No plan reached k active users in a complete month of this range."
            />
            <SeriesChart
              id="countries"
              title="Countries above the threshold"
              description="Active users by country (the most frequent in their last active day); only countries with a noisy count of at least k."
              column="Country"
              unit="users"
              color="#0f766e"
              points={latestMonth?.countries ?? []}
              draw="horizontal-bars"
              height={Math.max(200, 28 * (latestMonth?.countries.length ?? 0) + 40)}
              empty="No country reached k active users in a complete month of this range."
            />
            <ChartFigure
              id="optouts"
              title="Opt-out rates per purpose"
              description={
                data.preferences
                  ? `Share of accounts that opted out of each purpose, snapshot of ${utcDate(data.preferences.snapshotAt)}. The interval is the opted-out count's; the denominator's own noise is smaller and not included.`
                  : 'No preferences snapshot released yet.'
              }
              summary={
                data.preferences
                  ? `Opt-out rates for ${data.preferences.purposes.filter((p) => p.rate).length} purposes.`
                  : 'No preferences snapshot released yet.'
              }
              empty={
                data.preferences?.purposes.some((p) => p.rate)
                  ? null
                  : 'No purpose has k or more opted-out accounts in the latest snapshot.'
              }
              table={
                <FigureTable
                  caption="Opted-out accounts and rate per purpose"
                  columns={['Purpose', 'Opted out', 'Rate']}
                  rows={(data.preferences?.purposes ?? []).map((p) => ({
                    key: p.key,
                    cells: [p.key, figureText(p.optedOut), figureText(p.rate, formatPercent)],
                  }))}
                />
              }
            >
              <IntervalBarChart
                data={(data.preferences?.purposes ?? []).flatMap((p) =>
                  p.rate ? [{ label: p.key, figure: p.rate }] : [],
                )}
                color="#7c3aed"
                unit="opted out"
                format={formatPercent}
              />
            </ChartFigure>
          </div>

          <section className="panel" aria-labelledby="params-title">
            <h2 id="params-title" className="panel-heading">
              How these figures are made
            </h2>
            <p>
              Each user counts once per day; their messages, conversations and tokens per day are
              capped before summing, so that one user moves a figure by at most its sensitivity.
              Noise is exact discrete Laplace noise with scale sensitivity/ε. A figure is marked low
              precision when its 95% interval is wider than ±5% of its value.
            </p>
            <FigureTable
              caption="Parameters of the releases shown (public)"
              columns={['Figure', 'ε', 'Sensitivity', '95% interval ±']}
              rows={data.parameters.map((p) => ({
                key: p.label,
                cells: [
                  p.label,
                  `${p.epsilon}${p.delta ? ` (δ = ${p.delta} for unlisted codes)` : ''}`,
                  p.sensitivity,
                  p.halfWidth.toLocaleString('en'),
                ],
              }))}
            />
          </section>
        </>
      )}
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
