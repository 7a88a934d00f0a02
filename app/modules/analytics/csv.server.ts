import { toCsv, type CsvValue } from '#app/utils/csv.ts';
import { shownFigure, type ReleasedCellRow } from './read.server.ts';
import { formatEpsilonMicros } from './release.ts';

// The CSV of released figures, one row per stored cell: only noisy values and their public
// parameters, never contributions or events (those never leave the build job). The page's
// download (/analytics/csv) and every share (ADR 037) write it here, through the one CSV writer
// (app/utils/csv.ts, which neutralises formula cells), so a recipient gets what staff download.

export const RELEASED_FIGURES_HEADER = [
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
] as const;

/** One stored cell as a CSV row: the figure as the page shows it, clamped at zero (ADR 029). */
export function releasedFigureRow(c: ReleasedCellRow): CsvValue[] {
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
}

/** The whole document, with the byte order mark Excel needs to read UTF-8. */
export function releasedFiguresCsv(cells: readonly ReleasedCellRow[]): {
  text: string;
  rows: number;
} {
  return {
    text: `\uFEFF${toCsv(RELEASED_FIGURES_HEADER, cells.map(releasedFigureRow))}`,
    rows: cells.length,
  };
}
