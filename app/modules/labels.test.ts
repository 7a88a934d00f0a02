import { USAGE_KINDS, DATA_CATEGORIES, REASON_CODES, PURPOSES } from './vocabulary.ts';
import { cappedCount, codeAsWords, countOf, formatCount, label } from './labels.ts';

describe('the display names', () => {
  it('name every code of the vocabularies the console shows, none of them raw', () => {
    for (const [vocabulary, codes] of [
      ['usage', USAGE_KINDS],
      ['category', DATA_CATEGORIES],
      ['reason', REASON_CODES],
      ['purpose', PURPOSES],
    ] as const) {
      for (const code of codes) {
        expect(label(vocabulary, code), code).not.toBe(code);
        expect(label(vocabulary, code), code).not.toMatch(/_/);
      }
    }
    expect(label('usage', 'conversation_start')).toBe('Conversation started');
    expect(label('reason', 'security_investigation')).toBe('Security investigation');
  });

  it('read an unknown code as words, and nothing as a dash', () => {
    expect(label('reason', 'rate_limited')).toBe('Rate limited');
    expect(codeAsWords('no-grant_here')).toBe('No grant here');
    expect(label('outcome', null)).toBe('—');
  });
});

describe('counts', () => {
  it('have thousands separators and the right plural', () => {
    expect(formatCount(8095)).toBe('8,095');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(countOf(1, 'event')).toBe('1 event');
    expect(countOf(0, 'event')).toBe('0 events');
    expect(countOf(8095, 'event')).toBe('8,095 events');
    expect(countOf(2, 'entry', 'entries')).toBe('2 entries');
    expect(cappedCount(1000, true)).toBe('1,000+');
    expect(cappedCount(999, false)).toBe('999');
  });
});
