import { lt } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { ssoLogoutTokens } from '#app/db/schema.ts';
import type { VisitorActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { endProviderSessions } from '#app/modules/auth/session.server.ts';
import { findStaffForProvider } from '#app/modules/auth/staff.server.ts';
import { LogoutTokenError, providerSettings, verifyLogoutToken } from './provider.server.ts';

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0; ADR 039): the provider posts a
// signed logout token when a person's session there ends (signed out, disabled, removed). The
// console sessions opened from that provider session end, or, when the token names only the
// person, all of that staff member's sessions. Each token is taken once: its `jti` is remembered
// while its `iat` would still let it in, and a replay is refused — it would otherwise end the
// sessions the person opened since.

export type LogoutResult = { ok: true } | { ok: false; reason: string };

export async function backchannelLogout(
  logoutToken: string,
  visitor: VisitorActor,
): Promise<LogoutResult> {
  const settings = providerSettings();
  if (!settings) return { ok: false, reason: 'sso_not_configured' };
  let claims;
  try {
    claims = await verifyLogoutToken(logoutToken, settings);
  } catch (error) {
    if (!(error instanceof LogoutTokenError)) throw error;
    await recordAudit(visitor, {
      action: 'auth.sso_logout',
      outcome: 'denied',
      details: { reason: error.reason },
    });
    return { ok: false, reason: error.reason };
  }
  const { linked } = claims.sub
    ? await findStaffForProvider(claims.iss, claims.sub, null)
    : { linked: null };
  const staffId = linked?.id;
  const taken = await getDb().transaction(async (tx) => {
    // Tokens too old to be let in again go on sight.
    await tx.delete(ssoLogoutTokens).where(lt(ssoLogoutTokens.expiresAt, new Date()));
    const [first] = await tx
      .insert(ssoLogoutTokens)
      .values({ issuer: claims.iss, jti: claims.jti, expiresAt: claims.rememberUntil })
      .onConflictDoNothing()
      .returning({ jti: ssoLogoutTokens.jti });
    if (!first) return false;
    // A token naming a person this console does not know ends nothing, and is still a success.
    const ended =
      claims.sid !== undefined
        ? await endProviderSessions({ issuer: claims.iss, sid: claims.sid, staffId }, tx)
        : staffId
          ? await endProviderSessions({ issuer: claims.iss, staffId }, tx)
          : 0;
    await recordAudit(
      visitor,
      {
        action: 'auth.sso_logout',
        outcome: 'allowed',
        subjectStaffId: staffId ?? null,
        details: { by: claims.sid !== undefined ? 'sid' : 'sub', sessions: ended },
      },
      tx,
    );
    return true;
  });
  if (!taken) {
    await recordAudit(visitor, {
      action: 'auth.sso_logout',
      outcome: 'denied',
      subjectStaffId: staffId ?? null,
      details: { reason: 'replayed' },
    });
    return { ok: false, reason: 'replayed' };
  }
  return { ok: true };
}
