import { desc, eq, sql } from 'drizzle-orm';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { retentionPolicies, retentionPolicyChanges } from '#app/db/schema.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { reloadActor } from '#app/modules/auth/actor.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { staffName } from '#app/modules/staff-names.server.ts';
import { ForbiddenError, InputError } from '#app/utils/errors.ts';
import { parseForm } from '#app/utils/forms.server.ts';
import { RetentionPolicySchema, type RetentionPolicyInput } from './input.server.ts';
import { RETENTION_CATEGORIES, type RetentionCategory } from './vocabulary.ts';

// The retention policies: data, seeded by drizzle/0029, edited by holders of policy:manage. Every
// change is one transaction holding the new values, a line of the change history and its audit
// entry (field names and the new period, never the texts).

export interface RetentionPolicy {
  category: RetentionCategory;
  periodDays: number;
  reason: string;
  legalBasis: string;
  suspendedByHold: boolean;
  suspendedByOpenRequest: boolean;
  updatedAt: Date;
  updatedByName: string | null;
}

/** Every policy, in the vocabulary's order. */
export async function listRetentionPolicies(tx: Tx | null = null): Promise<RetentionPolicy[]> {
  const rows = await (tx ?? getDb())
    .select({
      category: retentionPolicies.category,
      periodDays: retentionPolicies.periodDays,
      reason: retentionPolicies.reason,
      legalBasis: retentionPolicies.legalBasis,
      suspendedByHold: retentionPolicies.suspendedByHold,
      suspendedByOpenRequest: retentionPolicies.suspendedByOpenRequest,
      updatedAt: retentionPolicies.updatedAt,
      updatedByName: sql<
        string | null
      >`case when ${retentionPolicies.updatedBy} is null then null else ${staffName(retentionPolicies.updatedBy)} end`,
    })
    .from(retentionPolicies);
  return RETENTION_CATEGORIES.map((c) => {
    const row = rows.find((r) => r.category === c);
    // drizzle/0029 seeds every category and the app may not delete one.
    if (!row) throw new Error(`No retention policy for the category ${c}`);
    return row as RetentionPolicy;
  });
}

const FIELDS = [
  'periodDays',
  'reason',
  'legalBasis',
  'suspendedByHold',
  'suspendedByOpenRequest',
] as const;
type Field = (typeof FIELDS)[number];

export interface PolicyChange {
  id: number;
  category: RetentionCategory;
  changedAt: Date;
  changedByName: string;
  changes: Partial<Record<Field, { from: unknown; to: unknown }>>;
}

/** The latest changes, newest first. */
export async function recentPolicyChanges(limit = 20): Promise<PolicyChange[]> {
  const rows = await getDb()
    .select({
      id: retentionPolicyChanges.id,
      category: retentionPolicyChanges.category,
      changedAt: retentionPolicyChanges.changedAt,
      changedByName: staffName(retentionPolicyChanges.changedBy),
      changes: retentionPolicyChanges.changes,
    })
    .from(retentionPolicyChanges)
    .orderBy(desc(retentionPolicyChanges.changedAt), desc(retentionPolicyChanges.id))
    .limit(limit);
  return rows as PolicyChange[];
}

/**
 * Changes one category's policy. Bad input throws an InputError naming the field; an actor without
 * policy:manage is refused (and the refusal audited). Returns the fields that changed (none when
 * the form held the same values: nothing is written then).
 */
export async function updateRetentionPolicy(
  input: Record<string, unknown>,
  by: StaffActor,
): Promise<{ category: RetentionCategory; changed: Field[] }> {
  const parsed = parseForm(RetentionPolicySchema, input);
  if (!parsed.ok) {
    const [field, message] = Object.entries(parsed.fieldErrors)[0]!;
    throw new InputError(field, message);
  }
  const policy: RetentionPolicyInput = parsed.value;
  const category = policy.category;
  const refused = await getDb().transaction(async (tx) => {
    const actor = await reloadActor(by, tx);
    if (!actor.active || !actor.permissions.has('policy:manage')) {
      await recordAudit(
        actor,
        {
          action: 'retention.policy_change',
          outcome: 'denied',
          details: { category, reason: 'missing_permission', permission: 'policy:manage' },
        },
        tx,
      );
      return true;
    }
    return false;
  });
  if (refused) throw new ForbiddenError('Changing a retention policy needs policy:manage.');
  return getDb().transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(retentionPolicies)
      .where(eq(retentionPolicies.category, category))
      .for('update');
    if (!current) throw new Error(`No retention policy for the category ${category}`);
    const changes: Partial<Record<Field, { from: unknown; to: unknown }>> = {};
    for (const field of FIELDS) {
      if (current[field] !== policy[field]) {
        changes[field] = { from: current[field], to: policy[field] };
      }
    }
    const changed = Object.keys(changes) as Field[];
    if (changed.length === 0) return { category, changed };
    const at = now();
    await tx
      .update(retentionPolicies)
      .set({
        periodDays: policy.periodDays,
        reason: policy.reason,
        legalBasis: policy.legalBasis,
        suspendedByHold: policy.suspendedByHold,
        suspendedByOpenRequest: policy.suspendedByOpenRequest,
        updatedAt: at,
        updatedBy: by.staffId,
      })
      .where(eq(retentionPolicies.category, category));
    await tx
      .insert(retentionPolicyChanges)
      .values({ category, changedBy: by.staffId, changedAt: at, changes });
    await recordAudit(
      by,
      {
        action: 'retention.policy_change',
        outcome: 'allowed',
        details: {
          category,
          fields: changed.map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)),
          periodDays: policy.periodDays,
          ...(changes.periodDays ? { previousPeriodDays: current.periodDays } : {}),
          suspendedByHold: policy.suspendedByHold,
          suspendedByOpenRequest: policy.suspendedByOpenRequest,
        },
      },
      tx,
    );
    return { category, changed };
  });
}
