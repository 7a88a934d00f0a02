import type { Scope } from '#app/modules/vocabulary.ts';
import type { Permission } from './permissions.ts';

// What a route requires, declared once per route module as `export const access = …`. The route
// policy test walks every route and fails for one that declares nothing.
//
// `writesOnGet`: the route's GET writes or audits in the staff member's name (a lookup counted
// against the daily limit, a view of personal data recorded, a download on record). guard()
// refuses such a GET when the browser says it comes from another site (`Sec-Fetch-Site:
// cross-site`), so a link elsewhere cannot act in a staff member's name (ADR 020). The route
// policy test requests every route cross-site and fails for one that audits without it.
//
// `background`: an open page polls the route on its own (the notification count, a grant's
// state). Reading it is not the staff member's activity, so it does not keep an idle session
// alive: the session still ends after the idle limit with a page left open (issue 13).
//
// `whileSecondFactorDue`: the route opens for a session held to enrolling a second factor (an
// account that must have one and has none, ADR 035); only /account/security and sign-out do.
export interface AccessOptions {
  whilePasswordChangeDue?: boolean;
  whileSecondFactorDue?: boolean;
  writesOnGet?: boolean;
  background?: boolean;
}

/** What a console route (a staff member's page or download) requires: guard() checks it. */
export type StaffAccess =
  | { kind: 'public' }
  | ({ kind: 'signed-in' } & AccessOptions)
  | ({ kind: 'permission'; permission: Permission } & AccessOptions)
  /** Any one of several permissions (the approvers of a role request: ADR 021). */
  | ({ kind: 'any-permission'; permissions: readonly Permission[] } & AccessOptions);

/**
 * A service-API route (`/api/v1/…`, ADR 023): only a service token that holds `scope`, presented
 * as `Authorization: Bearer`; the staff session cookie counts for nothing there. The API layer
 * (api/http.server.ts) checks it, never guard().
 */
export interface ServiceAccess {
  kind: 'service';
  scope: Scope;
}

export type Access = StaffAccess | ServiceAccess;

export const publicAccess = { kind: 'public' } as const satisfies Access;
export const signedIn = (options: AccessOptions = {}) =>
  ({ kind: 'signed-in', ...options }) as const satisfies Access;
export const requires = (permission: Permission, options: AccessOptions = {}) =>
  ({ kind: 'permission', permission, ...options }) as const satisfies Access;
export const requiresAny = (...permissions: Permission[]) =>
  ({ kind: 'any-permission', permissions }) as const satisfies Access;
export const serviceToken = (scope: Scope) =>
  ({ kind: 'service', scope }) as const satisfies ServiceAccess;

/** Whether the holder of `held` passes a permission declaration (true for the other kinds). */
export function holdsDeclared(access: StaffAccess, held: ReadonlySet<Permission>): boolean {
  if (access.kind === 'permission') return held.has(access.permission);
  if (access.kind === 'any-permission') return access.permissions.some((p) => held.has(p));
  return true;
}
