import type { Permission } from './permissions.ts';

// What a route requires, declared once per route module as `export const access = …`. The route
// policy test walks every route and fails for one that declares nothing.
export type Access =
  | { kind: 'public' }
  | { kind: 'signed-in'; whilePasswordChangeDue?: boolean }
  | { kind: 'permission'; permission: Permission; whilePasswordChangeDue?: boolean };

export const publicAccess = { kind: 'public' } as const satisfies Access;
export const signedIn = (options: { whilePasswordChangeDue?: boolean } = {}) =>
  ({ kind: 'signed-in', ...options }) as const satisfies Access;
export const requires = (permission: Permission) =>
  ({ kind: 'permission', permission }) as const satisfies Access;
