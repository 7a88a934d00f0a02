import type { Permission } from '#app/modules/auth/permissions.ts';

// The console's sections. The layout shows an entry only to holders of its permission; the
// server still checks every route on its own (the menu is cosmetic).
export interface NavItem {
  to: string;
  label: string;
  permission?: Permission;
}

export const NAV_ITEMS: NavItem[] = [
  { to: '/', label: 'Home' },
  { to: '/users', label: 'Users', permission: 'users:lookup' },
  { to: '/grants', label: 'Grants', permission: 'grants:request' },
  { to: '/inquiries', label: 'Inquiries', permission: 'inquiries:answer' },
  { to: '/privacy', label: 'Privacy', permission: 'privacy:process' },
  { to: '/admin/staff', label: 'Staff', permission: 'staff:manage' },
  { to: '/admin/policies', label: 'Policies', permission: 'policy:manage' },
  { to: '/admin/retention', label: 'Retention', permission: 'policy:manage' },
  { to: '/audit', label: 'Audit trail', permission: 'audit:read' },
  { to: '/security/access', label: 'Security review', permission: 'security:review' },
  { to: '/analytics', label: 'Analytics', permission: 'analytics:read' },
];

export function visibleNav(permissions: readonly string[]) {
  return NAV_ITEMS.filter((item) => !item.permission || permissions.includes(item.permission));
}
