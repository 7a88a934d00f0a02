import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
import { authEvents } from '#app/db/schema.ts';
import { now } from '#app/modules/clock.server.ts';

// Sign-in and staff-account events, in a plain table until the audit-trail issue moves them into
// the tamper-evident log. One catalogue of codes; nothing else writes to the table.
export const AUTH_EVENTS = {
  'auth.sign_in': 'Staff sign-in attempt',
  'auth.sign_out': 'Staff sign-out',
  'auth.lock': 'Sign-in temporarily locked after repeated failures',
  'auth.password_change': 'Staff password changed',
  'staff.create': 'Staff account created',
  'staff.disable': 'Staff account disabled',
  'staff.enable': 'Staff account enabled',
  'staff.roles_change': 'Staff roles changed',
} as const;
export type AuthEventCode = keyof typeof AUTH_EVENTS;

export interface ClientInfo {
  clientAddress?: string | null;
  userAgent?: string | null;
}

export async function recordAuthEvent(
  event: {
    action: AuthEventCode;
    outcome: 'allowed' | 'denied' | 'failed';
    actorStaffId?: string | null;
    targetStaffId?: string | null;
    details?: Record<string, unknown>;
  } & ClientInfo,
  tx: Db | Tx = getDb(),
) {
  await tx.insert(authEvents).values({
    occurredAt: now(),
    action: event.action,
    outcome: event.outcome,
    actorStaffId: event.actorStaffId ?? null,
    targetStaffId: event.targetStaffId ?? null,
    clientAddress: event.clientAddress ?? null,
    userAgent: event.userAgent?.slice(0, 512) ?? null,
    details: event.details ?? {},
  });
}
