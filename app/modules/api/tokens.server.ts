import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { serviceTokens } from '#app/db/schema.ts';
import type { Client, ServiceActor, SystemActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { ConflictError, InputError, NotFoundError } from '#app/utils/errors.ts';
import {
  isScope,
  SCOPES,
  TOKEN_FORMAT,
  TOKEN_NAME,
  TOKEN_PREFIX,
  type Scope,
} from './vocabulary.ts';

// Service tokens (ADR 023): made, listed and revoked from the command line, presented by the
// product as `Authorization: Bearer cst_…`. The table keeps only the SHA-256 of each token: the
// token is 32 random bytes, so a fast hash is as strong as a slow one (nothing to guess), and a
// look-up by its hash costs one index probe per call.

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export interface TokenInput {
  name: string;
  scopes: readonly string[];
}

/** Checks a token's name and scopes; an InputError names `name` or `scope` (with the unknown one). */
export function checkTokenInput(input: TokenInput): { name: string; scopes: Scope[] } {
  const name = input.name.trim();
  if (!TOKEN_NAME.test(name)) {
    throw new InputError(
      'name',
      'A token name is 1 to 63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  if (input.scopes.length === 0) {
    throw new InputError('scope', `Give at least one scope (${SCOPES.join(', ')})`);
  }
  const unknown = input.scopes.find((s) => !isScope(s));
  if (unknown !== undefined) {
    throw new InputError('scope', `Unknown scope "${unknown}" (one of ${SCOPES.join(', ')})`);
  }
  return { name, scopes: [...new Set(input.scopes as Scope[])].sort() };
}

/** A new token: stored hashed, audited; the token itself is returned once and kept nowhere. */
export async function createToken(
  input: TokenInput,
  actor: SystemActor,
): Promise<{ id: string; name: string; scopes: Scope[]; token: string }> {
  const { name, scopes } = checkTokenInput(input);
  const id = randomUUID();
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const at = now();
  await getDb().transaction(async (tx) => {
    const inserted = await tx
      .insert(serviceTokens)
      .values({ id, name, tokenHash: hashToken(token), scopes, createdAt: at })
      .onConflictDoNothing({ target: serviceTokens.name })
      .returning({ id: serviceTokens.id });
    if (inserted.length === 0) {
      throw new ConflictError(`A token named "${name}" exists already (names are never reused)`);
    }
    await recordAudit(
      actor,
      { action: 'api.token_create', outcome: 'allowed', details: { token: id, name, scopes } },
      tx,
    );
  });
  return { id, name, scopes, token };
}

export interface TokenRow {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Every token, by name: never the token, which is not kept. */
export async function listTokens(): Promise<TokenRow[]> {
  const rows = await getDb()
    .select({
      id: serviceTokens.id,
      name: serviceTokens.name,
      scopes: serviceTokens.scopes,
      createdAt: serviceTokens.createdAt,
      lastUsedAt: serviceTokens.lastUsedAt,
      revokedAt: serviceTokens.revokedAt,
    })
    .from(serviceTokens)
    .orderBy(asc(serviceTokens.name));
  return rows.map((r) => ({ ...r, scopes: r.scopes as Scope[] }));
}

/** Revokes the named token at once: its next call is a 401. Audited. */
export async function revokeToken(name: string, actor: SystemActor): Promise<{ id: string }> {
  return getDb().transaction(async (tx) => {
    const [row] = await tx
      .select({ id: serviceTokens.id, revokedAt: serviceTokens.revokedAt })
      .from(serviceTokens)
      .where(eq(serviceTokens.name, name.trim()))
      .for('update');
    if (!row) throw new NotFoundError(`No token is named "${name.trim()}"`);
    if (row.revokedAt) throw new ConflictError(`The token "${name.trim()}" is revoked already`);
    await tx.update(serviceTokens).set({ revokedAt: now() }).where(eq(serviceTokens.id, row.id));
    await recordAudit(
      actor,
      {
        action: 'api.token_revoke',
        outcome: 'allowed',
        details: { token: row.id, name: name.trim() },
      },
      tx,
    );
    return { id: row.id };
  });
}

/** The caller behind a live token, with its scopes; null for no, a malformed, an unknown or a revoked token. */
export async function tokenActor(
  token: string,
  client: Client,
): Promise<{ actor: ServiceActor; scopes: ReadonlySet<Scope> } | null> {
  if (!TOKEN_FORMAT.test(token)) return null;
  const [row] = await getDb()
    .select({ id: serviceTokens.id, name: serviceTokens.name, scopes: serviceTokens.scopes })
    .from(serviceTokens)
    .where(and(eq(serviceTokens.tokenHash, hashToken(token)), isNull(serviceTokens.revokedAt)));
  if (!row) return null;
  return {
    actor: { kind: 'service', name: row.name, tokenId: row.id, client },
    scopes: new Set(row.scopes.filter(isScope)),
  };
}

/** How stale `last_used_at` may be: one write a minute per token, not one per call. */
const TOUCH_EVERY = '1 minute';

/** Records that a token answered a call (at most once a minute). */
export async function touchToken(tokenId: string): Promise<void> {
  const at = now();
  await getDb()
    .update(serviceTokens)
    .set({ lastUsedAt: at })
    .where(
      and(
        eq(serviceTokens.id, tokenId),
        or(
          isNull(serviceTokens.lastUsedAt),
          lt(
            serviceTokens.lastUsedAt,
            sql`${at.toISOString()}::timestamptz - ${TOUCH_EVERY}::interval`,
          ),
        ),
      ),
    );
}
