import fc from 'fast-check';
import {
  addMonths,
  closedDays,
  countryRegimes,
  deadline,
  endOfDay,
  isClosed,
  pausedDaysBetween,
  regimeOf,
  type Regime,
} from './deadlines.server.ts';

const at = (day: string, time = '10:00:00') => new Date(`${day}T${time}Z`);

describe('the month rule', () => {
  test.each([
    ['2026-01-15', 1, '2026-02-15'],
    ['2026-01-31', 1, '2026-02-28'],
    ['2028-01-31', 1, '2028-02-29'],
    ['2026-03-31', 1, '2026-04-30'],
    ['2026-12-31', 1, '2027-01-31'],
    ['2026-11-30', 3, '2027-02-28'],
    ['2027-11-30', 3, '2028-02-29'],
  ])('%s plus %i month(s) is %s', (day, n, expected) => {
    expect(addMonths(day, n)).toBe(expected);
  });
});

describe('deadlines by regime', () => {
  test.each<[string, Regime, string, string, string | null, string | null]>([
    // [case, regime, country, received, due, extended]
    ['GDPR, mid-month, a Monday', 'gdpr', 'DE', '2026-05-15', '2026-06-15', '2026-08-17'],
    ['GDPR, month end onto a Saturday', 'gdpr', 'DE', '2026-01-31', '2026-03-02', '2026-04-30'],
    ['GDPR, leap year', 'gdpr', 'FR', '2028-01-31', '2028-02-29', '2028-05-02'],
    ['GDPR, Christmas and a weekend', 'gdpr', 'DE', '2026-11-25', '2026-12-28', '2027-02-25'],
    [
      'GDPR, Good Friday to Easter Monday (UK)',
      'gdpr',
      'GB',
      '2026-03-03',
      '2026-04-07',
      '2026-06-03',
    ],
    [
      'CCPA, 45 calendar days (a Sunday stays)',
      'ccpa',
      'US',
      '2026-01-01',
      '2026-02-15',
      '2026-04-01',
    ],
    ['service terms, 30 days, across a year', 'service', 'BR', '2026-12-02', '2027-01-01', null],
  ])('%s', (_, regime, country, received, due, extended) => {
    const d = deadline({ regime, country, receivedAt: at(received) });
    expect(d.dueDay).toBe(due);
    expect(d.extendedDueDay).toBe(extended);
  });

  test('a request received late in the UTC day counts from that UTC day', () => {
    expect(
      deadline({ regime: 'service', country: null, receivedAt: at('2026-12-31', '23:59:59') }),
    ).toMatchObject({ dueDay: '2027-01-30' });
  });

  test('CCPA asks for an acknowledgement within 10 business days, holidays skipped', () => {
    // 2026-01-08 is a Thursday; Martin Luther King Jr. Day (2026-01-19) is skipped.
    expect(
      deadline({ regime: 'ccpa', country: 'US', receivedAt: at('2026-01-08') }).acknowledgeBy,
    ).toBe('2026-01-23');
    expect(
      deadline({ regime: 'gdpr', country: 'DE', receivedAt: at('2026-01-08') }).acknowledgeBy,
    ).toBeNull();
  });

  test('paused days move the start of the period', () => {
    const plain = deadline({ regime: 'gdpr', country: 'DE', receivedAt: at('2026-01-10') });
    const paused = deadline({
      regime: 'gdpr',
      country: 'DE',
      receivedAt: at('2026-01-10'),
      pausedDays: 5,
    });
    expect(plain.dueDay).toBe('2026-02-10');
    // 2026-02-15 is a Sunday.
    expect(paused.dueDay).toBe('2026-02-16');
    expect(
      deadline({ regime: 'ccpa', country: 'US', receivedAt: at('2026-01-01'), pausedDays: 3 }),
    ).toMatchObject({ dueDay: '2026-02-18' });
  });

  test('configured closed days count as holidays', () => {
    const receivedAt = at('2026-06-24');
    expect(deadline({ regime: 'gdpr', country: 'FR', receivedAt }).dueDay).toBe('2026-07-24');
    expect(
      deadline({ regime: 'gdpr', country: 'FR', receivedAt, closedDays: closedDays('2026-07-24') })
        .dueDay,
    ).toBe('2026-07-27');
  });

  test('holidays are the country’s own', () => {
    // 3 October is German Unity Day, a Saturday in 2026; 2026-10-26 is Austria's National Day.
    expect(isClosed('2026-10-26', 'AT', new Set())).toBe(true);
    expect(isClosed('2026-10-26', 'DE', new Set())).toBe(false);
    expect(isClosed('2026-07-04', 'US', new Set())).toBe(true);
    expect(isClosed('2026-07-03', 'US', new Set())).toBe(true);
    expect(isClosed('2026-07-06', 'US', new Set())).toBe(false);
  });

  test('a request is overdue from the end of its due day; paused time counts up to whole days', () => {
    expect(endOfDay('2026-02-28').toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(pausedDaysBetween(at('2026-01-01', '10:00:00'), at('2026-01-01', '11:00:00'))).toBe(1);
    expect(pausedDaysBetween(at('2026-01-01'), at('2026-01-03'))).toBe(2);
    expect(pausedDaysBetween(at('2026-01-03'), at('2026-01-01'))).toBe(0);
  });
});

describe('properties', () => {
  const day = fc
    .date({
      min: new Date('2024-01-01T00:00:00Z'),
      max: new Date('2031-12-31T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString().slice(0, 10));
  const country = fc.constantFrom('DE', 'FR', 'GB', 'IE', 'US', 'BR', 'JP', null);

  test('the due day is never before the period, GDPR’s is a working day, the extension is later', () => {
    fc.assert(
      fc.property(day, country, fc.integer({ min: 0, max: 60 }), (received, c, paused) => {
        const regime = regimeOf(c);
        const d = deadline({ regime, country: c, receivedAt: at(received), pausedDays: paused });
        const start = new Date(at(received).getTime() + paused * 86_400_000);
        const days = (x: string) =>
          (new Date(`${x}T00:00:00Z`).getTime() - start.getTime()) / 864e5;
        expect(days(d.dueDay)).toBeGreaterThanOrEqual(regime === 'gdpr' ? 27 : 29);
        if (regime === 'gdpr') expect(isClosed(d.dueDay, c, new Set())).toBe(false);
        if (d.extendedDueDay) expect(d.extendedDueDay > d.dueDay).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the configured map', () => {
  test('the EEA, the UK and Switzerland are GDPR; the US is CCPA; the rest are the service’s', () => {
    expect(regimeOf('de')).toBe('gdpr');
    expect(regimeOf('NO')).toBe('gdpr');
    expect(regimeOf('CH')).toBe('gdpr');
    expect(regimeOf('GB')).toBe('gdpr');
    expect(regimeOf('US')).toBe('ccpa');
    expect(regimeOf('BR')).toBe('service');
    expect(regimeOf(null)).toBe('service');
  });

  test('CUSTODIAN_PRIVACY_REGIMES changes entries and names a bad one', () => {
    const map = countryRegimes('CA=ccpa, BR = gdpr');
    expect(regimeOf('CA', map)).toBe('ccpa');
    expect(regimeOf('BR', map)).toBe('gdpr');
    expect(regimeOf('DE', map)).toBe('gdpr');
    expect(() => countryRegimes('CA=hipaa')).toThrow(/"CA=hipaa" is not COUNTRY=REGIME/);
    expect(() => countryRegimes('Canada=ccpa')).toThrow(/"Canada=ccpa"/);
  });

  test('CUSTODIAN_PRIVACY_CLOSED_DAYS takes dates and names a bad one', () => {
    expect([...closedDays(' 2026-12-24, 2026-12-31 ')]).toEqual(['2026-12-24', '2026-12-31']);
    expect(() => closedDays('2026-02-30')).toThrow(/"2026-02-30" is not a date/);
    expect(() => closedDays('24/12/2026')).toThrow(/"24\/12\/2026"/);
  });
});
