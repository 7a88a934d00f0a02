import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { eq, lt } from 'drizzle-orm';
import * as oidc from 'openid-client';
import { getDb } from '#app/db/client.server.ts';
import { ssoFlows } from '#app/db/schema.ts';
import { now } from '#app/modules/clock.server.ts';
import { providerConfiguration, type ProviderSettings } from './provider.server.ts';

// A single sign-on on its way through the provider (ADR 039): state, nonce and the PKCE verifier
// stay in the database; the browser holds only a random token naming them, in a cookie sent back
// to the callback alone. The callback takes the row once, whatever comes of it.

/** How long the provider may take (the person signs in there, perhaps with a second factor). */
export const SSO_FLOW_MS = 10 * 60_000;

function hashToken(token: string) {
  return createHash('sha256').update(token).digest();
}

/** Starts a sign-in: the provider's authorization URL and the cookie's token. */
export async function startFlow(settings: ProviderSettings, redirectTo: string) {
  const config = await providerConfiguration(settings);
  const token = randomBytes(32).toString('base64url');
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const at = now();
  await getDb().transaction(async (tx) => {
    // Abandoned sign-ins go on sight.
    await tx.delete(ssoFlows).where(lt(ssoFlows.expiresAt, at));
    await tx.insert(ssoFlows).values({
      id: randomUUID(),
      tokenHash: hashToken(token),
      state,
      nonce,
      codeVerifier,
      redirectTo,
      createdAt: at,
      expiresAt: new Date(at.getTime() + SSO_FLOW_MS),
    });
  });
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: settings.redirectUri,
    scope: settings.scope,
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  return { token, url: url.href };
}

export interface Flow {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectTo: string;
}

/** Takes the sign-in the cookie names (used once); null when there is none or it expired. */
export async function takeFlow(token: string): Promise<Flow | null> {
  const [row] = await getDb()
    .delete(ssoFlows)
    .where(eq(ssoFlows.tokenHash, hashToken(token)))
    .returning({
      state: ssoFlows.state,
      nonce: ssoFlows.nonce,
      codeVerifier: ssoFlows.codeVerifier,
      redirectTo: ssoFlows.redirectTo,
      expiresAt: ssoFlows.expiresAt,
    });
  if (!row || row.expiresAt.getTime() <= now().getTime()) return null;
  return row;
}

export const SSO_COOKIE = 'custodian_sso';

export function ssoCookie(token: string, secure: boolean) {
  return `${SSO_COOKIE}=${token}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=${SSO_FLOW_MS / 1000}${secure ? '; Secure' : ''}`;
}

export function clearedSsoCookie(secure: boolean) {
  return `${SSO_COOKIE}=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
}

export function readSsoToken(request: Request): string | undefined {
  const header = request.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SSO_COOKIE) {
      const value = rest.join('=');
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}
