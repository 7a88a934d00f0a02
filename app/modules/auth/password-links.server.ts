import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { passwordLinks, sessions, staff } from '#app/db/schema.ts';
import type { VisitorActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { InputError } from '#app/utils/errors.ts';
import { hashPassword, passwordProblem } from './password.server.ts';
import { PASSWORD_LINK_TTL_MS } from './vocabulary.ts';

// One-time links to set a password (ADR 021). When a second person approves roles that reach
// personal data or decide access, the account's password and sessions end and a link is made:
// shown once to the approver, valid 24 hours, single use. The table holds only the SHA-256 of the
// link's random token, as for sessions: a copy of it sets no password.

/** The token in a link's address: 32 random bytes, base64url. */
export const LINK_TOKEN = /^[A-Za-z0-9_-]{43}$/;

function hashToken(token: string) {
  return createHash('sha256').update(token).digest();
}

/**
 * Ends the account's credentials and issues a link (inside the approval's transaction): a new
 * random password hash nobody knows, every session ended, earlier unused links void. Returns the
 * token, which is not stored anywhere.
 */
export async function replaceCredentialsWithLink(
  tx: Tx,
  staffId: string,
  createdBy: string | null,
): Promise<{ token: string; expiresAt: Date }> {
  const at = now();
  // Nobody knows this password: it is the hash of 32 random bytes that are then forgotten.
  const unusable = await hashPassword(randomBytes(32).toString('base64url'));
  await tx
    .update(staff)
    .set({ passwordHash: unusable, mustChangePassword: true, passwordChangedAt: at })
    .where(eq(staff.id, staffId));
  await tx.delete(sessions).where(eq(sessions.staffId, staffId));
  await tx
    .update(passwordLinks)
    .set({ expiresAt: at })
    .where(
      and(
        eq(passwordLinks.staffId, staffId),
        isNull(passwordLinks.usedAt),
        gt(passwordLinks.expiresAt, at),
      ),
    );
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(at.getTime() + PASSWORD_LINK_TTL_MS);
  await tx.insert(passwordLinks).values({
    id: randomUUID(),
    tokenHash: hashToken(token),
    staffId,
    createdBy,
    createdAt: at,
    expiresAt,
  });
  return { token, expiresAt };
}

/** What a link's address leads to: the account it sets a password for, or why it does not. */
export type LinkState =
  { state: 'valid'; email: string; expiresAt: Date } | { state: 'used' | 'expired' | 'unknown' };

interface LinkRow {
  id: string;
  staffId: string;
  email: string;
  status: string;
  expiresAt: Date;
  usedAt: Date | null;
}

async function readLink(tx: Tx | ReturnType<typeof getDb>, token: string, lock: boolean) {
  if (!LINK_TOKEN.test(token)) return undefined;
  const query = tx
    .select({
      id: passwordLinks.id,
      staffId: passwordLinks.staffId,
      email: staff.email,
      status: staff.status,
      expiresAt: passwordLinks.expiresAt,
      usedAt: passwordLinks.usedAt,
    })
    .from(passwordLinks)
    .innerJoin(staff, eq(staff.id, passwordLinks.staffId))
    .where(eq(passwordLinks.tokenHash, hashToken(token)));
  if (lock) {
    // Locks the link's row (a join cannot name a schema-qualified table in FOR UPDATE OF).
    await tx
      .select({ id: passwordLinks.id })
      .from(passwordLinks)
      .where(eq(passwordLinks.tokenHash, hashToken(token)))
      .for('update');
  }
  const [row] = (await query) as LinkRow[];
  return row;
}

function stateOf(row: LinkRow | undefined, at: Date): LinkState {
  if (!row) return { state: 'unknown' };
  if (row.usedAt) return { state: 'used' };
  // A disabled account's link opens nothing; it reads as expired rather than saying why.
  if (row.expiresAt.getTime() <= at.getTime() || row.status !== 'active') {
    return { state: 'expired' };
  }
  return { state: 'valid', email: row.email, expiresAt: row.expiresAt };
}

/** The state of a link, read only (the page's GET writes nothing). */
export async function inspectPasswordLink(token: string): Promise<LinkState> {
  return stateOf(await readLink(getDb(), token, false), now());
}

/**
 * Sets the account's password through its link, once: the link is spent, every session of the
 * account ends, and the entry records it. A link that is unknown, used or expired sets nothing
 * (its attempt is recorded as denied) and comes back as its state. A bad password is an
 * InputError naming `password`, before anything is read.
 */
export async function setPasswordWithLink(
  visitor: VisitorActor,
  token: string,
  password: string,
): Promise<LinkState> {
  const problem = passwordProblem(password);
  if (problem) throw new InputError('password', problem);
  const passwordHash = await hashPassword(password);
  return getDb().transaction(async (tx) => {
    const at = now();
    const row = await readLink(tx, token, true);
    const found = stateOf(row, at);
    if (found.state !== 'valid') {
      await recordAudit(
        visitor,
        {
          action: 'auth.password_link',
          outcome: 'denied',
          subjectStaffId: row?.staffId ?? null,
          details: { reason: found.state === 'unknown' ? 'unknown_link' : `link_${found.state}` },
        },
        tx,
      );
      return found;
    }
    const staffId = row!.staffId;
    await tx.update(passwordLinks).set({ usedAt: at }).where(eq(passwordLinks.id, row!.id));
    await tx
      .update(staff)
      .set({ passwordHash, mustChangePassword: false, passwordChangedAt: at })
      .where(eq(staff.id, staffId));
    await tx.delete(sessions).where(eq(sessions.staffId, staffId));
    await recordAudit(
      visitor,
      { action: 'auth.password_link', outcome: 'allowed', subjectStaffId: staffId, details: {} },
      tx,
    );
    return found;
  });
}
