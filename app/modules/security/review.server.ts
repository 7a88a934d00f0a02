import { z } from 'zod';
import {
  grantsPerStaff as grantsOfPeriod,
  type Period,
  type StaffGrantSummary,
} from '#app/modules/access/review.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { decodeCursor, encodeCursor } from '#app/utils/cursor.server.ts';
import { InputError } from '#app/utils/errors.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { dayAfter } from './review.ts';

// The security review of staff access (/security/access): who was granted what over a period,
// which views of personal data fall outside the grant they name (law 2 says none should), and who
// revoked what. Reads only, through access's queries (access/review.server.ts); this module owns
// the period and the page cursor in the address. The page and its CSV download audit themselves.

export {
  grantsForExport,
  revocations,
  unreviewedBreakGlass,
  viewsOutsideGrants,
  type GrantExportRow,
  type Period,
  type Revocation,
  type StaffGrantSummary,
  type UnreviewedBreakGlass,
  type ViewOutsideGrant,
} from '#app/modules/access/review.server.ts';

// --- grants per staff member, keyset-paged on (name, id) -----------------------------------------

// [display name, id] of the page's last staff member.
const StaffCursorSchema = z
  .tuple([z.string().max(400), z.uuid()])
  .transform(([n, id]) => ({ n, id }));

export function encodeStaffCursor(row: { staffName: string; staffId: string }) {
  return encodeCursor([row.staffName, row.staffId]);
}

/** The cursor from the address, or a 400 naming `after`. */
export function decodeStaffCursor(raw: string | null | undefined) {
  return decodeCursor(StaffCursorSchema, raw);
}

/** Per requester, what they asked for in the period: one page by name, and the next page's cursor. */
export async function grantsPerStaff(
  period: Period,
  page: { cursor?: { n: string; id: string }; limit?: number } = {},
): Promise<{ rows: StaffGrantSummary[]; next: string | null }> {
  const { rows, more } = await grantsOfPeriod(period, page);
  const last = rows[rows.length - 1];
  return { rows, next: more && last ? encodeStaffCursor(last) : null };
}

// --- the period in the address -------------------------------------------------------------------

const DAY = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const day = (label: string) =>
  z
    .string()
    .regex(DATE, `${label} must be a date such as 2025-01-31`)
    .refine((v) => !Number.isNaN(new Date(`${v}T00:00:00Z`).getTime()), `${label} is not a date`);

export const PeriodQuerySchema = z
  .object({
    from: day('From').optional(),
    to: day('To').optional(),
    after: z.string().max(600, 'The page cursor is too long').optional(),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, {
    path: ['to'],
    message: 'To must not be before from',
  });

/**
 * The review's period from `from` and `to` (UTC days, both included; the last 30 days by
 * default), or a 400 naming the parameter.
 */
export function parsePeriodQuery(params: URLSearchParams) {
  const raw = Object.fromEntries([...params].filter(([, v]) => v !== ''));
  const query = parseParams(PeriodQuerySchema, raw);
  const today = now().toISOString().slice(0, 10);
  const toDay = query.to ?? today;
  const fromDay =
    query.from ??
    new Date(new Date(`${toDay}T00:00:00Z`).getTime() - 29 * DAY).toISOString().slice(0, 10);
  if (fromDay > toDay) {
    throw new InputError('from', 'From must not be after to');
  }
  const period: Period = {
    from: new Date(`${fromDay}T00:00:00Z`),
    to: new Date(`${dayAfter(toDay)}T00:00:00Z`),
  };
  return { fromDay, toDay, period, after: query.after };
}
