import { SCOPES, type Scope } from '#app/modules/vocabulary.ts';

// The words of the service API (ADR 023), shared by the command line and the routes.
// Browser-safe. The scopes live with the other fixed vocabularies (app/modules/vocabulary.ts), so
// the audit catalogue and the route declarations read them without depending on this module.

export { SCOPES, type Scope };

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/**
 * A token's name: it is the actor of every entry its calls leave in the audit trail, so it is a
 * code (lowercase letters, digits, `.`, `_`, `-`), never a person's name or an address.
 */
export const TOKEN_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * A token as handed out: a recognisable prefix (so secret scanners and people spot a leaked one)
 * and 32 random bytes in base64url.
 */
export const TOKEN_PREFIX = 'cst_';
export const TOKEN_FORMAT = /^cst_[A-Za-z0-9_-]{43}$/;

/** An `Idempotency-Key` header: 1 to 200 visible ASCII characters (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
