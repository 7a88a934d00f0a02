import type { AuditActor, AuditClient } from '#app/modules/audit/writer.server.ts';
import type { SignedIn } from '#app/modules/auth/session.server.ts';

/** The staff member looking at end users, as every audit entry of this module names them. */
export interface Viewer {
  staffId: string;
  roles: readonly string[];
  sessionId: string | null;
  client: AuditClient;
}

export function viewerOf(
  me: Pick<SignedIn, 'staffId' | 'roles' | 'sessionId'>,
  client: { clientAddress?: string | null; userAgent?: string | null },
): Viewer {
  return {
    staffId: me.staffId,
    roles: me.roles,
    sessionId: me.sessionId,
    client: { address: client.clientAddress || null, userAgent: client.userAgent || null },
  };
}

export function auditActorOf(viewer: Viewer): AuditActor {
  return { staffId: viewer.staffId, roles: viewer.roles };
}
