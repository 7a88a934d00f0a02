import Holidays from 'date-holidays';
import { REGIMES, type Regime } from './vocabulary.ts';

// When a privacy request is due, by the regime of the user's country (ADR 022). Days are UTC
// calendar days written YYYY-MM-DD; a request is due at the end of its due day.
//
// - GDPR (the EEA, the UK and Switzerland): one month from receipt — the same day of the next
//   month, or the last day of a shorter month — moved to the next working day when it falls on a
//   weekend or a public holiday of the user's country. Extendable once, by two further months
//   (three from receipt, by the same rule), with a notice sent before the first deadline.
// - CCPA (the United States): 45 calendar days, extendable once by 45 more; an acknowledgement
//   within 10 business days.
// - Elsewhere: the service's own promise of 30 calendar days, not extendable.
//
// The clock pauses while the user's identity or a clarification is awaited: each paused day moves
// the start of the period by a day.

export { REGIMES, type Regime };

interface Period {
  months?: number;
  days?: number;
}

export interface RegimeRule {
  label: string;
  period: Period;
  /** The one extension, counted from receipt like the period; null when there is none. */
  extendedPeriod: Period | null;
  /** The due day moves past weekends and public holidays. */
  workingDayRule: boolean;
  /** Business days within which receipt must be acknowledged, if the regime asks it. */
  acknowledgeWithinBusinessDays: number | null;
}

export const REGIME_RULES: Record<Regime, RegimeRule> = {
  gdpr: {
    label: 'GDPR',
    period: { months: 1 },
    extendedPeriod: { months: 3 },
    workingDayRule: true,
    acknowledgeWithinBusinessDays: null,
  },
  ccpa: {
    label: 'CCPA',
    period: { days: 45 },
    extendedPeriod: { days: 90 },
    workingDayRule: false,
    acknowledgeWithinBusinessDays: 10,
  },
  service: {
    label: 'Service terms',
    period: { days: 30 },
    extendedPeriod: null,
    workingDayRule: false,
    acknowledgeWithinBusinessDays: null,
  },
};

/** The EEA (EU and Iceland, Liechtenstein, Norway), the UK and Switzerland. */
const GDPR_COUNTRIES = [
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV',
  'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE', 'IS', 'LI', 'NO', 'GB', 'CH',
] as const; // prettier-ignore

/** The default map from a country (ISO 3166-1 alpha-2) to its regime; others get `service`. */
export const COUNTRY_REGIMES: Readonly<Record<string, Regime>> = Object.freeze({
  ...Object.fromEntries(GDPR_COUNTRIES.map((c) => [c, 'gdpr' as const])),
  US: 'ccpa',
});

const COUNTRY = /^[A-Z]{2}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The configured map: the defaults, changed by `CUSTODIAN_PRIVACY_REGIMES` (`CA=ccpa,BR=service`).
 * A malformed entry is an error naming it, at start-up rather than on a request.
 */
export function countryRegimes(setting: string | undefined): Readonly<Record<string, Regime>> {
  if (!setting?.trim()) return COUNTRY_REGIMES;
  const map: Record<string, Regime> = { ...COUNTRY_REGIMES };
  for (const entry of setting.split(',')) {
    const [country, regime] = entry.split('=').map((s) => s.trim());
    if (!country || !COUNTRY.test(country) || !(REGIMES as readonly string[]).includes(regime!)) {
      throw new Error(
        `CUSTODIAN_PRIVACY_REGIMES: "${entry.trim()}" is not COUNTRY=REGIME (regimes: ${REGIMES.join(', ')})`,
      );
    }
    map[country] = regime as Regime;
  }
  return map;
}

/** The regime of a user's country. */
export function regimeOf(
  country: string | null | undefined,
  map: Readonly<Record<string, Regime>> = COUNTRY_REGIMES,
): Regime {
  return (country && map[country.toUpperCase()]) || 'service';
}

// --- days ----------------------------------------------------------------------------------------

const toDay = (d: Date) => d.toISOString().slice(0, 10);
const fromDay = (day: string) => new Date(`${day}T00:00:00Z`);

function addDays(day: string, n: number): string {
  const d = fromDay(day);
  d.setUTCDate(d.getUTCDate() + n);
  return toDay(d);
}

/** The same day `n` months later, or the last day of that month when it is shorter. */
export function addMonths(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const month = m - 1 + n;
  const year = y + Math.floor(month / 12);
  const monthIndex = ((month % 12) + 12) % 12;
  const last = new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
  return toDay(new Date(Date.UTC(year, monthIndex, Math.min(d, last))));
}

function addPeriod(day: string, period: Period): string {
  let out = day;
  if (period.months) out = addMonths(out, period.months);
  if (period.days) out = addDays(out, period.days);
  return out;
}

// Public holidays by country and year, as local calendar days (date-holidays writes each one's
// date as "YYYY-MM-DD hh:mm:ss" in the country's own time; only the day part is used, so no time
// zone can shift a holiday onto the day before).
const holidays = new Map<string, ReadonlySet<string>>();

function publicHolidays(country: string, year: number): ReadonlySet<string> {
  const key = `${country}:${year}`;
  let days = holidays.get(key);
  if (!days) {
    const list = new Holidays(country).getHolidays(year) || [];
    days = new Set(list.filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)));
    holidays.set(key, days);
  }
  return days;
}

/** A weekend, a public holiday of the country (from date-holidays), or a configured closed day. */
export function isClosed(day: string, country: string | null, closedDays: ReadonlySet<string>) {
  const weekday = fromDay(day).getUTCDay();
  if (weekday === 0 || weekday === 6 || closedDays.has(day)) return true;
  if (!country || !COUNTRY.test(country)) return false;
  return publicHolidays(country, Number(day.slice(0, 4))).has(day);
}

function nextWorkingDay(day: string, country: string | null, closed: ReadonlySet<string>) {
  let out = day;
  while (isClosed(out, country, closed)) out = addDays(out, 1);
  return out;
}

function addBusinessDays(
  day: string,
  n: number,
  country: string | null,
  closed: ReadonlySet<string>,
) {
  let out = day;
  for (let left = n; left > 0;) {
    out = addDays(out, 1);
    if (!isClosed(out, country, closed)) left -= 1;
  }
  return out;
}

// --- the deadline --------------------------------------------------------------------------------

export interface DeadlineInput {
  regime: Regime;
  /** The user's country, whose public holidays count (GDPR's working-day rule). */
  country: string | null;
  receivedAt: Date;
  /** Whole days the clock was paused (identity or clarification awaited). */
  pausedDays?: number;
  /** Days closed besides weekends and public holidays (`CUSTODIAN_PRIVACY_CLOSED_DAYS`). */
  closedDays?: ReadonlySet<string>;
}

export interface Deadline {
  regime: Regime;
  /** The last day to answer. */
  dueDay: string;
  /** The last day once extended, or null when the regime allows no extension. */
  extendedDueDay: string | null;
  /** The last day to acknowledge receipt, when the regime asks for it. */
  acknowledgeBy: string | null;
}

export function deadline(input: DeadlineInput): Deadline {
  const rule = REGIME_RULES[input.regime];
  const closed = input.closedDays ?? new Set<string>();
  const paused = Math.max(0, Math.ceil(input.pausedDays ?? 0));
  const received = toDay(input.receivedAt);
  const start = addDays(received, paused);
  const settle = (day: string) =>
    rule.workingDayRule ? nextWorkingDay(day, input.country, closed) : day;
  return {
    regime: input.regime,
    dueDay: settle(addPeriod(start, rule.period)),
    extendedDueDay: rule.extendedPeriod ? settle(addPeriod(start, rule.extendedPeriod)) : null,
    acknowledgeBy:
      rule.acknowledgeWithinBusinessDays === null
        ? null
        : addBusinessDays(received, rule.acknowledgeWithinBusinessDays, input.country, closed),
  };
}

/** The end of a due day (exclusive): a request is overdue from this instant. */
export function endOfDay(day: string): Date {
  return fromDay(addDays(day, 1));
}

/** Whole days paused between two instants, counted up (a paused hour pauses a day). */
export function pausedDaysBetween(from: Date, to: Date): number {
  const ms = to.getTime() - from.getTime();
  return ms <= 0 ? 0 : Math.ceil(ms / 86_400_000);
}

/** `CUSTODIAN_PRIVACY_CLOSED_DAYS` (`2026-12-24,2026-12-31`) as a set, or an error naming the entry. */
export function closedDays(setting: string | undefined): ReadonlySet<string> {
  const days = new Set<string>();
  for (const raw of (setting ?? '').split(',')) {
    const day = raw.trim();
    if (!day) continue;
    if (!DAY.test(day) || Number.isNaN(fromDay(day).getTime()) || toDay(fromDay(day)) !== day) {
      throw new Error(`CUSTODIAN_PRIVACY_CLOSED_DAYS: "${day}" is not a date such as 2026-12-24`);
    }
    days.add(day);
  }
  return days;
}
