import type { Permission, Role } from './auth/permissions.ts';

// Who acts: the one type every module takes and the one audit writer records (ADR 015). A staff
// member comes from guard(), which reads the session, roles and permissions at every request;
// Custodian itself acts from its command line or a background job; the product acts through the
// service API with a token (api/auth.server.ts). Nothing else builds one.

/** Where a request came from, as the audit trail records it. */
export interface Client {
  address: string | null;
  userAgent: string | null;
}

/** A signed-in staff member, with the roles and permissions the database holds at this moment. */
export interface StaffActor {
  kind: 'staff';
  staffId: string;
  email: string;
  displayName: string;
  roles: readonly Role[];
  permissions: ReadonlySet<Permission>;
  /** The console session; null when the member acts outside one (a test, a bench). */
  sessionId: string | null;
  client: Client;
  mustChangePassword: boolean;
  /**
   * When the session last proved a second factor (sign-in or step-up; ADR 035); null or absent
   * when it never did (an account without a factor, or an actor outside a session).
   */
  secondFactorAt?: Date | null;
  /** The account must have a second factor and has none: only /account/security opens. */
  secondFactorDue?: boolean;
}

/** Custodian itself: its command line on the server, or a background job. */
export interface SystemActor {
  kind: 'command-line' | 'job';
  /** The command or the job's name, e.g. `staff add`, `access.expire`. */
  name: string;
  client: Client;
}

/**
 * The product (the chat service) calling the service API with a token (ADR 023). Its scopes were
 * checked by the API layer before any module sees it; the audit trail records the token's name.
 */
export interface ServiceActor {
  kind: 'service';
  /** The token's name, e.g. `chat-app`: a code, never a person's name. */
  name: string;
  tokenId: string;
  client: Client;
}

/** Someone not signed in: a sign-in attempt, a public page. */
export interface VisitorActor {
  kind: 'visitor';
  client: Client;
}

export type Actor = StaffActor | SystemActor | ServiceActor | VisitorActor;

export const NO_CLIENT: Client = Object.freeze({ address: null, userAgent: null });

export function commandLine(name: string): SystemActor {
  return { kind: 'command-line', name, client: { address: null, userAgent: 'custodian-cli' } };
}

export function job(name: string): SystemActor {
  return { kind: 'job', name, client: NO_CLIENT };
}

/** The staff member behind an actor, or null for Custodian itself. */
export function staffIdOf(actor: Actor): string | null {
  return actor.kind === 'staff' ? actor.staffId : null;
}
