import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { getDb, getSql, type Db, type Tx } from '#app/db/client.server.ts';
import { pendingSignIns, sessions } from '#app/db/schema.ts';
import { env } from '#app/config.server.ts';
import { now } from '#app/modules/clock.server.ts';
import type { Client, StaffActor } from '#app/modules/actor.ts';
import { rolesAndPermissionsOf } from './permissions.server.ts';
import type { Permission, Role } from './permissions.ts';
import { batched, inKeyOrder } from '#app/db/batch.server.ts';
import type { ExpiryTarget } from '#app/db/expiry.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { HAS_FACTOR_SQL } from './factors.server.ts';
import { needsSecondFactor } from './permissions.ts';

// Sessions live in PostgreSQL; the cookie holds only an opaque random token, and the table only
// its SHA-256, so neither a stolen table nor a guessed id opens a session.

export const SESSION_COOKIE = 'custodian_session';
const TOUCH_EVERY_MS = 60_000;

/** What a session says of its staff member, read at this request (guard() makes it an Actor). */
export type SessionStaff = Omit<StaffActor, 'kind' | 'client'> & { sessionId: string };

function hashToken(token: string) {
  return createHash('sha256').update(token).digest();
}

function limits() {
  return {
    idleMs: env().CUSTODIAN_SESSION_IDLE_MINUTES * 60_000,
    maxMs: env().CUSTODIAN_SESSION_MAX_HOURS * 3_600_000,
  };
}

export function sessionCookie(token: string, secure: boolean) {
  const parts = [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${Math.floor(limits().maxMs / 1000)}`,
  ];
  if (secure) parts.push('Secure');
  return parts.join('; ');
}

export function clearedSessionCookie(secure: boolean) {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
}

export function readSessionToken(request: Request): string | undefined {
  const header = request.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) {
      const value = rest.join('=');
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** A fresh session (a new random id at every sign-in); returns the cookie token. */
export async function createSession(
  staffId: string,
  client: Client,
  tx: Db | Tx = getDb(),
  opts: { secondFactorAt?: Date | null; idp?: ProviderSession | null } = {},
) {
  const token = randomBytes(32).toString('base64url');
  const at = now();
  const id = randomUUID();
  await tx.insert(sessions).values({
    id,
    tokenHash: hashToken(token),
    staffId,
    createdAt: at,
    lastSeenAt: at,
    expiresAt: new Date(at.getTime() + limits().maxMs),
    clientAddress: client.address,
    userAgent: (client.userAgent ?? '').slice(0, 512),
    secondFactorAt: opts.secondFactorAt ?? null,
    idpIssuer: opts.idp?.issuer ?? null,
    idpSid: opts.idp?.sid ?? null,
  });
  return { token, sessionId: id };
}

/** The identity provider's session a single sign-on came from (ADR 039); `sid` when it sent one. */
export interface ProviderSession {
  issuer: string;
  sid: string | null;
}

/**
 * Back-channel logout (ADR 039): ends the console sessions opened from the provider's session
 * `sid`, or, without a sid, every session of the staff member; and any sign-in from it still
 * waiting for its second factor. Returns how many sessions ended.
 */
export async function endProviderSessions(
  target: { issuer: string; sid?: string; staffId?: string },
  tx: Db | Tx = getDb(),
): Promise<number> {
  const bySid = target.sid !== undefined;
  if (!bySid && target.staffId === undefined) return 0;
  const ended = await tx
    .delete(sessions)
    .where(
      bySid
        ? and(
            eq(sessions.idpIssuer, target.issuer),
            eq(sessions.idpSid, target.sid!),
            target.staffId === undefined ? undefined : eq(sessions.staffId, target.staffId),
          )
        : eq(sessions.staffId, target.staffId!),
    )
    .returning({ id: sessions.id });
  await tx
    .delete(pendingSignIns)
    .where(
      bySid
        ? and(eq(pendingSignIns.idpIssuer, target.issuer), eq(pendingSignIns.idpSid, target.sid!))
        : eq(pendingSignIns.staffId, target.staffId!),
    );
  return ended.length;
}

interface SessionRow extends Record<string, unknown> {
  session_id: string;
  staff_id: string;
  email: string;
  display_name: string;
  status: string;
  must_change_password: boolean;
  last_seen_at: Date;
  expires_at: Date;
  second_factor_at: Date | null;
  second_factor_required: boolean;
  has_factor: boolean;
  roles: Role[];
  permissions: Permission[];
}

const cache = new WeakMap<Request, Promise<SessionStaff | null>>();

/**
 * The signed-in staff member of this request, with roles and permissions read now. A request that
 * is `activity` (the default) keeps the session from going idle; a page's background poll is not.
 */
export function findSignedIn(
  request: Request,
  { activity = true }: { activity?: boolean } = {},
): Promise<SessionStaff | null> {
  let found = cache.get(request);
  if (!found) {
    found = lookup(request, activity);
    cache.set(request, found);
  }
  return found;
}

/**
 * Every request reads its session, so concurrent requests read theirs together (ADR 014): one
 * prepared statement answers a batch of token hashes. Roles and permissions are read each time.
 */
const sessionOf = batched<Buffer, SessionRow | null>(async (hashes) => {
  const client = getSql();
  const rows = await client<(SessionRow & { i: string })[]>`
    select k.i, s.id as session_id, s.staff_id, st.email, st.display_name, st.status,
           st.must_change_password, s.last_seen_at, s.expires_at, s.second_factor_at,
           st.second_factor_required, ${client.unsafe(HAS_FACTOR_SQL)} as has_factor,
           ${rolesAndPermissionsOf(client)}
    from unnest(${hashes.map((h) => h.toString('hex'))}::text[]) with ordinality as k(token_hash, i)
    join console.sessions s on s.token_hash = decode(k.token_hash, 'hex')
    join console.staff st on st.id = s.staff_id`;
  return inKeyOrder(hashes.length, rows);
});

async function lookup(request: Request, activity: boolean): Promise<SessionStaff | null> {
  const token = readSessionToken(request);
  if (!token) return null;
  const row = await sessionOf(hashToken(token));
  if (!row) return null;
  const t = now().getTime();
  const lastSeen = new Date(row.last_seen_at).getTime();
  const expired =
    row.status !== 'active' ||
    new Date(row.expires_at).getTime() <= t ||
    t - lastSeen >= limits().idleMs;
  if (expired) {
    await getDb().delete(sessions).where(eq(sessions.id, row.session_id));
    return null;
  }
  if (activity && t - lastSeen >= TOUCH_EVERY_MS) {
    await getDb()
      .update(sessions)
      .set({ lastSeenAt: now() })
      .where(eq(sessions.id, row.session_id));
  }
  const permissions = new Set(row.permissions);
  const secondFactorAt = row.second_factor_at ? new Date(row.second_factor_at) : null;
  return {
    sessionId: row.session_id,
    staffId: row.staff_id,
    email: row.email,
    displayName: row.display_name,
    roles: row.roles,
    permissions,
    mustChangePassword: row.must_change_password,
    secondFactorAt,
    // An account that must have a factor and has none, or a session that never proved the
    // account's factor: only enrolment and sign-out open (ADR 035).
    secondFactorDue: row.has_factor
      ? secondFactorAt === null
      : needsSecondFactor(permissions, row.second_factor_required),
  };
}

export async function destroySession(sessionId: string, tx: Db | Tx = getDb()) {
  await tx.delete(sessions).where(eq(sessions.id, sessionId));
}

/** Ends the actor's session and records the sign-out with it. */
export async function signOut(actor: StaffActor) {
  await getDb().transaction(async (tx) => {
    if (actor.sessionId) await destroySession(actor.sessionId, tx);
    await recordAudit(
      actor,
      { action: 'auth.sign_out', outcome: 'allowed', subjectStaffId: actor.staffId, details: {} },
      tx,
    );
  });
}

/**
 * Sessions that ended (past their end, or idle past the limit) before the cut-off: what the
 * `staff_sessions` retention policy removes (ADR 032). A session still open never matches, so
 * a policy of 0 days removes every ended session and nothing else.
 */
export function endedSessions(cutoff: Date): ExpiryTarget {
  const idleSeconds = Math.floor(limits().idleMs / 1000);
  const t = sql`${cutoff.toISOString()}::timestamptz`;
  return {
    table: 'console.sessions',
    key: 'id',
    expired: sql`(expires_at <= ${t} or last_seen_at + make_interval(secs => ${idleSeconds}) <= ${t})`,
  };
}

// The cookie naming a sign-in that waits for its second factor (ADR 035): sent only to /login/…,
// gone after 5 minutes.
export const PENDING_COOKIE = 'custodian_pending';

export function pendingCookie(token: string, secure: boolean) {
  return `${PENDING_COOKIE}=${token}; Path=/login; HttpOnly; SameSite=Lax; Max-Age=300${secure ? '; Secure' : ''}`;
}

export function clearedPendingCookie(secure: boolean) {
  return `${PENDING_COOKIE}=; Path=/login; HttpOnly; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
}

export function readPendingToken(request: Request): string | undefined {
  const header = request.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === PENDING_COOKIE) {
      const value = rest.join('=');
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}
