import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, eq, isNotNull, isNull, ne, or, lt, sql } from 'drizzle-orm';
import { HOTP, Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
import {
  pendingSignIns,
  recoveryCodes,
  sessions,
  staff,
  staffFactors,
  webauthnChallenges,
} from '#app/db/schema.ts';
import type { Actor, StaffActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { openSecret, sealSecret } from '#app/modules/crypto/envelope.server.ts';
import { keyRing } from '#app/modules/crypto/keys.server.ts';
import { hashPassword, verifyPassword } from './password.server.ts';
import { needsSecondFactor } from './permissions.ts';
import type { FactorResetReason } from './vocabulary.ts';
import type { ProviderSession } from './session.server.ts';

// Second factors (issue 16, ADR 035): authenticator-app codes (TOTP, RFC 6238: SHA-1, 6 digits,
// 30 s, through `otpauth`) and ten single-use recovery codes. The app's secret is sealed under the
// master key and bound to its row; recovery codes are kept as argon2id hashes, like passwords.

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const RECOVERY_CODE_COUNT = 10;
const ISSUER = 'Custodian';
const SECRET_PURPOSE = 'staff-factor:totp';
/** How long a sign-in waits for its second step. */
export const PENDING_SIGN_IN_MS = 5 * 60_000;

export type FactorMethod = 'totp' | 'recovery_code' | 'webauthn';
export type FactorKind = 'totp' | 'webauthn';

/** The TOTP time step of `at` (RFC 6238's T). */
export function totpStep(at: Date = now()): number {
  return Math.floor(at.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code an authenticator app shows for `secret` (base32) at `at`. */
export function totpCode(secretBase32: string, at: Date = now()): string {
  return HOTP.generate({
    secret: Secret.fromBase32(secretBase32),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    counter: totpStep(at),
  });
}

function codeAt(secret: Buffer, step: number): string {
  return HOTP.generate({
    secret: Secret.fromHex(secret.toString('hex')),
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    counter: step,
  });
}

function sameCode(a: string, b: string) {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function otpauthUri(secretBase32: string, accountName: string): string {
  return new TOTP({
    issuer: ISSUER,
    label: accountName,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  }).toString();
}

function base32Of(secret: Buffer) {
  return Secret.fromHex(secret.toString('hex')).base32;
}

/** Six digits (spaces allowed) is an app's code; anything else is tried as a recovery code. */
export function isTotpShaped(code: string) {
  return /^\d{6}$/.test(code.replace(/\s/g, ''));
}

// Recovery codes: 10 characters of an alphabet without look-alikes, shown as two groups of five.
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

function newRecoveryCode() {
  let code = '';
  for (let i = 0; i < 10; i++) code += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** A recovery code as typed, reduced to what was issued (case, spaces and dashes ignored). */
export function normaliseRecoveryCode(code: string) {
  const plain = code.toLowerCase().replace(/[\s-]/g, '');
  return plain.length === 10 ? `${plain.slice(0, 5)}-${plain.slice(5)}` : plain;
}

function sealFor(factorId: string, secret: Buffer) {
  const master = keyRing().master;
  return {
    secretSealed: sealSecret(master, SECRET_PURPOSE, factorId, secret),
    masterKeyId: master.id,
  };
}

function openFactorSecret(row: {
  id: string;
  secretSealed: Buffer | null;
  masterKeyId: string | null;
}) {
  // NOTE: only an authenticator app has a secret (the table's shape check says so).
  if (!row.secretSealed || !row.masterKeyId) throw new Error(`Factor ${row.id} has no secret`);
  return openSecret(keyRing(), row.masterKeyId, SECRET_PURPOSE, row.id, row.secretSealed);
}

const isTotp = eq(staffFactors.kind, 'totp');

function auditKind(actor: StaffActor) {
  return { subjectStaffId: actor.staffId };
}

// ---------------------------------------------------------------------------------------------
// What an account holds
// ---------------------------------------------------------------------------------------------

export interface FactorSummary {
  factors: { id: string; kind: FactorKind; name: string | null; confirmedAt: Date }[];
  recoveryCodesLeft: number;
  requiredByAdmin: boolean;
}

export async function factorSummary(staffId: string): Promise<FactorSummary> {
  const db = getDb();
  const factors = await db
    .select({
      id: staffFactors.id,
      kind: staffFactors.kind,
      name: staffFactors.name,
      confirmedAt: staffFactors.confirmedAt,
    })
    .from(staffFactors)
    .where(and(eq(staffFactors.staffId, staffId), isNotNull(staffFactors.confirmedAt)))
    .orderBy(staffFactors.confirmedAt);
  const [left] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.staffId, staffId), isNull(recoveryCodes.usedAt)));
  const [row] = await db
    .select({ required: staff.secondFactorRequired })
    .from(staff)
    .where(eq(staff.id, staffId));
  return {
    factors: factors.map((f) => ({
      id: f.id,
      kind: f.kind,
      name: f.name,
      confirmedAt: f.confirmedAt!,
    })),
    recoveryCodesLeft: left?.n ?? 0,
    requiredByAdmin: row?.required ?? false,
  };
}

/** Whether the account has a confirmed second factor. */
export async function hasSecondFactor(staffId: string, tx: Db | Tx = getDb()): Promise<boolean> {
  const rows = await tx
    .select({ id: staffFactors.id })
    .from(staffFactors)
    .where(and(eq(staffFactors.staffId, staffId), isNotNull(staffFactors.confirmedAt)))
    .limit(1);
  return rows.length > 0;
}

/**
 * The SQL of "this staff member (`st`) has a confirmed factor", for the session's one query.
 * NOTE: constant text, so the session statement stays one prepared statement.
 */
export const HAS_FACTOR_SQL = `exists(select 1 from console.staff_factors f
  where f.staff_id = st.id and f.confirmed_at is not null)`;

// ---------------------------------------------------------------------------------------------
// Enrolment
// ---------------------------------------------------------------------------------------------

export interface PendingEnrolment {
  factorId: string;
  secret: string;
  uri: string;
  /** A PNG data URL of the QR code of `uri`. */
  qr: string;
}

async function enrolmentView(actor: StaffActor, factorId: string, secret: Buffer) {
  const base32 = base32Of(secret);
  const uri = otpauthUri(base32, actor.email);
  const qr = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 220 });
  return { factorId, secret: base32, uri, qr };
}

/**
 * Starts enrolling an authenticator app: a fresh secret, kept sealed until a code confirms it.
 * An earlier unconfirmed one is dropped.
 */
export async function startTotpEnrolment(actor: StaffActor): Promise<PendingEnrolment> {
  const id = randomUUID();
  const secret = randomBytes(20);
  await getDb().transaction(async (tx) => {
    await tx
      .delete(staffFactors)
      .where(
        and(eq(staffFactors.staffId, actor.staffId), isTotp, isNull(staffFactors.confirmedAt)),
      );
    await tx.insert(staffFactors).values({
      id,
      staffId: actor.staffId,
      kind: 'totp',
      ...sealFor(id, secret),
      createdAt: now(),
    });
  });
  return enrolmentView(actor, id, secret);
}

/** The enrolment waiting for its first code, if any (shown again on the page). */
export async function pendingEnrolment(actor: StaffActor): Promise<PendingEnrolment | null> {
  const [row] = await getDb()
    .select()
    .from(staffFactors)
    .where(and(eq(staffFactors.staffId, actor.staffId), isTotp, isNull(staffFactors.confirmedAt)))
    .limit(1);
  if (!row) return null;
  return enrolmentView(actor, row.id, openFactorSecret(row));
}

export type EnrolResult =
  | { ok: true; recoveryCodes: string[] | null }
  | { ok: false; reason: 'no_enrolment' | 'wrong_code' };

/**
 * Confirms the pending enrolment with a code from the app (this window or the previous one). The
 * session counts as having proved the factor now; the account's other sessions end (they were
 * opened without it). The first factor comes with ten recovery codes, shown once.
 */
export async function confirmTotpEnrolment(actor: StaffActor, code: string): Promise<EnrolResult> {
  const [row] = await getDb()
    .select()
    .from(staffFactors)
    .where(and(eq(staffFactors.staffId, actor.staffId), isTotp, isNull(staffFactors.confirmedAt)))
    .limit(1);
  if (!row) return { ok: false, reason: 'no_enrolment' };
  const step = matchingStep(openFactorSecret(row), code, null);
  if (step === null) {
    await recordAudit(actor, {
      action: 'auth.second_factor',
      outcome: 'denied',
      ...auditKind(actor),
      details: { purpose: 'enrol', reason: 'wrong_code' },
    });
    return { ok: false, reason: 'wrong_code' };
  }
  const hashes = await newRecoveryHashes();
  return getDb().transaction(async (tx) => {
    await tx
      .update(staffFactors)
      .set({ confirmedAt: now(), lastUsedStep: step })
      .where(eq(staffFactors.id, row.id));
    const issued = await afterEnrolment(tx, actor, 'totp', row.id, hashes);
    return { ok: true as const, recoveryCodes: issued };
  });
}

/**
 * What every confirmed enrolment does next, inside its transaction: the session counts as having
 * proved the factor now, the account's other sessions end (they were opened without it), the
 * first factor comes with ten recovery codes (returned, to show once), and the audit entry.
 */
export async function afterEnrolment(
  tx: Tx,
  actor: StaffActor,
  kind: FactorKind,
  factorId: string,
  hashes: { code: string; hash: string }[],
): Promise<string[] | null> {
  if (actor.sessionId) {
    await tx
      .update(sessions)
      .set({ secondFactorAt: now() })
      .where(eq(sessions.id, actor.sessionId));
    await tx
      .delete(sessions)
      .where(and(eq(sessions.staffId, actor.staffId), ne(sessions.id, actor.sessionId)));
  }
  const [left] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.staffId, actor.staffId), isNull(recoveryCodes.usedAt)));
  const issued = (left?.n ?? 0) === 0 ? await storeRecoveryCodes(tx, actor.staffId, hashes) : null;
  await recordAudit(
    actor,
    {
      action: 'auth.factor_enrol',
      outcome: 'allowed',
      ...auditKind(actor),
      details: {
        kind,
        recoveryCodes: issued ? issued.length : 0,
        ...(kind === 'webauthn' ? { factor: factorId } : {}),
      },
    },
    tx,
  );
  return issued;
}

export async function newRecoveryHashes() {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  return Promise.all(codes.map(async (code) => ({ code, hash: await hashPassword(code) })));
}

async function storeRecoveryCodes(
  tx: Db | Tx,
  staffId: string,
  hashes: { code: string; hash: string }[],
) {
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.staffId, staffId));
  const at = now();
  await tx
    .insert(recoveryCodes)
    .values(hashes.map((h) => ({ id: randomUUID(), staffId, codeHash: h.hash, createdAt: at })));
  return hashes.map((h) => h.code);
}

/** Ten new recovery codes replace the old ones (shown once). Needs a confirmed factor. */
export async function regenerateRecoveryCodes(actor: StaffActor): Promise<string[] | null> {
  if (!(await hasSecondFactor(actor.staffId))) return null;
  const hashes = await newRecoveryHashes();
  return getDb().transaction(async (tx) => {
    const codes = await storeRecoveryCodes(tx, actor.staffId, hashes);
    await recordAudit(
      actor,
      {
        action: 'auth.recovery_codes',
        outcome: 'allowed',
        ...auditKind(actor),
        details: { count: codes.length },
      },
      tx,
    );
    return codes;
  });
}

export type RemoveResult = 'removed' | 'not_found' | 'last_required';

/**
 * Removes one of the actor's factors. The last factor of an account that must have one is not
 * removed (the refusal is recorded): enrol another first. With none left the recovery codes go too.
 */
export async function removeFactor(actor: StaffActor, factorId: string): Promise<RemoveResult> {
  const refused = await getDb().transaction(async (tx) => {
    // Locks the account's factors, so two removals at once cannot both leave it with none.
    const held = await tx
      .select({ id: staffFactors.id, kind: staffFactors.kind })
      .from(staffFactors)
      .where(and(eq(staffFactors.staffId, actor.staffId), isNotNull(staffFactors.confirmedAt)))
      .for('update');
    const target = held.find((f) => f.id === factorId);
    if (!target) return 'not_found' as const;
    if (held.length === 1) {
      const [row] = await tx
        .select({ required: staff.secondFactorRequired })
        .from(staff)
        .where(eq(staff.id, actor.staffId));
      if (needsSecondFactor(actor.permissions, row?.required ?? false)) {
        return { kind: target.kind };
      }
    }
    await tx.delete(staffFactors).where(eq(staffFactors.id, factorId));
    if (held.length === 1) {
      await tx.delete(recoveryCodes).where(eq(recoveryCodes.staffId, actor.staffId));
    }
    await recordAudit(
      actor,
      {
        action: 'auth.factor_remove',
        outcome: 'allowed',
        ...auditKind(actor),
        details: { kind: target.kind, ...(target.kind === 'webauthn' ? { factor: factorId } : {}) },
      },
      tx,
    );
    return 'removed' as const;
  });
  if (typeof refused === 'string') return refused;
  await recordAudit(actor, {
    action: 'auth.factor_remove',
    outcome: 'denied',
    ...auditKind(actor),
    details: { kind: refused.kind, reason: 'last_required' },
  });
  return 'last_required';
}

/**
 * An admin removes all of another staff member's second factors (lost or stolen device), with a
 * reason: the recovery codes, pending sign-ins and challenges go too, and the member's sessions
 * end. An account whose roles need a factor is held to enrolment at its next sign-in. The caller
 * checks the permission and the step-up; nobody resets their own.
 */
export async function resetFactors(
  staffId: string,
  reason: FactorResetReason,
  actor: StaffActor,
): Promise<{ removed: number }> {
  if (staffId === actor.staffId) throw new FactorResetRefused('own_account');
  return getDb().transaction(async (tx) => {
    const [member] = await tx
      .select({ id: staff.id })
      .from(staff)
      .where(eq(staff.id, staffId))
      .for('update');
    if (!member) throw new FactorResetRefused('no_account');
    const removed = await tx
      .delete(staffFactors)
      .where(eq(staffFactors.staffId, staffId))
      .returning({ kind: staffFactors.kind, confirmedAt: staffFactors.confirmedAt });
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.staffId, staffId));
    await tx.delete(webauthnChallenges).where(eq(webauthnChallenges.staffId, staffId));
    await tx.delete(pendingSignIns).where(eq(pendingSignIns.staffId, staffId));
    await tx.delete(sessions).where(eq(sessions.staffId, staffId));
    const confirmed = removed.filter((f) => f.confirmedAt !== null);
    await recordAudit(
      actor,
      {
        action: 'staff.factor_reset',
        outcome: 'allowed',
        subjectStaffId: staffId,
        details: {
          reason,
          factors: confirmed.length,
          kinds: [...new Set(confirmed.map((f) => f.kind))].sort(),
        },
      },
      tx,
    );
    return { removed: confirmed.length };
  });
}

export class FactorResetRefused extends Error {
  constructor(public reason: 'own_account' | 'no_account') {
    super(
      reason === 'own_account'
        ? 'Nobody resets their own second factors; another admin must'
        : 'No such staff account',
    );
  }
}

/**
 * An authenticator app enrolled without the page (the demo seed, tests): confirmed at once, with
 * the given base32 secret or a fresh one; returns the secret.
 */
export async function enrolTotpDirectly(
  staffId: string,
  by: Actor,
  secretBase32?: string,
): Promise<string> {
  const id = randomUUID();
  const secret = secretBase32
    ? Buffer.from(Secret.fromBase32(secretBase32).buffer)
    : randomBytes(20);
  await getDb().transaction(async (tx) => {
    const at = now();
    await tx.insert(staffFactors).values({
      id,
      staffId,
      kind: 'totp',
      ...sealFor(id, secret),
      createdAt: at,
      confirmedAt: at,
    });
    await recordAudit(
      by,
      {
        action: 'auth.factor_enrol',
        outcome: 'allowed',
        subjectStaffId: staffId,
        details: { kind: 'totp', recoveryCodes: 0 },
      },
      tx,
    );
  });
  return base32Of(secret);
}

/** The base32 secret of the account's (first) authenticator app: for the demo credentials file. */
export async function totpSecretOf(staffId: string): Promise<string | null> {
  const [row] = await getDb()
    .select()
    .from(staffFactors)
    .where(and(eq(staffFactors.staffId, staffId), isTotp, isNotNull(staffFactors.confirmedAt)))
    .orderBy(staffFactors.confirmedAt)
    .limit(1);
  return row ? base32Of(openFactorSecret(row)) : null;
}

// ---------------------------------------------------------------------------------------------
// Checking a code
// ---------------------------------------------------------------------------------------------

/**
 * The time step `code` belongs to, if it is this window's or the previous one's and newer than
 * `lastUsed`: a code is accepted once, and never one older than a code already accepted.
 */
function matchingStep(secret: Buffer, code: string, lastUsed: number | null): number | null {
  const typed = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(typed)) return null;
  const current = totpStep();
  for (const step of [current, current - 1]) {
    if (lastUsed !== null && step <= lastUsed) continue;
    if (sameCode(codeAt(secret, step), typed)) return step;
  }
  return null;
}

export type FactorCheck =
  | { ok: true; method: FactorMethod }
  | { ok: false; reason: 'wrong_code' | 'reused_code' | 'no_factor' };

/**
 * Checks a code typed as the second factor: an app's code (accepted once, claimed atomically so
 * two requests cannot both use it) or an unused recovery code (used up here).
 */
export async function checkSecondFactor(staffId: string, code: string): Promise<FactorCheck> {
  const db = getDb();
  const factors = await db
    .select()
    .from(staffFactors)
    .where(and(eq(staffFactors.staffId, staffId), isNotNull(staffFactors.confirmedAt)));
  if (factors.length === 0) return { ok: false, reason: 'no_factor' };
  if (isTotpShaped(code)) {
    let reused = false;
    for (const factor of factors) {
      if (factor.kind !== 'totp') continue;
      const secret = openFactorSecret(factor);
      const step = matchingStep(secret, code, factor.lastUsedStep);
      if (step === null) {
        if (matchingStep(secret, code, null) !== null) reused = true;
        continue;
      }
      const claimed = await db
        .update(staffFactors)
        .set({ lastUsedStep: step })
        .where(
          and(
            eq(staffFactors.id, factor.id),
            or(isNull(staffFactors.lastUsedStep), lt(staffFactors.lastUsedStep, step)),
          ),
        )
        .returning({ id: staffFactors.id });
      if (claimed.length === 1) return { ok: true, method: 'totp' };
      reused = true;
    }
    return { ok: false, reason: reused ? 'reused_code' : 'wrong_code' };
  }
  const typed = normaliseRecoveryCode(code);
  if (typed.length !== 11) return { ok: false, reason: 'wrong_code' };
  const unused = await db
    .select({ id: recoveryCodes.id, codeHash: recoveryCodes.codeHash })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.staffId, staffId), isNull(recoveryCodes.usedAt)));
  for (const candidate of unused) {
    if (!(await verifyPassword(candidate.codeHash, typed))) continue;
    const used = await db
      .update(recoveryCodes)
      .set({ usedAt: now() })
      .where(and(eq(recoveryCodes.id, candidate.id), isNull(recoveryCodes.usedAt)))
      .returning({ id: recoveryCodes.id });
    return used.length === 1
      ? { ok: true, method: 'recovery_code' }
      : { ok: false, reason: 'reused_code' };
  }
  return { ok: false, reason: 'wrong_code' };
}

/** The session proved a second factor now (sign-in's second step, or a step-up). */
export async function markSecondFactor(sessionId: string, tx: Db | Tx = getDb()) {
  await tx.update(sessions).set({ secondFactorAt: now() }).where(eq(sessions.id, sessionId));
}

// ---------------------------------------------------------------------------------------------
// Sign-ins waiting for their second step
// ---------------------------------------------------------------------------------------------

function hashToken(token: string) {
  return createHash('sha256').update(token).digest();
}

/** A sign-in whose password was right; returns the token for its cookie. */
export async function createPendingSignIn(
  staffId: string,
  redirectTo: string,
  idp: ProviderSession | null = null,
) {
  const token = randomBytes(32).toString('base64url');
  const at = now();
  await getDb().transaction(async (tx) => {
    // Expired ones go on sight; a new sign-in replaces the account's older pending ones.
    await tx
      .delete(pendingSignIns)
      .where(or(eq(pendingSignIns.staffId, staffId), lt(pendingSignIns.expiresAt, at)));
    await tx.insert(pendingSignIns).values({
      id: randomUUID(),
      tokenHash: hashToken(token),
      staffId,
      redirectTo,
      createdAt: at,
      expiresAt: new Date(at.getTime() + PENDING_SIGN_IN_MS),
      idpIssuer: idp?.issuer ?? null,
      idpSid: idp?.sid ?? null,
    });
  });
  return token;
}

export interface PendingSignIn {
  id: string;
  staffId: string;
  redirectTo: string;
  email: string;
  displayName: string;
  status: string;
  /** The provider's session, when the first step was a single sign-on (ADR 039). */
  idpIssuer: string | null;
  idpSid: string | null;
}

/** The pending sign-in a cookie names, while it lives. */
export async function findPendingSignIn(token: string): Promise<PendingSignIn | null> {
  const [row] = await getDb()
    .select({
      id: pendingSignIns.id,
      staffId: pendingSignIns.staffId,
      redirectTo: pendingSignIns.redirectTo,
      expiresAt: pendingSignIns.expiresAt,
      email: staff.email,
      displayName: staff.displayName,
      status: staff.status,
      idpIssuer: pendingSignIns.idpIssuer,
      idpSid: pendingSignIns.idpSid,
    })
    .from(pendingSignIns)
    .innerJoin(staff, eq(staff.id, pendingSignIns.staffId))
    .where(eq(pendingSignIns.tokenHash, hashToken(token)));
  if (!row) return null;
  if (row.expiresAt.getTime() <= now().getTime()) {
    await getDb().delete(pendingSignIns).where(eq(pendingSignIns.id, row.id));
    return null;
  }
  return row;
}

/** Ends a pending sign-in (used, or given up); true when this call ended it. */
export async function endPendingSignIn(id: string, tx: Db | Tx = getDb()): Promise<boolean> {
  const gone = await tx
    .delete(pendingSignIns)
    .where(eq(pendingSignIns.id, id))
    .returning({ id: pendingSignIns.id });
  return gone.length === 1;
}

export async function purgeExpiredPendingSignIns() {
  const gone = await getDb()
    .delete(pendingSignIns)
    .where(lt(pendingSignIns.expiresAt, now()))
    .returning({ id: pendingSignIns.id });
  return gone.length;
}
