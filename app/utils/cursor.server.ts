import { z } from 'zod';
import { InputError } from './errors.ts';

// The one page cursor of every keyset-paged list: the last row's position (a JSON array such as
// [sort value, id]) as base64url, opaque to the user, and parsed back with the list's own zod
// schema, so a cursor edited by hand or made for another list is bad input, never a 500.

/** The usual keyset position: the last row's sort value (as text) and its id. */
export interface KeysetCursor {
  value: string;
  id: string;
}

/** Reads a KeysetCursor ([value, id]). */
export const KeysetCursorSchema = z
  .tuple([z.string().max(10_000), z.uuid()])
  .transform(([value, id]): KeysetCursor => ({ value, id }));

/** A cursor that is not a page of this list: bad input naming its parameter (`field`). */
export class CursorError extends InputError {
  readonly status = 400;
  constructor(field: string) {
    super(field, `The page cursor in the address (${field}) is not valid.`);
    this.name = 'CursorError';
  }

  get fieldErrors(): Record<string, string> {
    return { [this.field]: 'Not a page of this list' };
  }
}

/** The cursor of a page's last row; null when there is no next page. */
export function encodeCursor(position: KeysetCursor | readonly unknown[]): string;
export function encodeCursor(
  position: KeysetCursor | readonly unknown[] | null | undefined,
): string | null;
export function encodeCursor(
  position: KeysetCursor | readonly unknown[] | null | undefined,
): string | null {
  if (!position) return null;
  const json = 'value' in position ? [position.value, position.id] : position;
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** Reads a cursor made by encodeCursor with the list's schema; throws a CursorError naming `field`. */
export function decodeCursor<S extends z.ZodType>(
  schema: S,
  raw: string | null | undefined,
  field = 'after',
): z.output<S> | undefined {
  if (!raw) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError(field);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new CursorError(field);
  return parsed.data;
}
