// Roles and permissions. The database holds the live mapping (console.role_permissions) and is
// read on every request; this catalogue is what migrations and the seed put there by default, and
// what code may ask for. Routes ask for a permission, never for a role.

export const ROLES = [
  'support_agent',
  'support_lead',
  'privacy_officer',
  'security_auditor',
  'admin',
] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_NAMES: Record<Role, string> = {
  support_agent: 'Support agent',
  support_lead: 'Support lead',
  privacy_officer: 'Privacy officer',
  security_auditor: 'Security auditor',
  admin: 'Admin',
};

export const PERMISSIONS = {
  'users:lookup': 'Find an end user by exact id or email',
  'grants:request': 'Request a just-in-time grant to a user’s data',
  'grants:approve': 'Approve grants for profile, usage and preferences',
  'grants:approve_sensitive': 'Approve grants for conversations and payments',
  'grants:break_glass': 'Activate an emergency grant, reviewed afterwards',
  'grants:revoke_any': 'Revoke anyone’s active grant',
  'inquiries:answer': 'Work the inquiry queue: take, answer and close inquiries',
  'inquiries:assign': 'Assign inquiries to agents',
  'privacy:process': 'Work the privacy-request queue',
  'privacy:approve': 'Approve privacy requests, erasures included',
  'audit:read': 'Read the audit trail',
  'audit:verify': 'Verify the audit trail',
  'security:review': 'Review break-glass use and staff access',
  'analytics:read': 'Read anonymized analytics',
  'analytics:share':
    'Share released analytics figures with a recipient in the record of processing',
  'staff:manage': 'Manage staff accounts and roles',
  'policy:manage': 'Manage access and retention policies',
} as const;
export type Permission = keyof typeof PERMISSIONS;
export const PERMISSION_CODES = Object.keys(PERMISSIONS) as Permission[];

export const DEFAULT_ROLE_PERMISSIONS: Record<Role, Permission[]> = {
  support_agent: ['users:lookup', 'grants:request', 'inquiries:answer'],
  support_lead: [
    'users:lookup',
    'grants:request',
    'inquiries:answer',
    'inquiries:assign',
    'grants:approve',
    'grants:approve_sensitive',
    'grants:break_glass',
    'analytics:read',
  ],
  privacy_officer: [
    'users:lookup',
    'grants:request',
    'inquiries:answer',
    'grants:approve_sensitive',
    'privacy:process',
    'privacy:approve',
    'analytics:read',
    'analytics:share',
  ],
  security_auditor: [
    'users:lookup',
    'grants:request',
    'grants:break_glass',
    'grants:revoke_any',
    'audit:read',
    'audit:verify',
    'security:review',
    'analytics:read',
  ],
  admin: ['analytics:read', 'staff:manage', 'policy:manage'],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

// --- what takes a second person (DESIGN law 5, ADR 021) -----------------------------------------

/** The family of a permission: the part before the colon (`grants` of `grants:approve`). */
type FamilyOf<P> = P extends `${infer F}:${string}` ? F : never;
export type PermissionFamily = FamilyOf<Permission>;

/**
 * What each family of permissions reaches. A role holding any permission of a family that
 * reaches personal data or decides access is given only with a second person's approval. Typed
 * over every family of the catalogue: a new family does not compile until it is classified here,
 * and a new permission in a listed family is covered at once.
 */
export const FAMILY_REACH: Record<PermissionFamily, 'personal data' | 'access' | 'neither'> = {
  users: 'personal data',
  grants: 'access',
  privacy: 'personal data',
  // An assignment opens the inquiry's thread to its assignee (ADR 034).
  inquiries: 'personal data',
  audit: 'personal data',
  security: 'access',
  // Managing staff decides who holds every other permission (and approves role requests), and
  // policies decide how grants are approved: an admin given at once could be a second person
  // made by the first (ADR 021).
  staff: 'access',
  policy: 'access',
  // analytics:share hands out released figures only (noisy aggregates above k, law 6), never a
  // row about one person (ADR 037).
  analytics: 'neither',
};

export function familyOf(permission: Permission): PermissionFamily {
  return permission.slice(0, permission.indexOf(':')) as PermissionFamily;
}

/** The permissions that make a role need a second person's approval, from the catalogue. */
export const SECOND_PERSON_PERMISSIONS: readonly Permission[] = PERMISSION_CODES.filter(
  (p) => FAMILY_REACH[familyOf(p)] !== 'neither',
);

/**
 * What every staff member may hold without a second factor (ADR 035): finding a user, asking for
 * a grant, and answering inquiries — an inquiry's thread opens only under the grant its
 * assignment brings, so answering reaches no personal data that a grant does not already gate.
 */
export const WITHOUT_SECOND_FACTOR: readonly Permission[] = [
  'users:lookup',
  'grants:request',
  'inquiries:answer',
];

/**
 * Whether an account must have a second factor: it holds a permission beyond finding users and
 * asking for grants (in the live mapping), or an admin asked for one.
 */
export function needsSecondFactor(held: Iterable<Permission>, requiredByAdmin: boolean): boolean {
  if (requiredByAdmin) return true;
  for (const p of held) if (!WITHOUT_SECOND_FACTOR.includes(p)) return true;
  return false;
}
