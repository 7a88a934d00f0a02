import type { Permission } from './permissions.ts';

// What a route requires, declared once per route module as `export const access = …`. The route
// policy test walks every route and fails for one that declares nothing.
export type Access =
  | { kind: 'public' }
  | { kind: 'signed-in'; whilePasswordChangeDue?: boolean }
  | { kind: 'permission'; permission: Permission; whilePasswordChangeDue?: boolean }
  /** Any one of several permissions (the approvers of a role request: ADR 021). */
  | {
      kind: 'any-permission';
      permissions: readonly Permission[];
      whilePasswordChangeDue?: boolean;
    };

export const publicAccess = { kind: 'public' } as const satisfies Access;
export const signedIn = (options: { whilePasswordChangeDue?: boolean } = {}) =>
  ({ kind: 'signed-in', ...options }) as const satisfies Access;
export const requires = (permission: Permission) =>
  ({ kind: 'permission', permission }) as const satisfies Access;
export const requiresAny = (...permissions: Permission[]) =>
  ({ kind: 'any-permission', permissions }) as const satisfies Access;

/** Whether the holder of `held` passes a permission declaration (true for the other kinds). */
export function holdsDeclared(access: Access, held: ReadonlySet<Permission>): boolean {
  if (access.kind === 'permission') return held.has(access.permission);
  if (access.kind === 'any-permission') return access.permissions.some((p) => held.has(p));
  return true;
}
