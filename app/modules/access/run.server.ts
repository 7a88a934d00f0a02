import type { z } from 'zod';
import { getDb, type Tx } from '#app/db/client.server.ts';
import type { AuditAction } from '#app/modules/audit/catalogue.server.ts';
import { recordAudit, type AuditEvent } from '#app/modules/audit/writer.server.ts';
import { parseForm } from '#app/utils/forms.server.ts';
import { GrantInputError, GrantRefusedError } from './errors.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import type { CurrentStaff } from '#app/modules/auth/actor.server.ts';

// How every grant operation runs: one transaction holding the change and its audit entry. A
// refusal is decided before anything is written, so its transaction commits the denied audit
// entry alone, and the error is thrown once that entry is safe.

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
  actor: StaffActor,
  event: Omit<AuditEvent<A>, 'outcome'>,
  error: GrantRefusedError,
): Promise<Refused> {
  const details = {
    ...event.details,
    reason: error.reason,
    ...(error.permission ? { permission: error.permission } : {}),
  };
  await recordAudit(actor, { ...event, outcome: 'denied', details }, tx);
  return new Refused(error);
}

/** Why this staff member may not act (with `permission`), or undefined when they may. */
export function lacks(staff: CurrentStaff, permission?: string): GrantRefusedError | undefined {
  if (!staff.active) {
    return new GrantRefusedError('Your staff account is not active.', 403, 'staff_inactive');
  }
  if (permission && !(staff.permissions as ReadonlySet<string>).has(permission)) {
    return new GrantRefusedError(
      `Your roles do not include the permission this needs (${permission}).`,
      403,
      'missing_permission',
      permission,
    );
  }
  return undefined;
}

/** parseForm for a grant operation's arguments: a failed parse is a GrantInputError. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = parseForm(schema, input);
  if (parsed.ok) return parsed.value;
  throw new GrantInputError(parsed.fieldErrors);
}
