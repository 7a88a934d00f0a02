import {
  constants,
  createPublicKey,
  verify as verifySignature,
  type JsonWebKey,
} from 'node:crypto';
import * as oidc from 'openid-client';
import { env, type RoleMap } from '#app/config.server.ts';
import type { Role } from '#app/modules/auth/permissions.ts';

// The company's OpenID Connect provider (issue 16, ADR 039), through openid-client: its settings
// from the environment, its discovered metadata (fetched once per process, again after a
// failure), and the checks of a back-channel logout token, which openid-client does not make.

export interface ProviderSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scope: string;
  groupsClaim: string;
  roleMap: RoleMap;
}

/** The provider's settings, or null when single sign-on is not configured. */
export function providerSettings(): ProviderSettings | null {
  const e = env();
  if (!e.CUSTODIAN_OIDC_ISSUER || !e.CUSTODIAN_OIDC_ROLE_MAP) return null;
  const origin = e.CUSTODIAN_PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`;
  return {
    issuer: e.CUSTODIAN_OIDC_ISSUER,
    clientId: e.CUSTODIAN_OIDC_CLIENT_ID!,
    clientSecret: e.CUSTODIAN_OIDC_CLIENT_SECRET!,
    redirectUri: e.CUSTODIAN_OIDC_REDIRECT_URI ?? `${origin}/auth/oidc/callback`,
    scope: e.CUSTODIAN_OIDC_SCOPE,
    groupsClaim: e.CUSTODIAN_OIDC_GROUPS_CLAIM,
    roleMap: e.CUSTODIAN_OIDC_ROLE_MAP,
  };
}

export function ssoConfigured(): boolean {
  return providerSettings() !== null;
}

function isLoopbackHttp(issuer: string) {
  return new URL(issuer).protocol === 'http:';
}

const KEY = Symbol.for('custodian.oidc.configuration');
const holder = globalThis as unknown as {
  [KEY]?: { key: string; config: Promise<oidc.Configuration> };
};

/**
 * The provider's configuration (discovery), once per process and settings. A failed discovery
 * is forgotten, so the next sign-in tries again.
 */
export function providerConfiguration(settings: ProviderSettings): Promise<oidc.Configuration> {
  const key = `${settings.issuer} ${settings.clientId}`;
  if (holder[KEY]?.key !== key) {
    const config = oidc
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        settings.clientSecret,
        oidc.ClientSecretBasic(settings.clientSecret),
        // http:// is accepted (by the configuration's check) only for a provider on this machine.
        isLoopbackHttp(settings.issuer) ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        if (holder[KEY]?.key === key) delete holder[KEY];
        throw error;
      });
    holder[KEY] = { key, config };
  }
  return holder[KEY].config;
}

/** The roles the provider's groups claim maps to, sorted; unknown groups map to nothing. */
export function rolesFromClaims(
  claims: Record<string, unknown>,
  settings: ProviderSettings,
): Role[] {
  const raw = claims[settings.groupsClaim];
  const groups = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : [];
  const roles = new Set<Role>();
  for (const group of groups) {
    if (typeof group !== 'string') continue;
    for (const role of settings.roleMap.get(group) ?? []) roles.add(role);
  }
  return [...roles].sort();
}

// --- back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0, section 2.6) -----------

export class LogoutTokenError extends Error {
  constructor(public reason: string) {
    super(reason);
  }
}

export interface LogoutClaims {
  iss: string;
  sub?: string;
  sid?: string;
  /** The token's own identifier, remembered until `rememberUntil` so that a replay is refused. */
  jti: string;
  /** After this the token is refused by its age alone (`iat` too old): no need to remember it. */
  rememberUntil: Date;
}

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_AGE_S = 10 * 60;
const SKEW_S = 60;
/** A longer `jti` is refused rather than stored. */
const MAX_JTI = 256;

const ALGORITHMS: Record<string, { hash: string; kty: string; pss?: boolean; ec?: boolean }> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: true },
  PS384: { hash: 'sha384', kty: 'RSA', pss: true },
  PS512: { hash: 'sha512', kty: 'RSA', pss: true },
  ES256: { hash: 'sha256', kty: 'EC', ec: true },
  ES384: { hash: 'sha384', kty: 'EC', ec: true },
  ES512: { hash: 'sha512', kty: 'EC', ec: true },
  EdDSA: { hash: '', kty: 'OKP' },
};

interface Jwk extends JsonWebKey {
  kid?: string;
  use?: string;
  alg?: string;
  kty: string;
}

const jwksCache = new Map<string, { keys: Jwk[]; at: number }>();

async function providerKeys(config: oidc.Configuration, fresh: boolean): Promise<Jwk[]> {
  const uri = config.serverMetadata().jwks_uri;
  if (!uri) throw new LogoutTokenError('no_jwks_uri');
  const cached = jwksCache.get(uri);
  // A key not found is looked up again, at most once a minute (the provider rotated its keys).
  if (cached && (!fresh || Date.now() - cached.at < 60_000)) return cached.keys;
  const response = await fetch(uri, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new LogoutTokenError('jwks_unavailable');
  const body = (await response.json()) as { keys?: Jwk[] };
  const keys = Array.isArray(body.keys) ? body.keys : [];
  jwksCache.set(uri, { keys, at: Date.now() });
  return keys;
}

function decodePart(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw new LogoutTokenError('malformed');
}

/**
 * Checks a logout token as section 2.6 asks: signed (never `none`) by one of the provider's keys,
 * `iss` the provider, `aud` this client, `iat` recent, the back-channel logout event, `sub` or
 * `sid`, and no `nonce`. Returns its claims or throws LogoutTokenError with a reason code.
 */
export async function verifyLogoutToken(
  token: string,
  settings: ProviderSettings,
): Promise<LogoutClaims> {
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = decodePart(h);
  const claims = decodePart(p);
  const alg = typeof header.alg === 'string' ? header.alg : '';
  const spec = ALGORITHMS[alg];
  if (!spec) throw new LogoutTokenError('bad_algorithm');
  const config = await providerConfiguration(settings);
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const pick = (keys: Jwk[]) =>
    keys.filter(
      (k) =>
        k.kty === spec.kty &&
        (k.use === undefined || k.use === 'sig') &&
        (k.alg === undefined || k.alg === alg) &&
        (kid === undefined || k.kid === kid),
    );
  let candidates = pick(await providerKeys(config, false));
  if (candidates.length === 0) candidates = pick(await providerKeys(config, true));
  const data = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, 'base64url');
  const verified = candidates.some((jwk) => {
    try {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      return verifySignature(
        spec.hash || null,
        data,
        spec.pss
          ? {
              key,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
            }
          : spec.ec
            ? { key, dsaEncoding: 'ieee-p1363' }
            : key,
        signature,
      );
    } catch {
      return false;
    }
  });
  if (!verified) throw new LogoutTokenError('bad_signature');

  if (claims.iss !== config.serverMetadata().issuer) throw new LogoutTokenError('wrong_issuer');
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(settings.clientId)) throw new LogoutTokenError('wrong_audience');
  const nowS = Math.floor(Date.now() / 1000);
  if (typeof claims.iat !== 'number') throw new LogoutTokenError('no_iat');
  if (claims.iat > nowS + SKEW_S || claims.iat < nowS - MAX_AGE_S) {
    throw new LogoutTokenError('stale_iat');
  }
  if (typeof claims.exp === 'number' && claims.exp < nowS - SKEW_S) {
    throw new LogoutTokenError('expired');
  }
  const events = claims.events;
  if (
    typeof events !== 'object' ||
    events === null ||
    Array.isArray(events) ||
    typeof (events as Record<string, unknown>)[BACKCHANNEL_EVENT] !== 'object'
  ) {
    throw new LogoutTokenError('no_logout_event');
  }
  if ('nonce' in claims) throw new LogoutTokenError('nonce_present');
  const sub = typeof claims.sub === 'string' && claims.sub ? claims.sub : undefined;
  const sid = typeof claims.sid === 'string' && claims.sid ? claims.sid : undefined;
  if (!sub && !sid) throw new LogoutTokenError('no_sub_or_sid');
  // REQUIRED by the specification: what a replay is recognised by.
  const jti = claims.jti;
  if (typeof jti !== 'string' || !jti || jti.length > MAX_JTI) throw new LogoutTokenError('no_jti');
  const rememberUntil = new Date((claims.iat + MAX_AGE_S + SKEW_S) * 1000);
  return { iss: claims.iss, sub, sid, jti, rememberUntil };
}
