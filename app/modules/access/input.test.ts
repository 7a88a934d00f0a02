import { grantRequestSchema, justificationProblem } from './input.server.ts';
import { CARD_PLACEHOLDER } from './redact.ts';
import { DEFAULT_TICKET_PATTERN } from './vocabulary.ts';

describe('justificationProblem', () => {
  it.each([
    ['.', 'a dot'],
    ['                              ', 'whitespace'],
    ['xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'one repeated letter'],
    ['test test test test test test test', 'one repeated word'],
    ['aaaa bbbb cccc dddd eeee ffff', 'runs of repeated letters'],
    ['see ticket', 'too short'],
    ['.............................!!!!!!!!!!', 'punctuation'],
    [`refund ${CARD_PLACEHOLDER} ${CARD_PLACEHOLDER}`, 'mostly a redacted card'],
  ])('rejects %j (%s)', (text) => {
    expect(justificationProblem(text)).toMatch(/at least 20 letters or digits/);
  });

  it.each([
    'User reports a failed payment on their last invoice',
    'Privacy request PR-88 needs the conversation export checked',
    'Удалить данные пользователя по запросу клиента',
  ])('accepts %j', (text) => {
    expect(justificationProblem(text)).toBeUndefined();
  });
});

describe('grantRequestSchema', () => {
  const schema = grantRequestSchema(new RegExp(DEFAULT_TICKET_PATTERN));
  const good = {
    userId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    categories: ['payments', 'profile', 'profile'],
    reasonCode: 'support_inquiry',
    justification: 'Customer says card 4111 1111 1111 1111 was charged twice this month',
    ticketRef: 'SUP-1234',
    durationMinutes: '30',
  };

  it('parses, de-duplicates categories in vocabulary order and redacts card numbers', () => {
    const parsed = schema.parse(good);
    expect(parsed.categories).toEqual(['profile', 'payments']);
    expect(parsed.durationMinutes).toBe(30);
    expect(parsed.justification).toBe(
      `Customer says card ${CARD_PLACEHOLDER} was charged twice this month`,
    );
  });

  it.each([
    ['ticketRef', { ticketRef: 'sup 1234' }],
    ['ticketRef', { ticketRef: '' }],
    ['justification', { justification: '.' }],
    ['categories', { categories: [] }],
    ['categories', { categories: ['everything'] }],
    ['reasonCode', { reasonCode: 'curiosity' }],
    ['durationMinutes', { durationMinutes: '9999' }],
    ['userId', { userId: 'not-a-uuid' }],
  ])('names the field %s', (field, change) => {
    const result = schema.safeParse({ ...good, ...change });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe(field);
  });
});
