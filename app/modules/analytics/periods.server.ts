import { budgetMonth } from './release.ts';

// Calendar arithmetic on UTC days written 'YYYY-MM-DD'. Weeks are ISO weeks (Monday first),
// months calendar months; every period is [start, end) in days.

const DAY_MS = 86_400_000;
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function isDay(text: string): boolean {
  if (!DAY_PATTERN.test(text)) return false;
  const t = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === text;
}

export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function dayStart(day: string): Date {
  if (!isDay(day)) throw new RangeError(`not a day: ${day}`);
  return new Date(`${day}T00:00:00.000Z`);
}

export function addDays(day: string, n: number): string {
  return dayOf(new Date(dayStart(day).getTime() + n * DAY_MS));
}

export function daysBetween(from: string, to: string): number {
  return Math.round((dayStart(to).getTime() - dayStart(from).getTime()) / DAY_MS);
}

/** The days from `from` up to but excluding `to`. */
export function daysIn(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d < to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Monday of the ISO week holding `day`. */
export function weekStart(day: string): string {
  const weekday = (dayStart(day).getUTCDay() + 6) % 7;
  return addDays(day, -weekday);
}

export function monthStart(day: string): string {
  return `${day.slice(0, 7)}-01`;
}

export function nextMonthStart(day: string): string {
  const d = dayStart(monthStart(day));
  return dayOf(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)));
}

/** The budget months ('YYYY-MM') that the days [start, end) fall in. */
export function monthsTouched(start: string, end: string): string[] {
  const months: string[] = [];
  for (let m = monthStart(start); m < end; m = nextMonthStart(m)) {
    months.push(budgetMonth(dayStart(m)));
  }
  return months;
}
