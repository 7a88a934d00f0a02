import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { getDb } from '#app/db/client.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { MODELS, PLANS, PURPOSES } from '#app/modules/vocabulary.ts';
import type { Dataset, ReleaseKind } from './config.server.ts';
import { addDays, dayOf, daysBetween, isDay, monthsTouched } from './periods.server.ts';

/**
 * What the analytics pages read: stored releases only (never contributions or events), so a page
 * costs a few index reads whatever the number of events.
 */

export const MAX_RANGE_DAYS = 400;
export const DEFAULT_RANGE_DAYS = 90;

const day = z
  .string()
  .trim()
  .refine(isDay, 'must be a date written YYYY-MM-DD')
  .optional()
  .or(z.literal('').transform(() => undefined));

export const RangeQuerySchema = z
  .object({ from: day, to: day })
  .refine((r) => !r.from || !r.to || r.from <= r.to, {
    path: ['to'],
    message: 'must not be before the start date',
  })
  .refine((r) => !r.from || !r.to || daysBetween(r.from, r.to) < MAX_RANGE_DAYS, {
    path: ['from'],
    message: `the range may span at most ${MAX_RANGE_DAYS} days`,
  });

export interface Range {
  from: string;
  to: string;
}

export type RangeParse =
  { ok: true; range: Range } | { ok: false; range: Range; fieldErrors: Record<string, string> };

async function latestReleasedDay(): Promise<string | null> {
  const [row] = await getDb().execute<{ day: string | null }>(sql`
    select max(period_start)::text as day from console.analytics_releases where kind = 'daily'`);
  return row?.day ?? null;
}

/**
 * The date range of a page from its search parameters: by default the last 90 released days. A
 * bad value falls back to the default and is reported, naming the field.
 */
export async function parseRange(params: URLSearchParams): Promise<RangeParse> {
  const latest = (await latestReleasedDay()) ?? addDays(dayOf(now()), -1);
  const parsed = RangeQuerySchema.safeParse({
    from: params.get('from') ?? undefined,
    to: params.get('to') ?? undefined,
  });
  const complete = (from?: string, to?: string): Range => {
    const end = to ?? (from ? addDays(from, DEFAULT_RANGE_DAYS - 1) : latest);
    return { from: from ?? addDays(end, -(DEFAULT_RANGE_DAYS - 1)), to: end };
  };
  if (parsed.success) return { ok: true, range: complete(parsed.data.from, parsed.data.to) };
  const fieldErrors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? 'from');
    fieldErrors[field] ??= `${field === 'from' ? 'From' : 'To'}: ${issue.message}`;
  }
  return { ok: false, range: complete(), fieldErrors };
}

/** A released figure: value, its 95% interval, and whether the interval is wider than ±5%. */
export interface Figure {
  value: number;
  low: number;
  high: number;
  lowPrecision: boolean;
}

export interface ReleasedCellRow {
  kind: ReleaseKind;
  periodStart: string;
  periodEnd: string;
  epsilonMicros: number;
  minCohort: number;
  releasedAt: string;
  metric: string;
  category: string;
  value: number;
  halfWidth: number;
  lowPrecision: boolean;
}

/** Every stored cell of the releases that cover the range, oldest first. */
export async function releasedCells(range: Range): Promise<{
  releases: number;
  cells: ReleasedCellRow[];
  params: Partial<Record<ReleaseKind, Record<string, unknown>>>;
}> {
  const rows = await getDb().execute<{
    id: string;
    kind: ReleaseKind;
    period_start: string;
    period_end: string;
    epsilon_micros: string;
    min_cohort: number;
    released_at: string;
    params: Record<string, unknown> | null;
    metric: string | null;
    category: string | null;
    value: string | null;
    half_width: number | null;
    low_precision: boolean | null;
  }>(sql`
    with chosen as (
      select r.* from console.analytics_releases r
       where (r.kind = 'daily' and r.period_start between ${range.from} and ${range.to})
          or (r.kind in ('weekly', 'monthly')
              and r.period_end > ${range.from} and r.period_start <= ${range.to})
      union all
      (select r.* from console.analytics_releases r
        where r.kind = 'preferences' and r.period_start <= ${range.to}
        order by r.period_start desc limit 1)
    ),
    -- The parameters of the newest release of each kind (the page lists them): read once, not
    -- with every cell.
    latest as (select distinct on (kind) id from chosen order by kind, period_start desc)
    select r.id, r.kind, r.period_start::text, r.period_end::text,
           r.epsilon_micros::text, r.min_cohort, r.released_at::text,
           case when r.id in (select id from latest) then r.params end as params,
           c.metric, c.category, c.value::text, c.half_width, c.low_precision
      from chosen r
      left join console.analytics_cells c on c.release_id = r.id
     order by r.period_start, r.kind, c.metric, c.category`);
  const releases = new Set<string>();
  const params: Partial<Record<ReleaseKind, Record<string, unknown>>> = {};
  const cells: ReleasedCellRow[] = [];
  for (const r of rows) {
    releases.add(r.id);
    if (r.params) params[r.kind] = r.params;
    if (r.metric === null) continue;
    cells.push(cellOf({ ...r, metric: r.metric }));
  }
  return { releases: releases.size, cells, params };
}

type CellSqlRow = {
  kind: ReleaseKind;
  period_start: string;
  period_end: string;
  epsilon_micros: string;
  min_cohort: number;
  released_at: string;
  metric: string;
  category: string | null;
  value: string | null;
  half_width: number | null;
  low_precision: boolean | null;
};

function cellOf(r: CellSqlRow): ReleasedCellRow {
  return {
    kind: r.kind,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    epsilonMicros: Number(r.epsilon_micros),
    minCohort: r.min_cohort,
    releasedAt: new Date(r.released_at).toISOString(),
    metric: r.metric,
    category: r.category ?? '',
    value: Number(r.value),
    halfWidth: r.half_width ?? 0,
    lowPrecision: r.low_precision ?? true,
  };
}

/** A stored release as the sharing form lists it and the sharing log names it (ADR 037). */
export interface ReleaseSummary {
  id: string;
  kind: ReleaseKind;
  dataset: Dataset;
  periodStart: string;
  periodEnd: string;
  cells: number;
}

/** `kind:period_start`, the name of a release in the sharing log and its audit entry. */
export const releaseCode = (r: Pick<ReleaseSummary, 'kind' | 'periodStart'>) =>
  `${r.kind}:${r.periodStart}`;

/** The stored releases a condition picks, with their cell counts, in the order given. */
async function releasesWhere(where: SQL, order: SQL): Promise<ReleaseSummary[]> {
  const rows = await getDb().execute<{
    id: string;
    kind: ReleaseKind;
    dataset: Dataset;
    period_start: string;
    period_end: string;
    cells: number;
  }>(sql`
    select r.id, r.kind, r.dataset, r.period_start::text, r.period_end::text,
           (select count(*)::int from console.analytics_cells c where c.release_id = r.id) as cells
      from console.analytics_releases r
     where ${where}
     order by ${order}`);
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    dataset: r.dataset,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    cells: r.cells,
  }));
}

/** Every stored release, newest period first within each kind (a few hundred at most). */
export function releaseSummaries(): Promise<ReleaseSummary[]> {
  return releasesWhere(
    sql`true`,
    sql`array_position(array['daily', 'weekly', 'monthly', 'preferences'], r.kind::text),
        r.period_start desc`,
  );
}

/**
 * The stored releases among `ids` and their cells, in the order the CSV lists them (period, kind,
 * figure, category). An id that names no release is simply absent: the caller decides. Stored
 * cells are released cells (law 6 is checked when they are stored, and again by a trigger).
 */
export async function cellsOfReleases(ids: readonly string[]): Promise<{
  releases: ReleaseSummary[];
  cells: ReleasedCellRow[];
}> {
  if (ids.length === 0) return { releases: [], cells: [] };
  const list = sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const [releases, rows] = await Promise.all([
    releasesWhere(sql`r.id in (${list})`, sql`r.period_start, r.kind`),
    getDb().execute<CellSqlRow>(sql`
      select r.kind, r.period_start::text, r.period_end::text, r.epsilon_micros::text,
             r.min_cohort, r.released_at::text,
             c.metric, c.category, c.value::text, c.half_width, c.low_precision
        from console.analytics_releases r
        join console.analytics_cells c on c.release_id = r.id
       where r.id in (${list})
       order by r.period_start, r.kind, c.metric, c.category`),
  ]);
  return { releases, cells: rows.map(cellOf) };
}

/**
 * A stored cell as it is shown (page, charts, CSV): every released figure is a count or a sum, so
 * the value and both ends of its interval are clamped at zero. This is post-processing of an
 * already private output, so it costs no privacy budget (ADR 029); the stored cell keeps the value
 * as drawn. A clamped figure keeps its low-precision mark (a drawn value ≤ 0 always has one).
 */
export function shownFigure(
  c: Pick<ReleasedCellRow, 'value' | 'halfWidth' | 'lowPrecision'>,
): Figure {
  return {
    value: Math.max(0, c.value),
    low: Math.max(0, c.value - c.halfWidth),
    high: Math.max(0, c.value + c.halfWidth),
    lowPrecision: c.lowPrecision,
  };
}

const figureOf = (c: ReleasedCellRow | undefined): Figure | null => (c ? shownFigure(c) : null);

export interface BudgetRow {
  dataset: Dataset;
  month: string;
  spentMicros: number;
  budgetMicros: number;
}

export interface RefusalRow {
  kind: ReleaseKind;
  period: string;
  month: string;
  epsilonMicros: number;
  spentMicros: number;
  budgetMicros: number;
  at: string;
}

export async function loadAnalyticsView(range: Range) {
  const db = getDb();
  const months = monthsTouched(range.from, addDays(range.to, 1));
  const [{ releases, cells, params }, budgets, refusals] = await Promise.all([
    releasedCells(range),
    db.execute<{ dataset: Dataset; month: string; spent: string; budget: string }>(sql`
      select dataset, month, spent_micros::text as spent, budget_micros::text as budget
        from console.analytics_budgets
       where month in ${months}
          or (dataset = 'preferences'
              and month = (select max(month) from console.analytics_budgets
                            where dataset = 'preferences' and month <= ${range.to.slice(0, 7)}))
       order by month, dataset`),
    // Refusals of periods in the range that are still unreleased, newest first.
    db.execute<{
      kind: ReleaseKind;
      period: string;
      month: string;
      epsilon: string;
      spent: string;
      budget: string;
      at: string;
    }>(sql`
      select distinct on (l.kind, l.period_start) l.kind, l.period_start::text as period,
             l.month, l.epsilon_micros::text as epsilon, l.spent_before_micros::text as spent,
             l.budget_micros::text as budget, l.at::text as at
        from console.analytics_ledger l
       where l.outcome = 'refused'
         and l.period_start <= ${range.to} and l.period_start >= ${addDays(range.from, -31)}
         and not exists (select 1 from console.analytics_releases r
                          where r.kind = l.kind and r.period_start = l.period_start)
       order by l.kind, l.period_start, l.id desc
       limit 200`),
  ]);

  const byPeriod = new Map<string, ReleasedCellRow[]>();
  for (const c of cells) {
    const key = `${c.kind}/${c.periodStart}`;
    byPeriod.set(key, [...(byPeriod.get(key) ?? []), c]);
  }
  const pick = (kind: ReleaseKind, period: string, metric: string, category = '') =>
    byPeriod.get(`${kind}/${period}`)?.find((c) => c.metric === metric && c.category === category);
  const periods = (kind: ReleaseKind) =>
    [...new Set(cells.filter((c) => c.kind === kind).map((c) => c.periodStart))].sort();

  const daily = [];
  for (let d = range.from; d <= range.to; d = addDays(d, 1)) {
    daily.push({
      day: d,
      dau: figureOf(pick('daily', d, 'dau')),
      messages: figureOf(pick('daily', d, 'messages')),
      conversations: figureOf(pick('daily', d, 'conversations')),
      tokens: figureOf(pick('daily', d, 'tokens')),
    });
  }
  const weekly = periods('weekly').map((start) => ({
    start,
    wau: figureOf(pick('weekly', start, 'wau')),
  }));
  const monthly = periods('monthly').map((start) => {
    const shown = (metric: string) =>
      (byPeriod.get(`monthly/${start}`) ?? []).filter((c) => c.metric === metric);
    return {
      month: start.slice(0, 7),
      mau: figureOf(pick('monthly', start, 'mau')),
      plans: PLANS.map((p) => ({
        key: p,
        figure: figureOf(pick('monthly', start, 'plan', p)),
      })),
      countries: shown('country')
        .sort((a, b) => b.value - a.value)
        .map((c) => ({ key: c.category, figure: figureOf(c)! })),
      models: MODELS.map((m) => ({
        key: m,
        users: figureOf(pick('monthly', start, 'model_users', m)),
        conversations: figureOf(pick('monthly', start, 'model_conversations', m)),
      })),
    };
  });
  const prefStart = periods('preferences').at(-1);
  const population = prefStart ? figureOf(pick('preferences', prefStart, 'population')) : null;
  const preferences = prefStart
    ? {
        month: prefStart.slice(0, 7),
        snapshotAt:
          typeof params.preferences?.snapshotAt === 'string' ? params.preferences.snapshotAt : '',
        population,
        purposes: PURPOSES.map((p) => {
          const optedOut = figureOf(pick('preferences', prefStart, 'opted_out', p));
          // The rate divides by the noisy population; its interval is that of the opted-out count
          // (the population's own noise, ±15 in thousands, is left out and stated on the page).
          const rate =
            optedOut && population && population.value > 0
              ? {
                  value: optedOut.value / population.value,
                  low: optedOut.low / population.value,
                  high: optedOut.high / population.value,
                  lowPrecision: optedOut.lowPrecision,
                }
              : null;
          return { key: p, optedOut, rate };
        }),
      }
    : null;

  return {
    range,
    releases,
    daily,
    weekly,
    monthly,
    preferences,
    params,
    minCohort: cells[0]?.minCohort ?? null,
    budgets: budgets.map((b): BudgetRow => ({
      dataset: b.dataset,
      month: b.month,
      spentMicros: Number(b.spent),
      budgetMicros: Number(b.budget),
    })),
    refusals: refusals
      .map((r): RefusalRow => ({
        kind: r.kind,
        period: r.period,
        month: r.month,
        epsilonMicros: Number(r.epsilon),
        spentMicros: Number(r.spent),
        budgetMicros: Number(r.budget),
        at: new Date(r.at).toISOString(),
      }))
      .sort((a, b) => (a.period < b.period ? 1 : -1)),
  };
}

export type AnalyticsView = Awaited<ReturnType<typeof loadAnalyticsView>>;

/** Whether any release exists at all (the page's empty state). */
export async function anyRelease(): Promise<boolean> {
  const [row] = await getDb().execute(sql`select 1 from console.analytics_releases limit 1`);
  return Boolean(row);
}
