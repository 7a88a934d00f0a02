import { csvCell, csvRow, csvStream, toCsv, type CsvValue } from './csv.ts';

async function readAll(stream: ReadableStream<Uint8Array>) {
  return new Response(stream).text();
}

async function* generate(rows: CsvValue[][]) {
  for (const row of rows) {
    await Promise.resolve();
    yield row;
  }
}

describe('csvCell (RFC 4180)', () => {
  it.each([
    ['plain', 'plain'],
    ['', ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['crlf\r\nhere', '"crlf\r\nhere"'],
    ['  spaced  ', '  spaced  '],
    ['ünïcödé ✓', 'ünïcödé ✓'],
  ])('%j is written as %j', (input, output) => {
    expect(csvCell(input)).toBe(output);
  });

  it('writes empty fields for null and undefined', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
  });

  it('writes numbers, bigints, booleans and dates as data', () => {
    expect(csvCell(42)).toBe('42');
    expect(csvCell(-3.5)).toBe('-3.5');
    expect(csvCell(-7n)).toBe('-7');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell(true)).toBe('true');
    expect(csvCell(new Date('2025-01-02T03:04:05.678Z'))).toBe('2025-01-02T03:04:05.678Z');
  });
});

describe('formula neutralisation', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
    ['=HYPERLINK("http://x","y")', '"\'=HYPERLINK(""http://x"",""y"")"'],
    ['\r=1', '"\'\r=1"'],
    ['=A1,B1', '"\'=A1,B1"'],
  ])('%j becomes %j', (input, output) => {
    expect(csvCell(input)).toBe(output);
  });

  it('leaves a formula character alone when it is not the first', () => {
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell('x-1')).toBe('x-1');
    expect(csvCell("'=already")).toBe("'=already");
  });
});

describe('rows and documents', () => {
  it('ends every record with CRLF', () => {
    expect(csvRow(['a', 1, null, '=x'])).toBe("a,1,,'=x\r\n");
    expect(toCsv(['h1', 'h2'], [['a', 'b,c']])).toBe('h1,h2\r\na,"b,c"\r\n');
  });

  it('a header alone is a valid document', () => {
    expect(toCsv(['only'], [])).toBe('only\r\n');
  });
});

describe('csvStream', () => {
  it('streams the same bytes toCsv builds, across chunk boundaries', async () => {
    const rows: CsvValue[][] = Array.from({ length: 1234 }, (_, i) => [i, `row ${i}`, '=bad']);
    const text = await readAll(
      csvStream(['n', 'label', 'cell'], generate(rows), { rowsPerChunk: 100 }),
    );
    expect(text).toBe(toCsv(['n', 'label', 'cell'], rows));
  });

  it('prefixes a byte order mark on request', async () => {
    const bytes = new Uint8Array(
      await new Response(csvStream(['a'], generate([]), { bom: true })).arrayBuffer(),
    );
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(new TextDecoder().decode(bytes.slice(3))).toBe('a\r\n');
  });

  it('stops pulling rows when the reader cancels', async () => {
    let produced = 0;
    let closed = false;
    async function* endless() {
      try {
        for (;;) {
          produced++;
          yield [produced] as CsvValue[];
        }
      } finally {
        closed = true;
      }
    }
    const reader = csvStream(['n'], endless(), { rowsPerChunk: 10 }).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(closed).toBe(true);
    expect(produced).toBeLessThan(100);
  });
});
