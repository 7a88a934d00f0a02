import { amrSaysMultiFactor } from './amr.ts';

describe('amr says multi-factor (ADR 039)', () => {
  it.each([
    [['pwd', 'mfa'], true],
    [['mfa'], true],
    [['pwd', 'otp'], true],
    [['hwk', 'fpt'], true],
    [['pwd', 'hwk'], true],
    [['pwd'], false],
    [['hwk'], false],
    [['pwd', 'pin'], false],
    [[], false],
    [undefined, false],
    ['mfa', false],
    [[1, 'pwd'], false],
  ])('%o → %s', (amr, expected) => {
    expect(amrSaysMultiFactor(amr)).toBe(expected);
  });
});
