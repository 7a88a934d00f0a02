import { AsyncLocalStorage } from 'node:async_hooks';
import { Authenticator } from 'remix-auth';
import { FormStrategy } from 'remix-auth-form';
import { z } from 'zod';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { verifyAgainstNothing, verifyPassword } from './password.server.ts';
import { findStaffForSignIn } from './staff.server.ts';
import {
  accountKey,
  addressKey,
  claimAttempt,
  factorKey,
  settleSuccess,
  throttleMessage,
} from './throttle.server.ts';
import {
  checkSecondFactor,
  endPendingSignIn,
  hasSecondFactor,
  markSecondFactor,
  type FactorMethod,
  type PendingSignIn,
} from './factors.server.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import { staffActor } from './actor.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { createSession, type ProviderSession } from './session.server.ts';
import type { VisitorActor } from '#app/modules/actor.ts';
import type { Role } from './permissions.ts';
import { getDb } from '#app/db/client.server.ts';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { checkPasskey, type ChallengeBinding } from './webauthn.server.ts';
import { parseForm } from '#app/utils/forms.server.ts';
import { sameOriginPath } from '#app/utils/paths.ts';

// remix-auth holds no session: the strategy answers "who is this", and the route stores the
// session. A second factor or single sign-on becomes another strategy beside this one.

export const SignInSchema = z.object({
  email: z.string().trim().min(1, 'Enter your email').max(320, 'Email is too long'),
  password: z.string().min(1, 'Enter your password').max(256, 'Password is too long'),
  redirectTo: z.string().optional(),
});

export class SignInError extends Error {
  constructor(
    message: string,
    public fieldErrors: Partial<Record<'email' | 'password' | 'code', string>> = {},
    public status = 401,
  ) {
    super(message);
  }
}

const GENERIC_FAILURE = 'That email and password do not match an active account.';

/** Who the password belongs to, as the account holds them now. */
export interface SignedInStaff {
  staffId: string;
  email: string;
  displayName: string;
  roles: Role[];
  /** The account has a second factor: the session waits for it (ADR 035). */
  hasFactor?: boolean;
}

/**
 * Opens the session and records the sign-in together: no session without its audit entry. From
 * here the visitor is the staff member, in the session just opened.
 */
export async function startSession(
  who: SignedInStaff,
  visitor: VisitorActor,
  opts: {
    factor?: FactorMethod | 'provider_mfa';
    pendingId?: string;
    /** A single sign-on (ADR 039): the provider's session, for back-channel logout. */
    idp?: ProviderSession | null;
    /** This sign-in linked the account to the provider's person. */
    linked?: boolean;
  } = {},
) {
  return getDb().transaction(async (tx) => {
    // The pending sign-in is used once: a second request with the same cookie finds it gone.
    if (opts.pendingId && !(await endPendingSignIn(opts.pendingId, tx))) {
      throw new SignInError(PENDING_GONE, {}, 401);
    }
    const session = await createSession(who.staffId, visitor.client, tx, {
      secondFactorAt: opts.factor ? now() : null,
      idp: opts.idp ?? null,
    });
    const actor = {
      kind: 'staff' as const,
      staffId: who.staffId,
      email: who.email,
      displayName: who.displayName,
      roles: who.roles,
      permissions: new Set<never>(),
      sessionId: session.sessionId,
      client: visitor.client,
      mustChangePassword: false,
    };
    await recordAudit(
      actor,
      {
        action: 'auth.sign_in',
        outcome: 'allowed',
        subjectStaffId: who.staffId,
        details: {
          ...(opts.factor ? { factor: opts.factor } : {}),
          ...(opts.idp ? { method: 'sso' } : {}),
          ...(opts.linked ? { linked: true } : {}),
        },
      },
      tx,
    );
    return session.token;
  });
}

// NOTE: the strategy hands the verify callback a clone of the request, so the client's address
// and agent travel beside it rather than on it.
const contexts = new AsyncLocalStorage<VisitorActor>();

const authenticator = new Authenticator<SignedInStaff>();
authenticator.use(
  new FormStrategy(async ({ form }) => {
    const visitor = contexts.getStore()!;
    const parsed = parseForm(SignInSchema, Object.fromEntries(form));
    if (!parsed.ok) {
      // A field the page does not show (redirectTo) is named in the message itself.
      const hidden = Object.entries(parsed.fieldErrors).find(
        ([field]) => field !== 'email' && field !== 'password',
      );
      throw new SignInError(
        hidden ? `Invalid ${hidden[0]}: ${hidden[1]}` : 'Check the highlighted fields.',
        parsed.fieldErrors,
        400,
      );
    }
    const { email, password } = parsed.value;
    const byAccount = accountKey(email);
    const byAddress = addressKey(visitor.client.address || 'unknown');

    // Counted before the password is checked, atomically: a burst of parallel attempts gets no
    // more password checks than the limits allow (ADR 020).
    const claim = await claimAttempt([byAccount, byAddress]);
    if (!claim.ok) {
      await recordAudit(visitor, {
        action: 'auth.sign_in',
        outcome: 'denied',
        details: { reason: claim.locked ? 'locked' : 'throttled' },
      });
      throw new SignInError(throttleMessage(claim), {}, 429);
    }

    const account = await findStaffForSignIn(email);
    const ok = account
      ? (await verifyPassword(account.passwordHash, password)) && account.status === 'active'
      : await verifyAgainstNothing(password);
    // A lock of the account this attempt set is lifted by its success; any other stands.
    const locked = ok ? claim.newlyLocked.filter((k) => k !== byAccount) : claim.newlyLocked;
    if (!ok || !account) {
      await recordAudit(visitor, {
        action: 'auth.sign_in',
        outcome: 'denied',
        subjectStaffId: account?.id ?? null,
        details: { reason: account ? 'bad_password_or_disabled' : 'no_account' },
      });
    }
    for (const key of locked) {
      await recordAudit(visitor, {
        action: 'auth.lock',
        outcome: 'allowed',
        subjectStaffId: key.startsWith('account:') ? (account?.id ?? null) : null,
        details: { scope: key.startsWith('account:') ? 'account' : 'address' },
      });
    }
    if (!ok || !account) throw new SignInError(GENERIC_FAILURE);
    await settleSuccess(byAccount, byAddress);
    return {
      staffId: account.id,
      email: account.email,
      displayName: account.displayName,
      roles: account.roles,
      hasFactor: await hasSecondFactor(account.id),
    };
  }),
  'form',
);

/** Checks the posted email and password; throws SignInError with a message fit to show. */
export async function authenticateStaff(request: Request, visitor: VisitorActor) {
  return contexts.run(visitor, () => authenticator.authenticate('form', request));
}

const PENDING_GONE = 'This sign-in has expired. Sign in again with your email and password.';
const WRONG_CODE =
  'That code is not right. Enter the current code from your authenticator app, or a recovery code.';
const PASSKEY_REFUSED =
  'The passkey was not accepted. Try it again, or enter a code from your authenticator app or a recovery code.';
const PASSKEY_COUNTER =
  'This passkey answered with a signature counter it has used before, the sign of a copied key: it was refused and the refusal recorded. Use another factor and tell your security team.';

/**
 * What a refused proof sets off beyond its audit entry. The routes pass the security reviewers'
 * alert (the access module's notifications, which this module cannot import without a cycle).
 */
export interface ProofAlerts {
  /** A passkey answered with a signature counter it had used before: perhaps a copied key. */
  suspectedClone?(staffId: string): Promise<unknown>;
}

/** What proves the second factor: a typed code, or a passkey's answer to its challenge. */
export type FactorProof =
  { kind: 'code'; code: string } | { kind: 'passkey'; response: AuthenticationResponseJSON };

type ProofCheck =
  { ok: true; method: FactorMethod } | { ok: false; reason: string; factorId?: string };

function checkProof(
  staffId: string,
  proof: FactorProof,
  binding: ChallengeBinding | null,
): Promise<ProofCheck> {
  if (proof.kind === 'code') return checkSecondFactor(staffId, proof.code);
  if (!binding) return Promise.resolve({ ok: false, reason: 'no_challenge' });
  return checkPasskey(staffId, binding, proof.response);
}

/** The message and field error a refused proof is answered with. */
function refusal(proof: FactorProof, reason: string) {
  if (proof.kind === 'passkey') {
    return new SignInError(
      reason === 'counter_regression' ? PASSKEY_COUNTER : PASSKEY_REFUSED,
      { code: 'Passkey not accepted' },
      401,
    );
  }
  return new SignInError(
    reason === 'no_factor'
      ? 'Your account has no second factor yet: enrol one on the sign-in security page.'
      : reason === 'reused_code'
        ? 'That code was already used. Wait for the next code from your authenticator app.'
        : WRONG_CODE,
    { code: reason === 'reused_code' ? 'Already used' : 'Not right' },
    401,
  );
}

/**
 * The second step of a sign-in (ADR 035): a code from the authenticator app or a recovery code,
 * throttled per account and address like passwords. Opens the session on success.
 */
export async function completeSecondFactor(
  pending: PendingSignIn,
  proof: FactorProof,
  visitor: VisitorActor,
  alerts: ProofAlerts = {},
): Promise<string> {
  const byFactor = factorKey(pending.staffId);
  const byAddress = addressKey(visitor.client.address || 'unknown');
  const claim = await claimAttempt([byFactor, byAddress]);
  if (!claim.ok) {
    await recordAudit(visitor, {
      action: 'auth.second_factor',
      outcome: 'denied',
      subjectStaffId: pending.staffId,
      details: { purpose: 'sign_in', reason: claim.locked ? 'locked' : 'throttled' },
    });
    throw new SignInError(throttleMessage(claim), {}, 429);
  }
  const check: ProofCheck =
    pending.status === 'active'
      ? await checkProof(pending.staffId, proof, {
          purpose: 'sign_in',
          pendingSignInId: pending.id,
        })
      : { ok: false, reason: 'disabled' };
  const locked = check.ok ? claim.newlyLocked.filter((k) => k !== byFactor) : claim.newlyLocked;
  if (!check.ok) {
    await recordAudit(visitor, {
      action: 'auth.second_factor',
      outcome: 'denied',
      subjectStaffId: pending.staffId,
      details: {
        purpose: 'sign_in',
        reason: check.reason,
        ...(check.factorId ? { factor: check.factorId } : {}),
      },
    });
    if (check.reason === 'counter_regression') await alerts.suspectedClone?.(pending.staffId);
  }
  for (const key of locked) {
    await recordAudit(visitor, {
      action: 'auth.lock',
      outcome: 'allowed',
      subjectStaffId: key.startsWith('factor:') ? pending.staffId : null,
      details: { scope: key.startsWith('factor:') ? 'account' : 'address' },
    });
  }
  if (!check.ok) {
    if (check.reason === 'disabled') {
      await endPendingSignIn(pending.id);
      throw new SignInError(PENDING_GONE, {}, 401);
    }
    throw refusal(proof, check.reason);
  }
  await settleSuccess(byFactor, byAddress);
  const who = await staffActor(pending.staffId);
  return startSession(
    { staffId: who.staffId, email: who.email, displayName: who.displayName, roles: [...who.roles] },
    visitor,
    {
      factor: check.method,
      pendingId: pending.id,
      idp: pending.idpIssuer ? { issuer: pending.idpIssuer, sid: pending.idpSid } : null,
    },
  );
}

/**
 * Step-up (ADR 035): the signed-in staff member proves the second factor again, throttled like the
 * sign-in's second step; the session's factor time becomes now.
 */
export async function stepUp(
  actor: StaffActor,
  proof: FactorProof,
  alerts: ProofAlerts = {},
): Promise<void> {
  const byFactor = factorKey(actor.staffId);
  const byAddress = addressKey(actor.client.address || 'unknown');
  const claim = await claimAttempt([byFactor, byAddress]);
  if (!claim.ok) {
    await recordAudit(actor, {
      action: 'auth.second_factor',
      outcome: 'denied',
      subjectStaffId: actor.staffId,
      details: { purpose: 'step_up', reason: claim.locked ? 'locked' : 'throttled' },
    });
    throw new SignInError(throttleMessage(claim), {}, 429);
  }
  const check = await checkProof(
    actor.staffId,
    proof,
    actor.sessionId ? { purpose: 'step_up', sessionId: actor.sessionId } : null,
  );
  if (!check.ok) {
    await recordAudit(actor, {
      action: 'auth.second_factor',
      outcome: 'denied',
      subjectStaffId: actor.staffId,
      details: {
        purpose: 'step_up',
        reason: check.reason,
        ...(check.factorId ? { factor: check.factorId } : {}),
      },
    });
    if (check.reason === 'counter_regression') await alerts.suspectedClone?.(actor.staffId);
    for (const key of claim.newlyLocked) {
      await recordAudit(actor, {
        action: 'auth.lock',
        outcome: 'allowed',
        subjectStaffId: key.startsWith('factor:') ? actor.staffId : null,
        details: { scope: key.startsWith('factor:') ? 'account' : 'address' },
      });
    }
    throw refusal(proof, check.reason);
  }
  await settleSuccess(byFactor, byAddress);
  await getDb().transaction(async (tx) => {
    if (actor.sessionId) await markSecondFactor(actor.sessionId, tx);
    await recordAudit(
      actor,
      {
        action: 'auth.step_up',
        outcome: 'allowed',
        subjectStaffId: actor.staffId,
        details: { method: check.method },
      },
      tx,
    );
  });
}

/**
 * Only paths that stay on the console's own origin, as the browser will read them (ADR 020): never
 * an open redirect to another origin, and never a Location header that cannot be sent.
 */
export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback = '/') {
  return sameOriginPath(to) ?? fallback;
}
