import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount } from './chart-figure.tsx';

// Exact counts by period, one bar per series in each period (privacy requests received,
// completed and denied, month by month). No intervals: these are the console's own records.

export function CountBarChart(props: {
  data: { period: string; values: Record<string, number> }[];
  series: { key: string; label: string; color: string }[];
  height?: number;
}) {
  const rows = props.data.map((d) => ({ period: d.period, ...d.values }));
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
        width={48}
        tick={{ fontSize: 12 }}
        allowDecimals={false}
        tickFormatter={(n: number) => formatCount(n)}
      />
      <Tooltip cursor={{ fill: '#eef1f5' }} />
      <Legend wrapperStyle={{ fontSize: 12 }} />
      {props.series.map((s) => (
        <Bar
          key={s.key}
          dataKey={s.key}
          name={s.label}
          fill={s.color}
          fillOpacity={0.8}
          maxBarSize={28}
          isAnimationActive={false}
        />
      ))}
    </BarChart>
  );
}
