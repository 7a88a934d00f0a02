import { createHash } from 'node:crypto';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import type { ExpiryTarget } from '#app/db/expiry.server.ts';
import { signInThrottle } from '#app/db/schema.ts';
import { now } from '#app/modules/clock.server.ts';
import { normaliseEmail } from '#app/modules/crypto/envelope.server.ts';

// Failed sign-ins slow down and then lock, per account and per client address. The account key is
// a hash of whatever email was typed, so an unknown account is throttled exactly like a real one
// and the answers never tell them apart.

export const THROTTLE = {
  windowMs: 15 * 60_000,
  account: { freeFailures: 3, lockAfter: 10 },
  address: { freeFailures: 10, lockAfter: 50 },
  maxDelayMs: 60_000,
  lockMs: 15 * 60_000,
};

export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterMs: number; locked: boolean };

export function accountKey(email: string) {
  return `account:${createHash('sha256').update(normaliseEmail(email)).digest('hex')}`;
}
export function addressKey(address: string) {
  return `address:${address}`;
}

/** Second-factor codes are counted per account like passwords (`factor:<staff id>`, ADR 035). */
export function factorKey(staffId: string) {
  return `factor:${staffId}`;
}

function limits(key: string) {
  return key.startsWith('address:') ? THROTTLE.address : THROTTLE.account;
}

function delayFor(failures: number, free: number) {
  if (failures < free) return 0;
  return Math.min(THROTTLE.maxDelayMs, 1000 * 2 ** (failures - free));
}

/** Whether the rows (of the keys of one attempt) let a sign-in be tried at `t`. */
function judge(rows: (typeof signInThrottle.$inferSelect)[], t: number): ThrottleVerdict {
  let wait = 0;
  let locked = false;
  for (const row of rows) {
    if (row.lockedUntil && row.lockedUntil.getTime() > t) {
      wait = Math.max(wait, row.lockedUntil.getTime() - t);
      locked = true;
      continue;
    }
    if (t - row.lastFailureAt.getTime() > THROTTLE.windowMs) continue;
    const delay = delayFor(row.failures, limits(row.key).freeFailures);
    // A free attempt waits for nothing (a parallel attempt may have stamped the row a moment
    // after this one's clock was read).
    if (delay > 0) wait = Math.max(wait, row.lastFailureAt.getTime() + delay - t);
  }
  return wait > 0 ? { ok: false, retryAfterMs: wait, locked } : { ok: true };
}

export type AttemptClaim =
  { ok: true; newlyLocked: string[] } | Extract<ThrottleVerdict, { ok: false }>;

/**
 * Counts a sign-in attempt against every key *before* its password is checked, or refuses it,
 * in one transaction holding the keys' rows locked: parallel attempts queue on the rows, so no
 * more passwords are checked than the limits allow, however many arrive at once (ADR 020). An
 * attempt is counted as a failure until settleSuccess() gives it back. Returns the keys this
 * attempt has just locked.
 */
export async function claimAttempt(keys: string[]): Promise<AttemptClaim> {
  // One order for every attempt, so two attempts sharing keys cannot deadlock.
  const sorted = [...new Set(keys)].sort();
  return getDb().transaction(async (tx) => {
    const placed = now();
    await tx
      .insert(signInThrottle)
      .values(
        sorted.map((key) => ({ key, failures: 0, firstFailureAt: placed, lastFailureAt: placed })),
      )
      .onConflictDoNothing();
    const rows = await tx
      .select()
      .from(signInThrottle)
      .where(inArray(signInThrottle.key, sorted))
      .orderBy(signInThrottle.key)
      .for('update');
    // Read once the rows are ours: the attempts before this one are all in them.
    const at = now();
    const t = at.getTime();
    const verdict = judge(rows, t);
    if (!verdict.ok) return verdict;
    const newlyLocked: string[] = [];
    for (const row of rows) {
      // judge() let the attempt through, so no lock of these rows is running.
      const fresh = t - row.lastFailureAt.getTime() > THROTTLE.windowMs;
      const failures = fresh ? 1 : row.failures + 1;
      const lock = failures >= limits(row.key).lockAfter;
      if (lock) newlyLocked.push(row.key);
      await tx
        .update(signInThrottle)
        .set({
          failures: lock ? 0 : failures,
          firstFailureAt: fresh ? at : row.firstFailureAt,
          lastFailureAt: at,
          lockedUntil: lock ? new Date(t + THROTTLE.lockMs) : null,
        })
        .where(eq(signInThrottle.key, row.key));
    }
    return { ok: true, newlyLocked };
  });
}

/**
 * The attempt signed in: the account starts again from nothing, and the address gets back the
 * attempt claimAttempt() counted (unless that attempt locked it).
 */
export async function settleSuccess(account: string, address: string) {
  await getDb().delete(signInThrottle).where(eq(signInThrottle.key, account));
  await getDb()
    .update(signInThrottle)
    .set({ failures: sql`greatest(${signInThrottle.failures} - 1, 0)` })
    .where(and(eq(signInThrottle.key, address), isNull(signInThrottle.lockedUntil)));
}

export function throttleMessage(verdict: Exclude<ThrottleVerdict, { ok: true }>) {
  const seconds = Math.ceil(verdict.retryAfterMs / 1000);
  if (verdict.locked) {
    const minutes = Math.ceil(seconds / 60);
    return `Too many failed sign-ins. Sign-in is locked; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
  }
  return `Too many failed sign-ins. Wait ${seconds} second${seconds === 1 ? '' : 's'} and try again.`;
}

/**
 * Throttle records whose last failure is before the cut-off and that lock nothing any more: what
 * the `sign_in_throttle` retention policy removes (ADR 032). A counter still inside twice its
 * window is kept whatever the policy says, so a short policy cannot reset a throttle.
 */
export function staleThrottleRecords(cutoff: Date, asOf: Date): ExpiryTarget {
  const windowEnd = new Date(Math.min(cutoff.getTime(), asOf.getTime() - 2 * THROTTLE.windowMs));
  const t = sql`${asOf.toISOString()}::timestamptz`;
  return {
    table: 'console.sign_in_throttle',
    key: 'key',
    expired: sql`last_failure_at < ${windowEnd.toISOString()}::timestamptz and (locked_until is null or locked_until < ${t})`,
  };
}
