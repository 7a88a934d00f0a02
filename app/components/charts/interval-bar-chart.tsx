import { Bar, BarChart, CartesianGrid, Cell, ErrorBar, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount, type ChartFigureValue } from './chart-figure.tsx';

// Released figures by category, one bar each with its 95% interval as an error bar. A hatched bar
// (lighter) is low precision. Categories below k are not in the data at all.

export interface BarDatum {
  label: string;
  figure: ChartFigureValue;
}

interface Row {
  label: string;
  value: number;
  error: [number, number];
  lowPrecision: boolean;
}

export function IntervalBarChart(props: {
  data: BarDatum[];
  color: string;
  unit: string;
  /** Bars along the y axis, labels on the left: for long lists (countries). */
  horizontal?: boolean;
  height?: number;
  format?: (n: number) => string;
}) {
  const format = props.format ?? formatCount;
  const rows: Row[] = props.data.map((d) => ({
    label: d.label,
    value: d.figure.value,
    error: [d.figure.value - d.figure.low, d.figure.high - d.figure.value],
    lowPrecision: d.figure.lowPrecision,
  }));
  const valueAxis = {
    type: 'number' as const,
    tick: { fontSize: 12 },
    tickFormatter: (n: number) => format(n),
    domain: [0, 'auto'] as [number, 'auto'],
  };
  const labelAxis = {
    type: 'category' as const,
    dataKey: 'label',
    tick: { fontSize: 12 },
    interval: 0,
  };
  return (
    <BarChart
      data={rows}
      layout={props.horizontal ? 'vertical' : 'horizontal'}
      responsive
      width="100%"
      height={props.height ?? 240}
      margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
      accessibilityLayer={false}
    >
      <CartesianGrid strokeDasharray="3 3" stroke="#e3e7ee" />
      {props.horizontal ? (
        <>
          <XAxis {...valueAxis} />
          <YAxis {...labelAxis} width={44} />
        </>
      ) : (
        <>
          <XAxis {...labelAxis} />
          <YAxis {...valueAxis} width={56} />
        </>
      )}
      <Tooltip
        cursor={{ fill: '#eef1f5' }}
        formatter={(value, _name, item) => {
          const row = item.payload as Row;
          const interval = `${format(row.value - row.error[0])} – ${format(row.value + row.error[1])}`;
          return [
            `${format(Number(value))} (95%: ${interval})${row.lowPrecision ? ', low precision' : ''}`,
            props.unit,
          ];
        }}
      />
      <Bar dataKey="value" isAnimationActive={false} name={props.unit} maxBarSize={72}>
        {rows.map((r) => (
          <Cell
            key={r.label}
            fill={props.color}
            fillOpacity={r.lowPrecision ? 0.45 : 0.9}
            stroke={props.color}
          />
        ))}
        <ErrorBar
          isAnimationActive={false}
          dataKey="error"
          width={5}
          stroke="#111827"
          strokeWidth={1.5}
          direction={props.horizontal ? 'x' : 'y'}
        />
      </Bar>
    </BarChart>
  );
}
