import { randomUUID } from 'node:crypto';
import { and, eq, isNotNull, lt, or } from 'drizzle-orm';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
import { staffFactors, webauthnChallenges } from '#app/db/schema.ts';
import { webauthnRelyingParty } from '#app/config.server.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { afterEnrolment, newRecoveryHashes } from './factors.server.ts';

// Passkeys and security keys (issue 16, ADR 038), through @simplewebauthn/server. A credential is
// a row of console.staff_factors of kind `webauthn` (its public key is no secret); a challenge is
// a row of console.webauthn_challenges bound to what asked for it (a session enrolling or
// stepping up, or a pending sign-in), for 5 minutes, deleted when an answer is checked against it.

/** How long a challenge waits for the browser's answer. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
// Ed25519, ES256, RS256: what authenticators offer today (no post-quantum algorithm yet).
const ALGORITHMS = [-8, -7, -257];

/** What a challenge is for, and what it is bound to. */
export type ChallengeBinding =
  | { purpose: 'enrol'; sessionId: string }
  | { purpose: 'step_up'; sessionId: string }
  | { purpose: 'sign_in'; pendingSignInId: string };

function bindingWhere(staffId: string, binding: ChallengeBinding) {
  return and(
    eq(webauthnChallenges.staffId, staffId),
    eq(webauthnChallenges.purpose, binding.purpose),
    binding.purpose === 'sign_in'
      ? eq(webauthnChallenges.pendingSignInId, binding.pendingSignInId)
      : eq(webauthnChallenges.sessionId, binding.sessionId),
  );
}

/** Keeps `challenge` for this binding, replacing an earlier one (one at a time). */
async function keepChallenge(staffId: string, binding: ChallengeBinding, challenge: string) {
  const at = now();
  await getDb().transaction(async (tx) => {
    await tx
      .delete(webauthnChallenges)
      .where(or(bindingWhere(staffId, binding), lt(webauthnChallenges.expiresAt, at)));
    await tx.insert(webauthnChallenges).values({
      id: randomUUID(),
      staffId,
      purpose: binding.purpose,
      challenge,
      pendingSignInId: binding.purpose === 'sign_in' ? binding.pendingSignInId : null,
      sessionId: binding.purpose === 'sign_in' ? null : binding.sessionId,
      createdAt: at,
      expiresAt: new Date(at.getTime() + CHALLENGE_TTL_MS),
    });
  });
}

/**
 * The challenge waiting for this binding, used up: deleted before the answer is checked, so an
 * answer (or a replay of one) is checked against it once.
 */
async function takeChallenge(
  staffId: string,
  binding: ChallengeBinding,
): Promise<{ challenge: string } | { refused: 'no_challenge' | 'expired_challenge' }> {
  const [row] = await getDb()
    .delete(webauthnChallenges)
    .where(bindingWhere(staffId, binding))
    .returning({
      challenge: webauthnChallenges.challenge,
      expiresAt: webauthnChallenges.expiresAt,
    });
  if (!row) return { refused: 'no_challenge' };
  if (row.expiresAt.getTime() <= now().getTime()) return { refused: 'expired_challenge' };
  return { challenge: row.challenge };
}

/** The account's passkeys, for a browser to choose from (or not to enrol twice). */
async function passkeysOf(staffId: string, tx: Db | Tx = getDb()) {
  const rows = await tx
    .select({ id: staffFactors.credentialId, transports: staffFactors.transports })
    .from(staffFactors)
    .where(
      and(
        eq(staffFactors.staffId, staffId),
        eq(staffFactors.kind, 'webauthn'),
        isNotNull(staffFactors.confirmedAt),
      ),
    );
  return rows.map((r) => ({
    id: r.id!,
    transports: (r.transports ?? []) as AuthenticatorTransport[],
  }));
}

export async function hasPasskey(staffId: string): Promise<boolean> {
  return (await passkeysOf(staffId)).length > 0;
}

/** Why the library refused an answer, as a code for the audit trail. */
function refusalReason(error: unknown) {
  const message = error instanceof Error ? error.message : '';
  if (/origin/i.test(message)) return 'wrong_origin';
  if (/RP ID/i.test(message)) return 'wrong_rp_id';
  if (/challenge/i.test(message)) return 'wrong_challenge';
  return 'invalid_answer';
}

// ---------------------------------------------------------------------------------------------
// Enrolment
// ---------------------------------------------------------------------------------------------

/** Options for navigator.credentials.create(), with a fresh challenge kept for this session. */
export async function passkeyRegistrationOptions(
  actor: StaffActor,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  if (!actor.sessionId) throw new Error('Enrolling a passkey needs a session');
  const rp = webauthnRelyingParty();
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: actor.email,
    userDisplayName: actor.displayName,
    userID: new Uint8Array(Buffer.from(actor.staffId.replace(/-/g, ''), 'hex')),
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: await passkeysOf(actor.staffId),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    supportedAlgorithmIDs: ALGORITHMS,
  });
  await keepChallenge(
    actor.staffId,
    { purpose: 'enrol', sessionId: actor.sessionId },
    options.challenge,
  );
  return options;
}

export type PasskeyEnrolResult =
  { ok: true; factorId: string; recoveryCodes: string[] | null } | { ok: false; reason: string };

/**
 * Checks the browser's answer to the enrolment challenge and keeps the new passkey under `name`.
 * Like an authenticator app's enrolment, the session has proved the factor now and the account's
 * other sessions end; the first factor comes with ten recovery codes.
 */
export async function enrolPasskey(
  actor: StaffActor,
  name: string,
  response: RegistrationResponseJSON,
): Promise<PasskeyEnrolResult> {
  const refuse = async (reason: string) => {
    await recordAudit(actor, {
      action: 'auth.second_factor',
      outcome: 'denied',
      subjectStaffId: actor.staffId,
      details: { purpose: 'enrol', reason },
    });
    return { ok: false as const, reason };
  };
  if (!actor.sessionId) return refuse('no_challenge');
  const taken = await takeChallenge(actor.staffId, {
    purpose: 'enrol',
    sessionId: actor.sessionId,
  });
  if ('refused' in taken) return refuse(taken.refused);
  const { challenge } = taken;
  const rp = webauthnRelyingParty();
  let info;
  try {
    const verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
      supportedAlgorithmIDs: ALGORITHMS,
    });
    if (!verified.verified) return refuse('invalid_answer');
    info = verified.registrationInfo;
  } catch (error) {
    return refuse(refusalReason(error));
  }
  const hashes = await newRecoveryHashes();
  const id = randomUUID();
  const { credential } = info;
  return getDb().transaction(async (tx) => {
    const [taken] = await tx
      .select({ id: staffFactors.id })
      .from(staffFactors)
      .where(eq(staffFactors.credentialId, credential.id));
    if (taken) return { ok: false as const, reason: 'duplicate' };
    const at = now();
    await tx.insert(staffFactors).values({
      id,
      staffId: actor.staffId,
      kind: 'webauthn',
      name,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey),
      signCount: credential.counter,
      transports: credential.transports ?? [],
      createdAt: at,
      confirmedAt: at,
    });
    const issued = await afterEnrolment(tx, actor, 'webauthn', id, hashes);
    return { ok: true as const, factorId: id, recoveryCodes: issued };
  });
}

// ---------------------------------------------------------------------------------------------
// Sign-in and step-up
// ---------------------------------------------------------------------------------------------

/**
 * Options for navigator.credentials.get() naming the account's passkeys, with a fresh challenge
 * kept for this sign-in or session; null when the account has none.
 */
export async function passkeyAuthenticationOptions(
  staffId: string,
  binding: ChallengeBinding,
): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
  const allowCredentials = await passkeysOf(staffId);
  if (allowCredentials.length === 0) return null;
  const options = await generateAuthenticationOptions({
    rpID: webauthnRelyingParty().id,
    allowCredentials,
    timeout: CHALLENGE_TTL_MS,
    userVerification: 'preferred',
  });
  await keepChallenge(staffId, binding, options.challenge);
  return options;
}

export type PasskeyCheck =
  | { ok: true; method: 'webauthn'; factorId: string }
  | { ok: false; reason: string; factorId?: string };

/**
 * Checks a passkey's answer against the challenge kept for `binding` (used up here) and the
 * account's stored credential. A signature counter that did not grow (a cloned authenticator, or
 * a replayed answer) is refused; the caller records every refusal with its reason.
 */
export async function checkPasskey(
  staffId: string,
  binding: ChallengeBinding,
  response: AuthenticationResponseJSON,
): Promise<PasskeyCheck> {
  const taken = await takeChallenge(staffId, binding);
  if ('refused' in taken) return { ok: false, reason: taken.refused };
  const { challenge } = taken;
  const [factor] = await getDb()
    .select()
    .from(staffFactors)
    .where(
      and(
        eq(staffFactors.staffId, staffId),
        eq(staffFactors.kind, 'webauthn'),
        eq(staffFactors.credentialId, response.id),
        isNotNull(staffFactors.confirmedAt),
      ),
    );
  if (!factor?.publicKey || factor.signCount === null) {
    return { ok: false, reason: 'unknown_credential' };
  }
  const rp = webauthnRelyingParty();
  let newCounter: number;
  try {
    // NOTE: the stored counter is compared below, after the signature is verified, so that a
    // forged answer is never recorded as a cloned authenticator.
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: false,
      credential: {
        id: factor.credentialId ?? response.id,
        publicKey: new Uint8Array(factor.publicKey),
        counter: 0,
        transports: factor.transports ?? [],
      },
    });
    if (!verified.verified) return { ok: false, reason: 'invalid_answer', factorId: factor.id };
    newCounter = verified.authenticationInfo.newCounter;
  } catch (error) {
    return { ok: false, reason: refusalReason(error), factorId: factor.id };
  }
  const stored = factor.signCount;
  if ((newCounter > 0 || stored > 0) && newCounter <= stored) {
    return { ok: false, reason: 'counter_regression', factorId: factor.id };
  }
  // Claimed only if nobody moved the counter meanwhile.
  const claimed = await getDb()
    .update(staffFactors)
    .set({ signCount: newCounter })
    .where(and(eq(staffFactors.id, factor.id), eq(staffFactors.signCount, stored)))
    .returning({ id: staffFactors.id });
  if (claimed.length !== 1) return { ok: false, reason: 'counter_regression', factorId: factor.id };
  return { ok: true, method: 'webauthn', factorId: factor.id };
}
