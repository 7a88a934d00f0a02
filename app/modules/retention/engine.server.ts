import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { getDb, getSql, type Tx } from '#app/db/client.server.ts';
import { retentionRunCategories, retentionRuns } from '#app/db/schema.ts';
import type { Actor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { CATEGORIES, RUN_ORDER, type Suspension } from './categories.server.ts';
import { listRetentionPolicies } from './policies.server.ts';
import type { RetentionCategory, RunTrigger } from './vocabulary.ts';

// The purge engine (ADR 032). A run freezes, when it starts, each category's cut-off and what
// suspends it; then it takes the categories one by one, in batches of at most BATCH_SIZE rows,
// each batch one transaction that removes its rows and records the run's progress (count and
// keyset position). A run that dies (a killed worker, a lost connection) is left `running`: the
// next run continues it from its last committed batch, with the same cut-offs, so nothing is
// counted twice and nothing past its period is left. One run at a time: an advisory lock, held by
// the session of the run, which PostgreSQL releases when that session dies.

export const BATCH_SIZE = 5_000;
export const RETENTION_LOCK_KEY = 114_101_116_110;
const DAY_MS = 86_400_000;

/** The daily run: 02:30 UTC, when the console is quietest. */
export const RUN_CRON = '30 2 * * *';

export function cutoffOf(asOf: Date, periodDays: number): Date {
  return new Date(asOf.getTime() - periodDays * DAY_MS);
}

/** When the daily run is next due after `at`. */
export function nextRunDue(at: Date = now()): Date {
  const due = new Date(
    Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), 2, 30, 0, 0),
  );
  return due.getTime() > at.getTime() ? due : new Date(due.getTime() + DAY_MS);
}

export interface PlanLine {
  category: RetentionCategory;
  periodDays: number;
  cutoff: string;
  count: number;
}

/** A dry run: what a run starting now would remove, per category. Nothing is written. */
export async function planRetention(asOf: Date = now()): Promise<PlanLine[]> {
  const policies = await listRetentionPolicies();
  const lines: PlanLine[] = [];
  for (const category of RUN_ORDER) {
    const policy = policies.find((p) => p.category === category)!;
    const cutoff = cutoffOf(asOf, policy.periodDays);
    const count = await CATEGORIES[category].count(cutoff, asOf, {
      hold: policy.suspendedByHold,
      openRequest: policy.suspendedByOpenRequest,
    });
    lines.push({ category, periodDays: policy.periodDays, cutoff: cutoff.toISOString(), count });
  }
  return lines;
}

export interface RunLine {
  category: RetentionCategory;
  cutoff: string;
  removed: number;
  cascaded: number;
  batches: number;
  durationMs: number;
}

export type RunSummary =
  { status: 'busy' } | { status: 'done'; runId: string; resumed: boolean; categories: RunLine[] };

export interface RunOptions {
  trigger: RunTrigger;
  actor: Actor;
  batchSize?: number;
  /** A new run takes only these categories (tests); a resumed run takes what it started with. */
  only?: readonly RetentionCategory[];
  /** Called after each committed batch (tests use it to stop a run part-way, as a crash would). */
  afterBatch?: (category: RetentionCategory, batches: number) => void | Promise<void>;
  log?: (line: string) => void;
}

type CategoryRow = typeof retentionRunCategories.$inferSelect;

/** Starts a run, or continues the one a crash left `running`. */
export async function runRetention(options: RunOptions): Promise<RunSummary> {
  const limit = options.batchSize ?? BATCH_SIZE;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error('not a batch size');
  const log = options.log ?? (() => {});
  const lock = await getSql().reserve();
  let locked = false;
  try {
    const [got] = await lock<{ locked: boolean }[]>`
      select pg_try_advisory_lock(${RETENTION_LOCK_KEY}) as locked`;
    locked = got?.locked === true;
    if (!locked) return { status: 'busy' };
    const { runId, resumed } = await openRun(options);
    const rows = await getDb()
      .select()
      .from(retentionRunCategories)
      .where(eq(retentionRunCategories.runId, runId));
    const ordered = RUN_ORDER.flatMap((c) => rows.filter((r) => r.category === c));
    for (const row of ordered) {
      if (row.state === 'done') continue;
      await purgeCategory(runId, row, resumed, limit, options);
    }
    await getDb()
      .update(retentionRuns)
      .set({ state: 'done', finishedAt: now() })
      .where(eq(retentionRuns.id, runId));
    const done = await getDb()
      .select()
      .from(retentionRunCategories)
      .where(eq(retentionRunCategories.runId, runId));
    const categories = RUN_ORDER.flatMap((c) => done.filter((r) => r.category === c)).map((r) => ({
      category: r.category as RetentionCategory,
      cutoff: r.cutoff.toISOString(),
      removed: r.removed,
      cascaded: r.cascaded,
      batches: r.batches,
      durationMs: r.durationMs,
    }));
    log(
      `retention: ${resumed ? 'resumed and finished' : 'ran'} run ${runId}: ${
        categories
          .filter((c) => c.removed > 0)
          .map((c) => `${c.category} ${c.removed}`)
          .join(', ') || 'nothing past its period'
      }`,
    );
    return { status: 'done', runId, resumed, categories };
  } finally {
    if (locked) await lock`select pg_advisory_unlock(${RETENTION_LOCK_KEY})`;
    lock.release();
  }
}

async function openRun(options: RunOptions): Promise<{ runId: string; resumed: boolean }> {
  return getDb().transaction(async (tx) => {
    const [open] = await tx
      .select({ id: retentionRuns.id })
      .from(retentionRuns)
      .where(eq(retentionRuns.state, 'running'))
      .for('update');
    if (open) {
      await tx
        .update(retentionRuns)
        .set({ resumed: sql`${retentionRuns.resumed} + 1` })
        .where(eq(retentionRuns.id, open.id));
      return { runId: open.id, resumed: true };
    }
    const asOf = now();
    const runId = randomUUID();
    const policies = await listRetentionPolicies(tx);
    await tx.insert(retentionRuns).values({
      id: runId,
      trigger: options.trigger,
      state: 'running',
      asOf,
      startedAt: asOf,
    });
    const categories = RUN_ORDER.filter((c) => !options.only || options.only.includes(c));
    await tx.insert(retentionRunCategories).values(
      categories.map((category) => {
        const policy = policies.find((p) => p.category === category)!;
        return {
          runId,
          category,
          periodDays: policy.periodDays,
          cutoff: cutoffOf(asOf, policy.periodDays),
          suspendedByHold: policy.suspendedByHold,
          suspendedByOpenRequest: policy.suspendedByOpenRequest,
          state: 'pending',
        };
      }),
    );
    return { runId, resumed: false };
  });
}

async function purgeCategory(
  runId: string,
  row: CategoryRow,
  resumed: boolean,
  limit: number,
  options: RunOptions,
) {
  const category = row.category as RetentionCategory;
  const purge = CATEGORIES[category];
  const [run] = await getDb()
    .select({ asOf: retentionRuns.asOf })
    .from(retentionRuns)
    .where(eq(retentionRuns.id, runId));
  const asOf = run!.asOf;
  const suspension: Suspension = {
    hold: row.suspendedByHold,
    openRequest: row.suspendedByOpenRequest,
  };
  let last = row.lastKey;
  let batches = row.batches;
  const where = and(
    eq(retentionRunCategories.runId, runId),
    eq(retentionRunCategories.category, category),
  );
  for (;;) {
    const started = performance.now();
    const step = async (tx: Tx, batch: Awaited<ReturnType<typeof purge.batch>>) => {
      const ms = Math.round(performance.now() - started);
      const [progress] = await tx
        .update(retentionRunCategories)
        .set({
          state: batch.done ? 'done' : 'running',
          removed: sql`${retentionRunCategories.removed} + ${batch.removed}`,
          cascaded: sql`${retentionRunCategories.cascaded} + ${batch.cascaded}`,
          batches: sql`${retentionRunCategories.batches} + 1`,
          lastKey: batch.last,
          durationMs: sql`${retentionRunCategories.durationMs} + ${ms}`,
          ...(batch.done ? { finishedAt: now() } : {}),
        })
        .where(where)
        .returning();
      if (batch.done) {
        await recordAudit(
          options.actor,
          {
            action: 'retention.purge',
            outcome: 'allowed',
            details: {
              category,
              runId,
              cutoff: row.cutoff.toISOString(),
              periodDays: row.periodDays,
              removed: progress!.removed,
              cascaded: progress!.cascaded,
              batches: progress!.batches,
              resumed,
              ...(category === 'audit_contents' && batch.last !== null && batch.removed > 0
                ? { toSeq: Number(batch.last) }
                : {}),
            },
          },
          tx,
        );
      }
    };
    let done: boolean;
    if (purge.ownTransaction) {
      const batch = await purge.batch(null, row.cutoff, asOf, suspension, last, limit);
      await getDb().transaction((tx) => step(tx, batch));
      ({ done } = batch);
      last = batch.last;
    } else {
      done = await getDb().transaction(async (tx) => {
        // No wait for the disk at commit (ADR 032): a crash loses whole batches only, each with its
        // progress and audit entry, and the next run does them again from the last durable one.
        await tx.execute(sql`set local synchronous_commit = off`);
        const batch = await purge.batch(tx, row.cutoff, asOf, suspension, last, limit);
        await step(tx, batch);
        last = batch.last;
        return batch.done;
      });
    }
    batches += 1;
    await options.afterBatch?.(category, batches);
    if (done) return;
  }
}

export interface RunView {
  id: string;
  trigger: string;
  state: string;
  startedAt: Date;
  finishedAt: Date | null;
  resumed: number;
  removed: number;
  durationMs: number;
  categories: {
    category: RetentionCategory;
    cutoff: Date;
    removed: number;
    cascaded: number;
    durationMs: number;
    state: string;
  }[];
}

/** The latest runs, newest first, with their counts per category. */
export async function recentRuns(limit = 10): Promise<RunView[]> {
  const runs = await getDb()
    .select()
    .from(retentionRuns)
    .orderBy(desc(retentionRuns.startedAt), desc(retentionRuns.id))
    .limit(limit);
  if (runs.length === 0) return [];
  const rows = await getDb()
    .select()
    .from(retentionRunCategories)
    .where(
      inArray(
        retentionRunCategories.runId,
        runs.map((r) => r.id),
      ),
    )
    .orderBy(asc(retentionRunCategories.category));
  return runs.map((run) => {
    const mine = RUN_ORDER.flatMap((c) =>
      rows.filter((r) => r.runId === run.id && r.category === c),
    );
    return {
      id: run.id,
      trigger: run.trigger,
      state: run.state,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      resumed: run.resumed,
      removed: mine.reduce((n, r) => n + r.removed, 0),
      durationMs: mine.reduce((n, r) => n + r.durationMs, 0),
      categories: mine.map((r) => ({
        category: r.category as RetentionCategory,
        cutoff: r.cutoff,
        removed: r.removed,
        cascaded: r.cascaded,
        durationMs: r.durationMs,
        state: r.state,
      })),
    };
  });
}
