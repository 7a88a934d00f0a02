import { useEffect, useState, type CSSProperties, type ReactNode } from 'react';

// The frame of every analytics chart: a title, what the figure is, the chart itself (recharts
// draws nothing on the server, so it appears after hydration, in a box of fixed height so the
// page does not jump) and the same figures as a table, for screen readers and for exact numbers.

export function useHydrated() {
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  return hydrated;
}

export function ChartFigure(props: {
  id: string;
  title: string;
  description: ReactNode;
  /** A one-sentence summary of what the chart shows, read out in place of the drawing. */
  summary: string;
  height?: number;
  /** Said in place of the chart when the range holds nothing to draw (all cells below k). */
  empty?: string | null;
  children: ReactNode;
  table: ReactNode;
}) {
  const hydrated = useHydrated();
  const height = props.height ?? 240;
  return (
    <figure
      className="panel chart-figure"
      aria-labelledby={`${props.id}-title`}
      data-chart={props.id}
    >
      <h3 id={`${props.id}-title`}>{props.title}</h3>
      <figcaption className="muted">{props.description}</figcaption>
      <div
        role="img"
        aria-label={props.summary}
        className="chart-box"
        // The one inline style: each chart's height comes from its data (a bar per country), so
        // it is handed to the stylesheet as a custom property (CSP: style-src-attr).
        style={{ '--chart-height': `${height}px` } as CSSProperties}
      >
        {props.empty ? (
          <p className="empty">{props.empty}</p>
        ) : hydrated ? (
          props.children
        ) : (
          <p className="muted">Drawing the chart…</p>
        )}
      </div>
      <details>
        <summary>The figures as a table</summary>
        <div className="chart-table">{props.table}</div>
      </details>
    </figure>
  );
}

/** A released figure as the charts receive it (computed on the server). */
export interface ChartFigureValue {
  value: number;
  low: number;
  high: number;
  lowPrecision: boolean;
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat('en');

export function formatCount(n: number) {
  return Math.abs(n) >= 10_000 ? compact.format(n) : whole.format(n);
}

export function formatPercent(n: number) {
  return `${(n * 100).toFixed(1)}%`;
}

/** "1,234 (1,227 – 1,241)", marked when low precision: one text node, so long tables stay light. */
export function figureText(
  figure: ChartFigureValue | null,
  format: (n: number) => string = (n) => whole.format(n),
): string {
  if (!figure) return 'below k, not shown';
  const text = `${format(figure.value)} (${format(figure.low)} – ${format(figure.high)})`;
  return figure.lowPrecision ? `${text}, low precision` : text;
}
