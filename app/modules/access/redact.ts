// Card numbers typed into free text (a justification, a comment) are redacted before they are
// stored: the privacy policy promises that no full payment details are kept.

export const CARD_PLACEHOLDER = '[card number redacted]';

const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

// Digit groups joined by at most three separators (spaces, hyphens, dashes), e.g.
// "4111 1111-1111 1111" or "4111 - 1111 - 1111 - 1111".
const RUN = /\d+(?:[\s\u2010-\u2015-]{1,3}\d+)*/g;
const GROUP = /\d+/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Replaces every card number with CARD_PLACEHOLDER. A card number is 13–19 digits passing the Luhn
 * check, written whole or in groups joined by spaces or dashes. Candidates start and end at group
 * boundaries, so "order 1234 4111 1111 1111 1111" loses the card but a 25-digit identifier
 * written without separators is left alone (its 13–19-digit slices are not numbers anyone wrote).
 */
export function redactCardNumbers(text: string): string {
  return text.replace(RUN, (run) => {
    const groups = [...run.matchAll(GROUP)].map((m) => ({
      start: m.index,
      end: m.index + m[0].length,
      digits: m[0],
    }));
    const covered: boolean[] = groups.map(() => false);
    for (let i = 0; i < groups.length; i++) {
      let digits = '';
      for (let j = i; j < groups.length; j++) {
        digits += groups[j]!.digits;
        if (digits.length > MAX_DIGITS) break;
        if (digits.length >= MIN_DIGITS && luhnValid(digits)) {
          for (let k = i; k <= j; k++) covered[k] = true;
        }
      }
    }
    if (!covered.includes(true)) return run;
    let out = '';
    let at = 0;
    for (let i = 0; i < groups.length; i++) {
      if (!covered[i]) continue;
      let j = i;
      while (j + 1 < groups.length && covered[j + 1]) j++;
      out += run.slice(at, groups[i]!.start) + CARD_PLACEHOLDER;
      at = groups[j]!.end;
      i = j;
    }
    return out + run.slice(at);
  });
}
