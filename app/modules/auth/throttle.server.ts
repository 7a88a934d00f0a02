import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
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

function limits(key: string) {
  return key.startsWith('account:') ? THROTTLE.account : THROTTLE.address;
}

function delayFor(failures: number, free: number) {
  if (failures < free) return 0;
  return Math.min(THROTTLE.maxDelayMs, 1000 * 2 ** (failures - free));
}

/** Whether a sign-in may be tried now for all of these keys. */
export async function checkThrottle(keys: string[]): Promise<ThrottleVerdict> {
  const rows = await getDb()
    .select()
    .from(signInThrottle)
    .where(sql`${signInThrottle.key} in ${keys}`);
  const t = now().getTime();
  let wait = 0;
  let locked = false;
  for (const row of rows) {
    if (t - row.lastFailureAt.getTime() > THROTTLE.windowMs && !row.lockedUntil) continue;
    if (row.lockedUntil && row.lockedUntil.getTime() > t) {
      wait = Math.max(wait, row.lockedUntil.getTime() - t);
      locked = true;
      continue;
    }
    const ready =
      row.lastFailureAt.getTime() + delayFor(row.failures, limits(row.key).freeFailures);
    wait = Math.max(wait, ready - t);
  }
  return wait > 0 ? { ok: false, retryAfterMs: wait, locked } : { ok: true };
}

/** Counts a failure against each key; returns the keys that have just become locked. */
export async function recordFailure(keys: string[]): Promise<string[]> {
  const at = now();
  const newlyLocked: string[] = [];
  for (const key of keys) {
    const windowStart = new Date(at.getTime() - THROTTLE.windowMs);
    const lockUntil = new Date(at.getTime() + THROTTLE.lockMs);
    const { lockAfter } = limits(key);
    // One statement: concurrent failures cannot lose a count.
    const [row] = await getDb()
      .insert(signInThrottle)
      .values({ key, failures: 1, firstFailureAt: at, lastFailureAt: at })
      .onConflictDoUpdate({
        target: signInThrottle.key,
        set: {
          // Raw sql parameters get no column mapping: pass timestamps as ISO strings, not Dates.
          failures: sql`case when ${signInThrottle.lastFailureAt} < ${windowStart.toISOString()} and (${signInThrottle.lockedUntil} is null or ${signInThrottle.lockedUntil} < ${at.toISOString()}) then 1 else ${signInThrottle.failures} + 1 end`,
          firstFailureAt: sql`case when ${signInThrottle.lastFailureAt} < ${windowStart.toISOString()} then ${at.toISOString()}::timestamptz else ${signInThrottle.firstFailureAt} end`,
          lastFailureAt: at,
        },
      })
      .returning();
    if (row && row.failures >= lockAfter && !(row.lockedUntil && row.lockedUntil > at)) {
      await getDb()
        .update(signInThrottle)
        .set({ lockedUntil: lockUntil, failures: 0 })
        .where(eq(signInThrottle.key, key));
      newlyLocked.push(key);
    }
  }
  return newlyLocked;
}

export async function clearThrottle(key: string) {
  await getDb().delete(signInThrottle).where(eq(signInThrottle.key, key));
}

export function throttleMessage(verdict: Exclude<ThrottleVerdict, { ok: true }>) {
  const seconds = Math.ceil(verdict.retryAfterMs / 1000);
  if (verdict.locked) {
    const minutes = Math.ceil(seconds / 60);
    return `Too many failed sign-ins. Sign-in is locked; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
  }
  return `Too many failed sign-ins. Wait ${seconds} second${seconds === 1 ? '' : 's'} and try again.`;
}
