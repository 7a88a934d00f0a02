import { eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
import { grantPolicies } from '#app/db/schema.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { DATA_CATEGORIES, type DataCategory } from '#app/modules/vocabulary.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import { reloadActor } from '#app/modules/auth/actor.server.ts';
import { inTransaction, lacks, parseInput, refuse } from './run.server.ts';
import { APPROVER_PERMISSIONS, GRANT_LIMITS, type GrantPolicy } from './vocabulary.ts';

// The policy of each data category: how long a grant may last, how many approvals it needs and
// which permission its approvers must hold. Data, edited by holders of policy:manage.

/** The policies of these categories, in the vocabulary's order. */
export async function getPolicies(
  categories: readonly DataCategory[],
  tx: Db | Tx = getDb(),
): Promise<GrantPolicy[]> {
  const rows = await tx
    .select({
      category: grantPolicies.category,
      maxDurationMinutes: grantPolicies.maxDurationMinutes,
      approvalsNeeded: grantPolicies.approvalsNeeded,
      approverPermission: grantPolicies.approverPermission,
    })
    .from(grantPolicies)
    .where(inArray(grantPolicies.category, [...categories]));
  return categories.map((category) => {
    const row = rows.find((r) => r.category === category);
    // drizzle/0009 seeds every category and the app may not delete one.
    if (!row) throw new Error(`No grant policy for the category ${category}`);
    return row as GrantPolicy;
  });
}

export async function listPolicies(): Promise<(GrantPolicy & { updatedAt: Date })[]> {
  const rows = await getDb()
    .select({
      category: grantPolicies.category,
      maxDurationMinutes: grantPolicies.maxDurationMinutes,
      approvalsNeeded: grantPolicies.approvalsNeeded,
      approverPermission: grantPolicies.approverPermission,
      updatedAt: grantPolicies.updatedAt,
    })
    .from(grantPolicies);
  return DATA_CATEGORIES.flatMap((c) => rows.filter((r) => r.category === c)) as (GrantPolicy & {
    updatedAt: Date;
  })[];
}

export const PolicySchema = z.object({
  category: z.enum(DATA_CATEGORIES, 'Not a data category'),
  maxDurationMinutes: z.coerce
    .number('Maximum duration must be a number of minutes')
    .int('Maximum duration must be whole minutes')
    .min(
      GRANT_LIMITS.minDurationMinutes,
      `Maximum duration must be at least ${GRANT_LIMITS.minDurationMinutes} minutes`,
    )
    .max(
      GRANT_LIMITS.maxDurationCapMinutes,
      `Maximum duration must be at most ${GRANT_LIMITS.maxDurationCapMinutes} minutes (8 hours)`,
    ),
  approvalsNeeded: z.coerce
    .number('Approvals must be a number')
    .int('Approvals must be a whole number')
    .min(1, 'At least one approval is needed')
    .max(GRANT_LIMITS.maxApprovals, `At most ${GRANT_LIMITS.maxApprovals} approvals`),
  approverPermission: z.enum(APPROVER_PERMISSIONS, 'Choose the approvers’ permission'),
});

/** Changes one category's policy (policy:manage). Pending requests keep the stricter of old and new. */
export async function updatePolicy(
  input: z.input<typeof PolicySchema> & { by: StaffActor },
): Promise<GrantPolicy> {
  const policy = parseInput(PolicySchema, input);
  return inTransaction(async (tx) => {
    const actor = await reloadActor(input.by, tx);
    const event = {
      action: 'grant.policy_change' as const,
      details: { category: policy.category },
    };
    const refusal = lacks(actor, 'policy:manage');
    if (refusal) return refuse(tx, actor, event, refusal);
    await tx
      .update(grantPolicies)
      .set({
        maxDurationMinutes: policy.maxDurationMinutes,
        approvalsNeeded: policy.approvalsNeeded,
        approverPermission: policy.approverPermission,
        updatedAt: now(),
        updatedBy: actor.staffId,
      })
      .where(eq(grantPolicies.category, policy.category));
    await recordAudit(
      actor,
      {
        ...event,
        outcome: 'allowed',
        details: {
          category: policy.category,
          maxDurationMinutes: policy.maxDurationMinutes,
          approvalsNeeded: policy.approvalsNeeded,
          approverPermission: policy.approverPermission,
        },
      },
      tx,
    );
    return policy;
  });
}
