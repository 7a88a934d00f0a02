import { sql } from 'drizzle-orm';
import type { Tx } from '#app/db/client.server.ts';
import type { Dataset, ReleaseKind } from './config.server.ts';
import { canSpend } from './release.ts';

/**
 * The privacy budget ledger. A release is charged its whole ε in every month of data it reads
 * (a weekly release that spans two months is charged in both), against each dataset's monthly
 * budget. Check and spend happen in the caller's transaction with the budget rows locked (FOR
 * UPDATE, in month order so that two builders cannot deadlock), so concurrent builders cannot
 * both squeeze under the budget; every spend and every refusal is a ledger row.
 */

export interface Charge {
  dataset: Dataset;
  months: readonly string[];
  epsilonMicros: number;
  budgetMicros: number;
  kind: ReleaseKind;
  periodStart: string;
  at: Date;
}

export interface MonthState {
  month: string;
  spentMicros: number;
  budgetMicros: number;
}

export type ChargeCheck =
  | { ok: true; months: MonthState[] }
  | { ok: false; months: MonthState[]; refusedMonth: MonthState };

/** Locks the budget rows of the charge's months and says whether the charge fits all of them. */
export async function lockAndCheck(tx: Tx, charge: Charge): Promise<ChargeCheck> {
  const at = charge.at.toISOString();
  const months = [...new Set(charge.months)].sort();
  const states: MonthState[] = [];
  for (const month of months) {
    await tx.execute(sql`
      insert into console.analytics_budgets (dataset, month, budget_micros, spent_micros, updated_at)
      values (${charge.dataset}, ${month}, ${charge.budgetMicros}, 0, ${at})
      on conflict (dataset, month) do nothing`);
    const [row] = await tx.execute<{ spent: string }>(sql`
      select spent_micros::text as spent from console.analytics_budgets
       where dataset = ${charge.dataset} and month = ${month}
         for update`);
    states.push({ month, spentMicros: Number(row!.spent), budgetMicros: charge.budgetMicros });
  }
  const refused = states.find(
    (s) => !canSpend(s.spentMicros, s.budgetMicros, charge.epsilonMicros),
  );
  return refused
    ? { ok: false, months: states, refusedMonth: refused }
    : { ok: true, months: states };
}

/** Spends the charge in every locked month and writes the ledger rows of the release. */
export async function recordSpend(
  tx: Tx,
  charge: Charge,
  check: ChargeCheck & { ok: true },
  releaseId: string,
) {
  const at = charge.at.toISOString();
  for (const state of check.months) {
    await tx.execute(sql`
      update console.analytics_budgets
         set spent_micros = spent_micros + ${charge.epsilonMicros},
             budget_micros = ${charge.budgetMicros}, updated_at = ${at}
       where dataset = ${charge.dataset} and month = ${state.month}`);
    await insertLedger(tx, charge, state, 'spent', releaseId);
  }
}

/** Writes the refusal into the ledger (the page shows it); nothing is spent. */
export async function recordRefusal(tx: Tx, charge: Charge, check: ChargeCheck & { ok: false }) {
  const at = charge.at.toISOString();
  for (const state of check.months) {
    await tx.execute(sql`
      update console.analytics_budgets set budget_micros = ${charge.budgetMicros}, updated_at = ${at}
       where dataset = ${charge.dataset} and month = ${state.month}`);
  }
  await insertLedger(tx, charge, check.refusedMonth, 'refused', null);
}

async function insertLedger(
  tx: Tx,
  charge: Charge,
  state: MonthState,
  outcome: 'spent' | 'refused',
  releaseId: string | null,
) {
  await tx.execute(sql`
    insert into console.analytics_ledger
      (dataset, month, kind, period_start, release_id, epsilon_micros, outcome,
       spent_before_micros, budget_micros, at)
    values (${charge.dataset}, ${state.month}, ${charge.kind}, ${charge.periodStart}, ${releaseId},
            ${charge.epsilonMicros}, ${outcome}, ${state.spentMicros}, ${state.budgetMicros},
            ${charge.at.toISOString()})`);
}
