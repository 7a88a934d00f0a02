import { sql } from 'drizzle-orm';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { MODELS } from '#app/modules/vocabulary.ts';
import type { AnalyticsConfig } from './config.server.ts';
import { addDays, dayStart } from './periods.server.ts';

/**
 * Per-user, per-day contributions: the only place analytics reads usage events. A user counts once
 * per day; their messages, conversations and tokens of the day are clamped to the configured bounds,
 * and their conversations by model are clamped so that together they stay within the day's
 * conversation bound. Users who objected to analytics (or whose account is gone) contribute nothing.
 *
 * Building a day deletes and rewrites that day in one transaction, so it can be repeated (after a
 * crash, or with late events) and gives the same rows for the same events.
 */

/** Users who objected to processing for analytics: they contribute to no usage release. */
export const OBJECTED = sql`(select p.user_id from product.data_use_preferences p
  where p.purpose = 'analytics' and not p.allowed)`;

export interface DayBuild {
  day: string;
  users: number;
  seconds: number;
}

export async function buildDayContributions(
  day: string,
  config: AnalyticsConfig,
): Promise<DayBuild> {
  const started = performance.now();
  const from = dayStart(day).toISOString();
  const to = dayStart(addDays(day, 1)).toISOString();
  const models = sql.raw(`array[${MODELS.map((m) => `'${m}'`).join(', ')}]::product.model[]`);
  const users = await getDb().transaction(async (tx) => {
    await tx.execute(sql`delete from console.analytics_contribution_models where day = ${day}`);
    await tx.execute(sql`delete from console.analytics_contributions where day = ${day}`);
    // NOTE: events are read by time range (usage_events_occurred_idx), so a day costs its own
    // events, whatever the table's size.
    const inserted = await tx.execute<{ n: number }>(sql`
      with ev as materialized (
        select e.user_id, e.kind, e.model, e.tokens, e.country
          from product.usage_events e
         where e.occurred_at >= ${from} and e.occurred_at < ${to}
           and e.user_id not in ${OBJECTED}
      ),
      per_user as (
        select ev.user_id,
               count(*) filter (where ev.kind = 'message') as messages,
               count(*) filter (where ev.kind = 'conversation_start') as conversations,
               coalesce(sum(ev.tokens) filter (where ev.kind = 'message'), 0) as tokens,
               mode() within group (order by ev.country) as country
          from ev
         group by ev.user_id
      ),
      inserted as (
        insert into console.analytics_contributions
          (day, user_id, plan, country, messages, conversations, tokens)
        select ${day}, pu.user_id, u.plan, pu.country,
               least(pu.messages, ${config.maxMessagesPerDay}),
               least(pu.conversations, ${config.maxConversationsPerDay}),
               least(pu.tokens, ${config.maxTokensPerDay})
          from per_user pu
          join product.users u on u.id = pu.user_id
        returning 1
      )
      select count(*)::int as n from inserted`);
    // Conversations by model: the most used models first (ties in list order) take the day's
    // conversation bound until it runs out.
    await tx.execute(sql`
      with per_model as (
        select e.user_id, e.model, count(*) as n
          from product.usage_events e
         where e.occurred_at >= ${from} and e.occurred_at < ${to}
           and e.kind = 'conversation_start' and e.model = any(${models})
         group by e.user_id, e.model
      ),
      clamped as (
        select pm.user_id, pm.model,
               least(pm.n, ${config.maxConversationsPerDay} - coalesce(sum(pm.n) over (
                 partition by pm.user_id order by pm.n desc, pm.model
                 rows between unbounded preceding and 1 preceding), 0)) as n
          from per_model pm
      )
      insert into console.analytics_contribution_models (day, user_id, model, conversations)
      select ${day}, c.user_id, c.model, c.n
        from clamped c
        join console.analytics_contributions a on a.day = ${day} and a.user_id = c.user_id
       where c.n > 0`);
    await tx.execute(sql`
      insert into console.analytics_contributors (user_id, last_day)
      select a.user_id, a.day from console.analytics_contributions a where a.day = ${day}
      on conflict (user_id) do update
        set last_day = greatest(console.analytics_contributors.last_day, excluded.last_day)`);
    return inserted[0]?.n ?? 0;
  });
  return { day, users, seconds: (performance.now() - started) / 1000 };
}

/**
 * Removes what must no longer count: every row of users who have since objected or been erased
 * (found through the one-row-per-user contributors table, not by scanning every day). Days past
 * their retention go by the `analytics_contributions` policy (expiredContributionsBatch, run by
 * the retention purge, ADR 032). Returns how many rows went.
 */
export async function purgeWithdrawnContributions(): Promise<number> {
  return getDb().transaction(async (tx) => {
    const [gone] = await tx.execute<{ n: number }>(sql`
      with gone as (
        select k.user_id from console.analytics_contributors k
         where k.user_id in ${OBJECTED}
            or not exists (select 1 from product.users u where u.id = k.user_id)
      ),
      models as (
        delete from console.analytics_contribution_models m using gone g
         where m.user_id = g.user_id returning 1
      ),
      days as (
        delete from console.analytics_contributions c using gone g
         where c.user_id = g.user_id returning 1
      ),
      users as (
        delete from console.analytics_contributors k using gone g
         where k.user_id = g.user_id returning 1
      )
      select ((select count(*) from models) + (select count(*) from days))::int as n`);
    return gone?.n ?? 0;
  });
}

/** The UTC day of a cut-off: contributions of days before it are past their retention. */
const dayOf = (cutoff: Date) => cutoff.toISOString().slice(0, 10);

/** How many contribution rows (days and models) are of days before the cut-off's day. */
export async function countExpiredContributions(cutoff: Date): Promise<number> {
  const [row] = await getDb().execute<{ n: number }>(sql`
    select ((select count(*) from console.analytics_contributions where day < ${dayOf(cutoff)})
          + (select count(*) from console.analytics_contribution_models where day < ${dayOf(cutoff)}))::int as n`);
  return row?.n ?? 0;
}

/**
 * One batch of the `analytics_contributions` retention policy, in the caller's transaction: up to
 * `limit` user-days before the cut-off's day, with their models. The batch that finds none left
 * also drops the contributors whose latest day is before it. Rows removed: days plus models.
 */
export async function expiredContributionsBatch(
  tx: Tx,
  cutoff: Date,
  limit: number,
): Promise<{ removed: number; done: boolean }> {
  const day = dayOf(cutoff);
  const [row] = await tx.execute<{ days: number; models: number }>(sql`
    with batch as (
      select c.day, c.user_id from console.analytics_contributions c
       where c.day < ${day} order by c.day, c.user_id limit ${limit}
    ),
    models as (
      delete from console.analytics_contribution_models m using batch b
       where m.day = b.day and m.user_id = b.user_id returning 1
    ),
    days as (
      delete from console.analytics_contributions c using batch b
       where c.day = b.day and c.user_id = b.user_id returning 1
    )
    select (select count(*) from days)::int as days, (select count(*) from models)::int as models`);
  const days = row?.days ?? 0;
  let removed = days + (row?.models ?? 0);
  if (days < limit) {
    // Models of a day without its contribution row (none are written so, but none may stay).
    const [stray] = await tx.execute<{ n: number }>(sql`
      with m as (delete from console.analytics_contribution_models where day < ${day} returning 1)
      select count(*)::int as n from m`);
    removed += stray?.n ?? 0;
    await tx.execute(sql`delete from console.analytics_contributors where last_day < ${day}`);
  }
  return { removed, done: days < limit };
}

/**
 * An erasure's share: every contribution row of one user (their days, their models, their line in
 * the contributors table), in the erasure's transaction. Returns how many rows went. Releases
 * already made keep their noisy figures: they hold no row of anyone.
 */
export async function purgeUserContributions(tx: Tx, userId: string): Promise<number> {
  const [row] = await tx.execute<{ n: number }>(sql`
    with models as (
      delete from console.analytics_contribution_models where user_id = ${userId} returning 1
    ),
    days as (
      delete from console.analytics_contributions where user_id = ${userId} returning 1
    ),
    users as (
      delete from console.analytics_contributors where user_id = ${userId} returning 1
    )
    select ((select count(*) from models) + (select count(*) from days)
            + (select count(*) from users))::int as n`);
  return row?.n ?? 0;
}

/** How many contribution rows of one user are left (an erasure's final check). */
export async function userContributionsLeft(userId: string): Promise<number> {
  const [row] = await getDb().execute<{ n: number }>(sql`
    select ((select count(*) from console.analytics_contribution_models where user_id = ${userId})
          + (select count(*) from console.analytics_contributions where user_id = ${userId})
          + (select count(*) from console.analytics_contributors where user_id = ${userId}))::int as n`);
  return row?.n ?? 0;
}
