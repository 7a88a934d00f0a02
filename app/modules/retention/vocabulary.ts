// The retention vocabulary: the data categories a policy governs, and the states of a purge run.
// The database checks in drizzle/0029 and app/db/schema.ts are built from these lists.

export const RETENTION_CATEGORIES = [
  'conversations',
  'messages',
  'usage_events',
  'payment_references',
  'staff_sessions',
  'sign_in_throttle',
  'notifications',
  'user_outbox',
  'export_packages',
  'closed_privacy_requests',
  'grants',
  'inquiries',
  'analytics_contributions',
  'audit_contents',
] as const;
export type RetentionCategory = (typeof RETENTION_CATEGORIES)[number];

export const RETENTION_LABELS: Record<RetentionCategory, string> = {
  conversations: 'Conversations',
  messages: 'Messages',
  usage_events: 'Usage events',
  payment_references: 'Payment references',
  staff_sessions: 'Staff sessions',
  sign_in_throttle: 'Sign-in throttle records',
  notifications: 'Staff notifications',
  user_outbox: 'Messages to users (outbox)',
  export_packages: 'Export packages',
  closed_privacy_requests: 'Closed privacy requests (working data)',
  grants: 'Closed grants (free texts)',
  inquiries: 'Closed inquiries',
  analytics_contributions: 'Analytics contributions',
  audit_contents: 'Audit trail contents',
};

/** Days. The audit trail's minimum is also a CHECK in drizzle/0029: a release cannot lower it. */
export const RETENTION_LIMITS = {
  minDays: 0,
  maxDays: 36_500,
  auditContentsMinDays: 2_192,
  reasonMaxLength: 500,
  basisMaxLength: 200,
} as const;

export const RUN_TRIGGERS = ['schedule', 'command', 'console', 'first_start'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
export const RUN_STATES = ['running', 'done'] as const;
export const RUN_CATEGORY_STATES = ['pending', 'running', 'done'] as const;
