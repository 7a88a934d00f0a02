// Whether an ID token's `amr` (RFC 8176 authentication method references) says the provider
// checked more than one factor (ADR 039): `mfa` itself, or methods from two different kinds of
// factor (something known, something held, something one is). One method alone, however strong,
// or two of one kind (a password and a PIN), is one factor.

const KNOWN = ['pwd', 'pin', 'kba'];
const HELD = ['otp', 'hwk', 'swk', 'sc', 'sms', 'tel'];
const INHERENT = ['fpt', 'face', 'iris', 'retina', 'vbm', 'user'];

export function amrSaysMultiFactor(amr: unknown): boolean {
  if (!Array.isArray(amr)) return false;
  const methods = new Set(amr.filter((m): m is string => typeof m === 'string'));
  if (methods.has('mfa')) return true;
  const kinds = [KNOWN, HELD, INHERENT].filter((kind) => kind.some((m) => methods.has(m)));
  return kinds.length >= 2;
}
