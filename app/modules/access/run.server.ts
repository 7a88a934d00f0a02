import type { z } from 'zod';
import { getDb, type Tx } from '#app/db/client.server.ts';
import type { AuditAction } from '#app/modules/audit/catalogue.server.ts';
import { recordAudit, type AuditEvent } from '#app/modules/audit/writer.server.ts';
import { GrantInputError, GrantRefusedError, type FieldErrors } from './errors.ts';
import type { StaffState } from './sql.server.ts';

// How every grant operation runs: one transaction holding the change and its audit entry. A
// refusal is decided before anything is written, so its transaction commits the denied audit
// entry alone, and the error is thrown once that entry is safe.

/** Who acts: the signed-in staff member and, for the audit entry, where the request came from. */
export interface GrantActor {
  staffId: string;
  sessionId?: string | null;
  clientAddress?: string | null;
  userAgent?: string | null;
}

export function auditActor(staff: StaffState) {
  return { staffId: staff.id, roles: staff.roles };
}

export function auditClient(actor: Pick<GrantActor, 'clientAddress' | 'userAgent'>) {
  return { address: actor.clientAddress ?? null, userAgent: actor.userAgent ?? null };
}

class Refused {
  constructor(readonly error: GrantRefusedError) {}
}

export async function inTransaction<T>(work: (tx: Tx) => Promise<T | Refused>): Promise<T> {
  const result = await getDb().transaction(work);
  if (result instanceof Refused) throw result.error;
  return result;
}

/** Records the attempt as denied (reason and missing permission in its details). */
export async function refuse<A extends AuditAction>(
  tx: Tx,
  event: Omit<AuditEvent<A>, 'outcome'>,
  error: GrantRefusedError,
): Promise<Refused> {
  const details = {
    ...event.details,
    reason: error.reason,
    ...(error.permission ? { permission: error.permission } : {}),
  };
  await recordAudit({ ...event, outcome: 'denied', details }, tx);
  return new Refused(error);
}

/** Why this staff member may not act (with `permission`), or undefined when they may. */
export function lacks(staff: StaffState, permission?: string): GrantRefusedError | undefined {
  if (!staff.active) {
    return new GrantRefusedError('Your staff account is not active.', 403, 'staff_inactive');
  }
  if (permission && !staff.permissions.has(permission)) {
    return new GrantRefusedError(
      `Your roles do not include the permission this needs (${permission}).`,
      403,
      'missing_permission',
      permission,
    );
  }
  return undefined;
}

/** zod's issues as one message per field (the first), for a GrantInputError. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const fieldErrors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    fieldErrors[String(issue.path[0] ?? 'form')] ??= issue.message;
  }
  throw new GrantInputError(fieldErrors);
}
