import { eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, type Db, type Tx } from '#app/db/client.server.ts';
import { grantPolicies } from '#app/db/schema.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { DATA_CATEGORIES, type DataCategory } from '#app/modules/vocabulary.ts';
import type { StaffActor } from '#app/modules/actor.ts';
import { reloadActor } from '#app/modules/auth/actor.server.ts';
import { activeStaff, rolesHolding } from '#app/modules/auth/permissions.server.ts';
import { staffName } from '#app/modules/staff-names.server.ts';
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

/** How many approvers' names a request form lists before it says "and N more". */
const APPROVER_NAMES_SHOWN = 6;

export interface Approvers {
  /** Role codes holding every permission asked, in the live mapping. */
  roles: string[];
  /** Display names of active staff other than `except` holding them all, sorted, at most a few. */
  names: string[];
  /** How many such staff in all. */
  count: number;
}

/**
 * Who may approve a request whose policies ask every one of `permissions` (one person must hold
 * them all), leaving out `except` (the requester: nobody approves their own request).
 */
export async function approversOf(
  permissions: readonly string[],
  except: string,
): Promise<Approvers> {
  const wanted = [...new Set(permissions)].sort();
  const holders = activeStaff({ holdersOf: wanted, except: [except] });
  const [roles, rows] = await Promise.all([
    rolesHolding(wanted),
    getDb().execute<{ name: string; total: number }>(sql`
      select ${staffName(sql`h.id`)} as name, count(*) over ()::int as total
        from ${holders} h
       order by 1
       limit ${APPROVER_NAMES_SHOWN}`),
  ]);
  const list = [...rows];
  return { roles, names: list.map((r) => r.name), count: list[0]?.total ?? 0 };
}
