import { Bar, BarChart, CartesianGrid, ErrorBar, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount, type ChartFigureValue } from './chart-figure.tsx';

// Released figures by period and category (conversations by model, month by month): one bar per
// category in each period, each with its 95% interval. A missing bar is a cell below k.

export interface GroupedDatum {
  period: string;
  values: Record<string, ChartFigureValue | null>;
}

export function GroupedIntervalBarChart(props: {
  data: GroupedDatum[];
  series: { key: string; label: string; color: string }[];
  unit: string;
  height?: number;
}) {
  const rows = props.data.map((d) => {
    const row: Record<string, string | number | [number, number] | null> = { period: d.period };
    props.series.forEach((s, i) => {
      const f = d.values[s.key] ?? null;
      row[`v${i}`] = f ? f.value : null;
      row[`e${i}`] = f ? [f.value - f.low, f.high - f.value] : null;
    });
    return row;
  });
  return (
    <BarChart
      data={rows}
      responsive
      width="100%"
      height={props.height ?? 260}
      margin={{ top: 8, right: 12, bottom: 0, left: 0 }}
      accessibilityLayer={false}
    >
      <CartesianGrid strokeDasharray="3 3" stroke="#e3e7ee" />
      <XAxis dataKey="period" tick={{ fontSize: 12 }} />
      <YAxis
        width={56}
        tick={{ fontSize: 12 }}
        tickFormatter={(n: number) => formatCount(n)}
        domain={[0, 'auto']}
        allowDataOverflow
      />
      <Tooltip
        cursor={{ fill: '#eef1f5' }}
        formatter={(value, name, item) => {
          const i = props.series.findIndex((s) => s.label === name);
          const error = (item.payload as Record<string, [number, number] | null>)[`e${i}`];
          const v = Number(value);
          return [
            error
              ? `${formatCount(v)} (95%: ${formatCount(v - error[0])} – ${formatCount(v + error[1])})`
              : formatCount(v),
            name,
          ];
        }}
      />
      <Legend wrapperStyle={{ fontSize: 12 }} />
      {props.series.map((s, i) => (
        <Bar
          key={s.key}
          dataKey={`v${i}`}
          name={s.label}
          fill={s.color}
          fillOpacity={0.75}
          maxBarSize={32}
          isAnimationActive={false}
        >
          <ErrorBar
            isAnimationActive={false}
            dataKey={`e${i}`}
            width={4}
            stroke="#111827"
            strokeWidth={1.5}
            direction="y"
          />
        </Bar>
      ))}
    </BarChart>
  );
}
