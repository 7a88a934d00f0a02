import { Area, CartesianGrid, ComposedChart, Line, Tooltip, XAxis, YAxis } from 'recharts';
import { formatCount, type ChartFigureValue } from './chart-figure.tsx';

// A released series over time: the value as a line, its 95% interval as a band around it. Points
// drawn hollow are low precision; a gap is a period whose cell was below k (or not yet released).

export interface SeriesPoint {
  x: string;
  figure: ChartFigureValue | null;
}

interface Row {
  x: string;
  value: number | null;
  band: [number, number] | null;
  lowPrecision: boolean;
}

function PointDot(props: { cx?: number; cy?: number; payload?: Row; stroke?: string }) {
  const { cx, cy, payload, stroke } = props;
  if (cx === undefined || cy === undefined || !payload || payload.value === null) return null;
  return (
    <circle
      cx={cx}
      cy={cy}
      r={2.5}
      stroke={stroke}
      strokeWidth={1.5}
      fill={payload.lowPrecision ? '#ffffff' : stroke}
    />
  );
}

function IntervalTooltip(props: {
  active?: boolean;
  payload?: readonly { payload?: unknown }[];
  unit: string;
}) {
  const row = props.payload?.[0]?.payload as Row | undefined;
  if (!props.active || !row) return null;
  return (
    <div className="chart-tooltip">
      <strong>{row.x}</strong>
      <br />
      {row.value === null || !row.band ? (
        'below k, not shown'
      ) : (
        <>
          {formatCount(row.value)} {props.unit}
          <br />
          95%: {formatCount(row.band[0])} – {formatCount(row.band[1])}
          {row.lowPrecision ? (
            <>
              <br />
              low precision
            </>
          ) : null}
        </>
      )}
    </div>
  );
}

export function IntervalLineChart(props: {
  data: SeriesPoint[];
  color: string;
  unit: string;
  height?: number;
}) {
  const rows: Row[] = props.data.map((p) => ({
    x: p.x,
    value: p.figure?.value ?? null,
    band: p.figure ? [p.figure.low, p.figure.high] : null,
    lowPrecision: p.figure?.lowPrecision ?? false,
  }));
  return (
    <ComposedChart
      data={rows}
      responsive
      width="100%"
      height={props.height ?? 240}
      margin={{ top: 8, right: 12, bottom: 0, left: 0 }}
      accessibilityLayer={false}
    >
      <CartesianGrid strokeDasharray="3 3" stroke="#e3e7ee" />
      <XAxis
        dataKey="x"
        minTickGap={28}
        tick={{ fontSize: 12 }}
        tickFormatter={(x: string) => x.slice(5)}
      />
      <YAxis
        width={56}
        tick={{ fontSize: 12 }}
        tickFormatter={(n: number) => formatCount(n)}
        // Released counts and sums are shown clamped at zero, so the axis starts there too.
        domain={[0, 'auto']}
        allowDataOverflow
      />
      <Tooltip
        content={(p) => <IntervalTooltip active={p.active} payload={p.payload} unit={props.unit} />}
      />
      <Area
        dataKey="band"
        stroke="none"
        fill={props.color}
        fillOpacity={0.2}
        isAnimationActive={false}
        connectNulls={false}
        name="95% interval"
        activeDot={false}
      />
      <Line
        dataKey="value"
        stroke={props.color}
        strokeWidth={2}
        dot={<PointDot />}
        activeDot={{ r: 4 }}
        isAnimationActive={false}
        connectNulls={false}
        name={props.unit}
      />
    </ComposedChart>
  );
}
