import { sql, type SQL } from 'drizzle-orm';

// What the trail lends to other capabilities' one-statement queries (ADR 013/014): fragments over
// console.audit_entries, so no other module names the table or parses an entry's body.

/**
 * The allowed views and reveals of personal data (user.view, user.reveal) that occurred in
 * [from, to), as a subquery for a FROM clause with the columns seq, occurred_at, action,
 * actor_staff_id, user_id, grant_id and category (the body's details.category).
 */
export function personalDataViews(period: { from: Date; to: Date }): SQL {
  return sql`(
    select e.seq, e.occurred_at, e.action, e.actor_staff_id, e.user_id, e.grant_id,
           e.body::jsonb #>> '{details,category}' as category
    from console.audit_entries e
    where e.action in ('user.view', 'user.reveal') and e.outcome = 'allowed'
      and e.occurred_at >= ${period.from.toISOString()}
      and e.occurred_at < ${period.to.toISOString()})`;
}
