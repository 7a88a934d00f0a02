import fc from 'fast-check';
import { CanonicalizationError, canonicalBytes, canonicalize } from './canonical.ts';

describe('RFC 8785 examples', () => {
  it('§3.2.2: numbers, strings and literals', () => {
    const input = JSON.parse(`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`);
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalize(input)).toBe(expected);
  });

  it('§3.2.4: the UTF-8 bytes of that example', () => {
    const input = {
      numbers: [333333333.3333333, 1e30, 4.5, 0.002, 1e-27],
      string: '€$\u000f\nA\'B"\\\\"/',
      literals: [null, true, false],
    };
    const hex =
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c ' +
      '22 6e 75 6d 62 65 72 73 22 3a 5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 ' +
      '65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 73 74 72 69 6e 67 22 ' +
      '3a 22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d';
    expect(canonicalBytes(input).toString('hex')).toBe(hex.replaceAll(' ', ''));
  });

  it('§3.2.3: sorts keys by UTF-16 code units', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
        '"ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign",' +
        '"\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('Appendix B: number serialization', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, text] of cases) {
      const value = Buffer.from(bits, 'hex').readDoubleBE(0);
      expect(canonicalize(value), bits).toBe(text);
    }
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
      const value = Buffer.from(bits, 'hex').readDoubleBE(0);
      expect(() => canonicalize(value), bits).toThrow(CanonicalizationError);
    }
  });
});

describe('canonicalize', () => {
  it('writes no whitespace and sorts nested keys', () => {
    expect(canonicalize({ b: [1, { d: 1, c: 2 }], a: 'x', '': null })).toBe(
      '{"":null,"a":"x","b":[1,{"c":2,"d":1}]}',
    );
    expect(canonicalize([])).toBe('[]');
    expect(canonicalize({})).toBe('{}');
    expect(canonicalize(Object.create(null))).toBe('{}');
  });

  it('escapes control characters in lowercase hex and nothing else', () => {
    expect(canonicalize('\u0000\u0008\u0009\u000a\u000c\u000d\u001f\u007f\u2028<>&é')).toBe(
      '"\\u0000\\b\\t\\n\\f\\r\\u001f\u007f\u2028<>&é"',
    );
  });

  it('uses toJSON, as JSON does', () => {
    expect(canonicalize({ at: new Date('2025-01-02T03:04:05.006Z') })).toBe(
      '{"at":"2025-01-02T03:04:05.006Z"}',
    );
  });

  it('rejects what JSON cannot carry, naming where', () => {
    const cases: [unknown, RegExp][] = [
      [NaN, /^\$: NaN/],
      [{ a: [1, Infinity] }, /^\$\.a\[1\]: Infinity/],
      [{ a: -Infinity }, /-Infinity/],
      [{ a: undefined }, /^\$\.a: undefined/],
      [[undefined], /^\$\[0\]: undefined/],
      [{ 'odd key': 1n }, /^\$\["odd key"\]: BigInt/],
      [{ f: () => 1 }, /^\$\.f: a function/],
      [{ s: Symbol('x') }, /a symbol/],
      [{ m: new Map() }, /^\$\.m: a Map is not a plain JSON object/],
      [{ s: 'lone \ud800 surrogate' }, /lone surrogate/],
      [{ ['\udc00']: 1 }, /lone surrogate/],
    ];
    for (const [value, message] of cases) {
      expect(() => canonicalize(value)).toThrow(CanonicalizationError);
      expect(() => canonicalize(value)).toThrow(message);
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalize(cycle)).toThrow(/circular/);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(canonicalize([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });

  it('is stable under key order and agrees with JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalize(value);
        const reparsed = JSON.parse(text);
        expect(canonicalize(reparsed)).toBe(text);
        expect(reparsed).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });
});
