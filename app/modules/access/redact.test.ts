import fc from 'fast-check';
import { CARD_PLACEHOLDER, luhnValid, redactCardNumbers } from './redact.ts';

/** The digit that makes `body` + digit pass the Luhn check. */
function checkDigit(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(`${body}${d}`)) return String(d);
  throw new Error('unreachable');
}

const cardDigits = fc
  .integer({ min: 13, max: 19 })
  .chain((length) =>
    fc.string({
      unit: fc.constantFrom(...'0123456789'),
      minLength: length - 1,
      maxLength: length - 1,
    }),
  )
  .map((body) => `${body}${checkDigit(body)}`);

/** The digits split into groups of 1–8, joined by a space, a hyphen, " - " or nothing. */
const formatted = cardDigits.chain((digits) =>
  fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 19 }).chain((sizes) =>
    fc
      .array(fc.constantFrom(' ', '-', ' - ', '', '\u2013'), {
        minLength: sizes.length,
        maxLength: sizes.length,
      })
      .map((seps) => {
        let out = '';
        let at = 0;
        for (let i = 0; at < digits.length; i++) {
          const size = sizes[i % sizes.length]!;
          if (at > 0) out += seps[i % seps.length]!;
          out += digits.slice(at, at + size);
          at += size;
        }
        return { digits, text: out };
      }),
  ),
);

const noDigits = fc.string({ maxLength: 40 }).map((s) => s.replace(/\d/g, ''));

describe('luhnValid', () => {
  it.each([
    ['4111111111111111', true],
    ['4111111111111112', false],
    ['378282246310005', true],
    ['6011111111111117', true],
    ['79927398713', true],
    ['79927398710', false],
  ])('%s → %s', (digits, valid) => {
    expect(luhnValid(digits)).toBe(valid);
  });
});

describe('redactCardNumbers', () => {
  it.each([
    ['card 4111 1111 1111 1111 declined', `card ${CARD_PLACEHOLDER} declined`],
    ['5500-0000-0000-0004', CARD_PLACEHOLDER],
    ['amex 3782 822463 10005.', `amex ${CARD_PLACEHOLDER}.`],
    ['13 digits: 4222222222222', `13 digits: ${CARD_PLACEHOLDER}`],
    ['4111 - 1111 - 1111 - 1111', CARD_PLACEHOLDER],
    ['order 1234 4111 1111 1111 1111', `order 1234 ${CARD_PLACEHOLDER}`],
    [
      'two: 4111111111111111 and 6011111111111117',
      `two: ${CARD_PLACEHOLDER} and ${CARD_PLACEHOLDER}`,
    ],
  ])('redacts %j', (text, expected) => {
    expect(redactCardNumbers(text)).toBe(expected);
  });

  it.each([
    ['not Luhn', 'card 4111 1111 1111 1112'],
    ['too short', 'ticket 411111111111'],
    ['a long identifier without separators', 'trace 4111111111111111000000'],
    ['a phone number', 'call +1 415 555 0100 please'],
    ['a date and an amount', 'paid 2024-05-01 the sum of 1200'],
    ['a uuid', '3f2b8c1e-4a5d-4e6f-9a7b-1c2d3e4f5a6b'],
  ])('leaves %s alone', (_, text) => {
    expect(redactCardNumbers(text)).toBe(text);
  });

  it('removes every formatted card number from surrounding text', () => {
    fc.assert(
      fc.property(noDigits, formatted, noDigits, (before, card, after) => {
        const out = redactCardNumbers(`${before} ${card.text} ${after}`);
        expect(out).toContain(CARD_PLACEHOLDER);
        expect(out.replace(/\D/g, '')).not.toContain(card.digits);
      }),
      { numRuns: 500 },
    );
  });

  it('changes nothing in text with fewer than 13 digits', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        fc.pre((text.match(/\d/g)?.length ?? 0) < 13);
        expect(redactCardNumbers(text)).toBe(text);
      }),
    );
  });

  it('leaves a number failing the Luhn check alone', () => {
    fc.assert(
      fc.property(cardDigits, fc.integer({ min: 1, max: 9 }), (digits, shift) => {
        const last = (Number(digits.at(-1)) + shift) % 10;
        const wrong = `${digits.slice(0, -1)}${last}`;
        expect(redactCardNumbers(`ref ${wrong} end`)).toBe(`ref ${wrong} end`);
      }),
    );
  });

  it('is idempotent and never lengthens digits', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'0123456789 -ab'), maxLength: 80 }),
        (text) => {
          const once = redactCardNumbers(text);
          expect(redactCardNumbers(once)).toBe(once);
          expect(once.replace(/\D/g, '').length).toBeLessThanOrEqual(
            text.replace(/\D/g, '').length,
          );
        },
      ),
    );
  });
});
