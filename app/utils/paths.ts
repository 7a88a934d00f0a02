// Addresses inside the console, judged the way a browser will read them. Browser-safe: no server
// code, used by the sign-in redirect and by the HTTP layer's check of request paths.

// Any origin serves: a path-absolute address keeps whatever origin it is resolved against, and
// anything that changes it (`//host`, `/\host`, a scheme) changes this one too.
const BASE = 'http://console.invalid';

// Control, format (bidi overrides, zero-width), unassigned, private-use and surrogate characters,
// and every kind of space: browsers drop or rewrite some of them (`/<TAB>/evil.example` becomes
// `//evil.example`), and none belongs in one of our addresses.
const UNSAFE = /[\p{C}\p{Z}\s]/u;

/**
 * The path, query and fragment of `value` as a browser would request them (percent-encoded,
 * dot segments resolved), when `value` is a path that stays on the console's own origin; null
 * for anything else (another origin, a scheme, control or space characters, not a path at all).
 */
export function sameOriginPath(value: unknown): string | null {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > 4096) return null;
  if (UNSAFE.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  return `${url.pathname}${url.search}${url.hash}`;
}
