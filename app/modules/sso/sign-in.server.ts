import { AsyncLocalStorage } from 'node:async_hooks';
import { Authenticator } from 'remix-auth';
import { Strategy } from 'remix-auth/strategy';
import * as oidc from 'openid-client';
import { getDb } from '#app/db/client.server.ts';
import type { VisitorActor } from '#app/modules/actor.ts';
import { notify } from '#app/modules/access/notifications.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { createPendingSignIn, hasSecondFactor } from '#app/modules/auth/factors.server.ts';
import { startSession } from '#app/modules/auth/sign-in.server.ts';
import {
  findStaffForProvider,
  linkProviderAccount,
  setRolesFromProvider,
  type ProviderCandidate,
} from '#app/modules/auth/staff.server.ts';
import type { ProviderSession } from '#app/modules/auth/session.server.ts';
import { amrSaysMultiFactor } from './amr.ts';
import { takeFlow, type Flow } from './flows.server.ts';
import {
  providerConfiguration,
  providerSettings,
  rolesFromClaims,
  type ProviderSettings,
} from './provider.server.ts';

// The callback of a single sign-on (issue 16, ADR 039), as a remix-auth strategy beside the
// password form's: the strategy checks what the provider sent (state, PKCE, the ID token's
// signature, issuer, audience and nonce, through openid-client), and the verify step decides who
// it is. Staff are matched by the provider's subject once linked, before that by verified email;
// unknown people get no account; roles are set from the groups claim at every sign-in.

/** Why a single sign-on was refused: the audit trail's reason and the page's message. */
export type SsoRefusal =
  | 'sso_invalid_response'
  | 'sso_provider_error'
  | 'sso_provider_unreachable'
  | 'sso_email_unverified'
  | 'sso_no_account'
  | 'sso_subject_mismatch'
  | 'sso_disabled'
  | 'sso_no_role';

export const REFUSAL_MESSAGES: Record<SsoRefusal, string> = {
  sso_invalid_response:
    'This sign-in could not be checked (it expired, was started in another window, or the answer from the identity provider did not match). Start again.',
  sso_provider_error:
    'The identity provider did not sign you in. Start again, or ask your IT team.',
  sso_provider_unreachable:
    'The identity provider cannot be reached right now. Try again in a moment.',
  sso_email_unverified:
    'The identity provider did not confirm your email address, so it cannot be matched to a staff account.',
  sso_no_account:
    'There is no Custodian staff account for you. An admin creates one with your work email.',
  sso_subject_mismatch:
    'The staff account with your email is linked to another person at the identity provider. Ask an admin.',
  sso_disabled: 'Your Custodian staff account is disabled.',
  sso_no_role:
    'Your groups at the identity provider give you no Custodian role, so you cannot sign in. Ask your IT team for the right group.',
};

export class SsoError extends Error {
  constructor(
    public reason: SsoRefusal,
    public status: number,
  ) {
    super(REFUSAL_MESSAGES[reason]);
  }
}

/** What a successful callback leads to: a session, or the second-factor step. */
export type SsoOutcome =
  | { kind: 'session'; token: string; redirectTo: string }
  | { kind: 'second-factor'; pendingToken: string };

interface CallbackContext {
  visitor: VisitorActor;
  flowToken: string | undefined;
  settings: ProviderSettings;
}

interface VerifyParams {
  /** The ID token's claims, with what it lacked read from the userinfo endpoint. */
  claims: oidc.IDToken & Record<string, unknown>;
  issuer: string;
  flow: Flow;
  visitor: VisitorActor;
  settings: ProviderSettings;
}

const contexts = new AsyncLocalStorage<CallbackContext>();

class OidcCallbackStrategy extends Strategy<SsoOutcome, VerifyParams> {
  name = 'oidc';

  async authenticate(request: Request): Promise<SsoOutcome> {
    const { visitor, flowToken, settings } = contexts.getStore()!;
    // The flow is taken before anything else: a second try with the same cookie finds nothing.
    const flow = flowToken ? await takeFlow(flowToken) : null;
    if (!flow) throw new SsoError('sso_invalid_response', 400);
    let config: oidc.Configuration;
    try {
      config = await providerConfiguration(settings);
    } catch {
      throw new SsoError('sso_provider_unreachable', 503);
    }
    // The answer's parameters on the redirect URI the provider knows (not the address this
    // request arrived at, which a proxy may have changed).
    const current = new URL(settings.redirectUri);
    current.search = new URL(request.url).search;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(
        config,
        current,
        {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        },
        { redirect_uri: settings.redirectUri },
      );
    } catch (error) {
      if (error instanceof oidc.AuthorizationResponseError) {
        throw new SsoError('sso_provider_error', 403);
      }
      throw new SsoError('sso_invalid_response', 400);
    }
    const idToken = tokens.claims();
    if (!idToken) throw new SsoError('sso_invalid_response', 400);
    let claims: VerifyParams['claims'] = idToken;
    // Many providers put only `sub` in the ID token and the rest at the userinfo endpoint (the
    // default when an access token is issued): what the ID token lacks is read there, for the
    // same subject (openid-client checks it).
    const missing = ['email', 'email_verified', settings.groupsClaim].filter(
      (c) => !(c in idToken),
    );
    if (missing.length && tokens.access_token && config.serverMetadata().userinfo_endpoint) {
      let info: Record<string, unknown>;
      try {
        info = await oidc.fetchUserInfo(config, tokens.access_token, idToken.sub);
      } catch {
        throw new SsoError('sso_invalid_response', 400);
      }
      const merged: Record<string, unknown> = { ...idToken };
      for (const c of missing) if (c in info) merged[c] = info[c];
      claims = merged as VerifyParams['claims'];
    }
    return this.verify({
      claims,
      issuer: config.serverMetadata().issuer,
      flow,
      visitor,
      settings,
    });
  }
}

async function refuse(
  visitor: VisitorActor,
  reason: SsoRefusal,
  status: number,
  subjectStaffId: string | null = null,
): Promise<never> {
  await recordAudit(visitor, {
    action: 'auth.sign_in',
    outcome: 'denied',
    subjectStaffId,
    details: { method: 'sso', reason },
  });
  throw new SsoError(reason, status);
}

async function verify({ claims, issuer, flow, visitor, settings }: VerifyParams) {
  const email =
    claims.email_verified === true && typeof claims.email === 'string' ? claims.email : null;
  const { linked, byEmail } = await findStaffForProvider(issuer, claims.sub, email);
  let account: ProviderCandidate | null = linked;
  let linkNow = false;
  if (!account) {
    if (!email) {
      return refuse(
        visitor,
        typeof claims.email === 'string' ? 'sso_email_unverified' : 'sso_no_account',
        403,
      );
    }
    if (!byEmail) return refuse(visitor, 'sso_no_account', 403);
    // An account linked to someone else at the provider is not taken over by a new subject with
    // the same email (a reassigned address).
    if (byEmail.idpSubject !== null) {
      return refuse(visitor, 'sso_subject_mismatch', 403, byEmail.id);
    }
    account = byEmail;
    linkNow = true;
  }
  if (account.status !== 'active') return refuse(visitor, 'sso_disabled', 403, account.id);

  const staffId = account.id;
  const roles = rolesFromClaims(claims, settings);
  await getDb().transaction(async (tx) => {
    if (linkNow && !(await linkProviderAccount(tx, staffId, issuer, claims.sub))) {
      throw new SsoError('sso_subject_mismatch', 403);
    }
    const change = await setRolesFromProvider(tx, staffId, roles);
    if (change.before.join() !== change.after.join()) {
      await recordAudit(
        visitor,
        {
          action: 'staff.roles_sync',
          outcome: 'allowed',
          subjectStaffId: staffId,
          details: change,
        },
        tx,
      );
      await notify(
        {
          kind: 'staff.roles_synced',
          to: { holdersOf: ['security:review'], except: [staffId] },
          subjectStaffId: staffId,
        },
        tx,
      );
    }
  });
  if (roles.length === 0) return refuse(visitor, 'sso_no_role', 403, staffId);

  const idp: ProviderSession = {
    issuer,
    sid: typeof claims.sid === 'string' && claims.sid ? claims.sid.slice(0, 512) : null,
  };
  const who = { staffId, email: account.email, displayName: account.displayName, roles };
  if (amrSaysMultiFactor(claims.amr)) {
    const token = await startSession(who, visitor, {
      factor: 'provider_mfa',
      idp,
      ...(linkNow ? { linked: true } : {}),
    });
    return { kind: 'session' as const, token, redirectTo: flow.redirectTo };
  }
  if (await hasSecondFactor(staffId)) {
    // The provider checked one factor: the console asks for its own second step (ADR 035).
    const pendingToken = await createPendingSignIn(staffId, flow.redirectTo, idp);
    return { kind: 'second-factor' as const, pendingToken };
  }
  // No factor here either: an account that needs one is held to enrolment by guard().
  const token = await startSession(who, visitor, { idp, ...(linkNow ? { linked: true } : {}) });
  return { kind: 'session' as const, token, redirectTo: flow.redirectTo };
}

const authenticator = new Authenticator<SsoOutcome>();
authenticator.use(new OidcCallbackStrategy(verify), 'oidc');

/**
 * The provider's answer at /auth/oidc/callback: a session or the second step, or SsoError with
 * a message fit to show (recorded in the audit trail).
 */
export async function completeSso(
  request: Request,
  flowToken: string | undefined,
  visitor: VisitorActor,
): Promise<SsoOutcome> {
  const settings = providerSettings();
  if (!settings) throw new SsoError('sso_provider_unreachable', 404);
  try {
    return await contexts.run({ visitor, flowToken, settings }, () =>
      authenticator.authenticate('oidc', request),
    );
  } catch (error) {
    if (
      error instanceof SsoError &&
      ['sso_invalid_response', 'sso_provider_error', 'sso_provider_unreachable'].includes(
        error.reason,
      )
    ) {
      await recordAudit(visitor, {
        action: 'auth.sign_in',
        outcome: 'denied',
        details: { method: 'sso', reason: error.reason },
      });
    }
    throw error;
  }
}
