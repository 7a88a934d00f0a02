import { z } from 'zod';

const CursorSchema = z.tuple([z.string().max(10_000), z.uuid()]);

/** Reads an `after` cursor made by encodeCursor; a tampered one is a 400, naming the parameter. */
export function decodeCursor(raw: string | null): { value: string; id: string } | undefined {
  if (!raw) return undefined;
  try {
    const [value, id] = CursorSchema.parse(
      JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')),
    );
    return { value, id };
  } catch {
    throw new Response('The page cursor in the address (after) is not valid.', { status: 400 });
  }
}

/** Cursor for keyset paging: the last row's sort value and id, opaque to the user. */
export function encodeCursor(cursor: { value: string; id: string } | undefined) {
  return cursor
    ? Buffer.from(JSON.stringify([cursor.value, cursor.id])).toString('base64url')
    : null;
}
