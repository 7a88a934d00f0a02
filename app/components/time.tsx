// Every date and time the console shows is UTC, written one way: `2025-01-31 13:45 UTC`.
// Browser-safe: no server imports.

type At = string | Date | null | undefined;

/** How much of the time to show. */
export type TimeUnit = 'minute' | 'second' | 'millisecond';

const LENGTH: Record<TimeUnit, number> = { minute: 16, second: 19, millisecond: 23 };

const isoOf = (at: string | Date) => (at instanceof Date ? at.toISOString() : at);

/** `2025-01-31 13:45` (or with seconds, milliseconds) from an ISO time, without the zone. */
export function utcText(at: string | Date, unit: TimeUnit = 'minute') {
  return isoOf(at).replace('T', ' ').slice(0, LENGTH[unit]);
}

/** `2025-01-31 13:45 UTC` from an ISO time; a dash for none. */
export function utc(at: At, unit: TimeUnit = 'minute') {
  return at ? `${utcText(at, unit)} UTC` : '—';
}

/** `2025-01-31`, the UTC day of an ISO time; a dash for none. */
export function utcDate(at: At) {
  return at ? isoOf(at).slice(0, 10) : '—';
}

/**
 * A `<time>` element showing utc(); `zone={false}` leaves out the trailing `UTC` where a column's
 * header already says it.
 */
export function Time({
  iso,
  seconds,
  zone = true,
}: {
  iso: string | null | undefined;
  seconds?: boolean;
  zone?: boolean;
}) {
  if (!iso) return <span className="muted">—</span>;
  const unit = seconds ? 'second' : 'minute';
  return (
    <time dateTime={iso} className="nowrap">
      {zone ? utc(iso, unit) : utcText(iso, unit)}
    </time>
  );
}
