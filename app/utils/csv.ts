// The one CSV writer of the console (RFC 4180: CRLF line ends, fields quoted when they hold a
// quote, comma, CR or LF, quotes doubled). Spreadsheets run a cell that starts with = + - @ (or a
// tab or CR, which some strip before parsing) as a formula, so such text cells get a leading
// apostrophe: an audit export must never run what a staff member or a client typed.
// No server imports: the browser may use it too.

export type CsvValue = string | number | bigint | boolean | Date | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One field. Numbers are written as they are (a negative number is data, not a formula). */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  let text = value instanceof Date ? value.toISOString() : value;
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF included. */
export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** A whole document in memory, for small outputs. */
export function toCsv(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  let out = csvRow(header);
  for (const row of rows) out += csvRow(row);
  return out;
}

/**
 * A document as a byte stream, pulling rows as the reader asks for them, so a large export never
 * sits in memory. `bom` prefixes a UTF-8 byte order mark, which Excel needs to read UTF-8.
 */
export function csvStream(
  header: readonly string[],
  rows: AsyncIterable<readonly CsvValue[]>,
  options: { bom?: boolean; rowsPerChunk?: number } = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const perChunk = options.rowsPerChunk ?? 500;
  let iterator: AsyncIterator<readonly CsvValue[]> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`${options.bom ? '\uFEFF' : ''}${csvRow(header)}`));
    },
    async pull(controller) {
      iterator ??= rows[Symbol.asyncIterator]();
      let text = '';
      for (let i = 0; i < perChunk; i++) {
        const next = await iterator.next();
        if (next.done) {
          if (text) controller.enqueue(encoder.encode(text));
          controller.close();
          return;
        }
        text += csvRow(next.value);
      }
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      await iterator?.return?.();
    },
  });
}
