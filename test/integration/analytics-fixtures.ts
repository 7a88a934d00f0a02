import { randomBytes, randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { Plan } from '#app/modules/vocabulary.ts';

// End users for the analytics tests: only the columns analytics reads are meaningful.

export interface UserSpec {
  plan?: Plan;
  country?: string;
  objected?: boolean;
  status?: 'active' | 'closed';
}

/** n end users (with every data-use preference allowed, or analytics refused when `objected`). */
export async function insertAnalyticsUsers(
  sql: postgres.Sql,
  n: number,
  spec: UserSpec = {},
): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  const at = '2025-01-01T00:00:00Z';
  await sql`insert into product.users ${sql(
    ids.map((id) => ({
      id,
      email_enc: randomBytes(8),
      email_index: randomBytes(32),
      email_index_key_id: 'test',
      email_masked: 'x•••@example.com',
      display_name_enc: randomBytes(8),
      country: spec.country ?? 'US',
      plan: spec.plan ?? 'free',
      locale: 'en-US',
      status: spec.status ?? 'active',
      created_at: at,
    })),
  )}`;
  const purposes = ['training', 'analytics', 'personalization', 'marketing'] as const;
  await sql`insert into product.data_use_preferences ${sql(
    ids.flatMap((id) =>
      purposes.map((purpose) => ({
        user_id: id,
        purpose,
        allowed: !(purpose === 'analytics' && spec.objected),
        updated_at: at,
      })),
    ),
  )}`;
  return ids;
}
