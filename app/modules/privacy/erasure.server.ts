import { createHash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, type Tx } from '#app/db/client.server.ts';
import {
  erasureCertificates,
  erasureRetainedPayments,
  erasureRuns,
  erasureTallies,
  erasureTombstones,
  exportPackages,
  privacyRequests,
  userOutbox,
} from '#app/db/schema.ts';
import type { Actor } from '#app/modules/actor.ts';
import {
  purgeUserContributions,
  userContributionsLeft,
} from '#app/modules/analytics/contributions.server.ts';
import { openNote, signNote, type TrustedKey } from '#app/modules/audit/note.ts';
import { auditKeys } from '#app/modules/audit/runs.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { keyRing } from '#app/modules/crypto/keys.server.ts';
import {
  readConversations,
  readPayments,
  readPreferences,
  readProfile,
  readRevealedField,
  readUsage,
  userFacts,
} from '#app/modules/users/data.server.ts';
import {
  countUserRows,
  deleteUserRows,
  ERASABLE_TABLES,
  erasureFacts,
  rowsLeftOfUser,
  takePaymentReferences,
  userRowBatches,
  type ErasableTable,
  type RowBatch,
} from '#app/modules/users/erasure.server.ts';
import { NotFoundError } from '#app/utils/errors.ts';
import { refuseIfHeld } from './holds.server.ts';
import { deleteMessagesOf } from './outbox.server.ts';
import { deleteExportPackagesOf } from './package.server.ts';
import { moveRequest } from './requests.server.ts';
import { emailTombstone, idTombstone } from './tombstones.server.ts';
import type { WorkContext } from './work.server.ts';

export { isErased } from './tombstones.server.ts';

// Carrying out an erasure (ADR 026, docs/erasure.md). The run is a sequence of idempotent steps,
// each in short transactions, so a worker killed at any point (kill -9) leaves a request that the
// next worker finishes from where the database says it stands:
//   1. plan: count the user's rows per table, note the key's version, write the tombstone;
//   2. destroy the wrapped data key (crypto-shredding: every ciphertext of the user is unreadable
//      from this commit on, including export packages and messages to the user), in the first
//      batch, with the other tables that hold at most one batch of the user's rows;
//   3. delete the rows of the larger tables in batches, each batch counted in its transaction;
//      payment references become retained records without their card fields (the tax rule);
//   4. the console's copies: analytics contributions, the requests' sealed details, export
//      packages and outbox messages;
//   5. the users row, last (4 and 5 are the last batch);
//   6. the check: every product table that names users, and every read path, must find nothing;
//   7. the certificate, signed with the audit log's key, its hash in the trail, the request
//      completed — one transaction.
// An active legal hold stops the run before any batch (the request fails with the hold's reason).

/** Rows per batch transaction (CUSTODIAN_ERASURE_BATCH; a test makes it small to stop mid-way). */
export function erasureBatchSize(): number {
  const raw = Number(process.env.CUSTODIAN_ERASURE_BATCH ?? 25_000);
  return Number.isSafeInteger(raw) && raw >= 1 && raw <= 100_000 ? raw : 25_000;
}

/** How long payment references are kept after an erasure, in years (the tax rule). */
export function taxRetentionYears(): number {
  const raw = Number(process.env.CUSTODIAN_TAX_RETENTION_YEARS ?? 10);
  return Number.isSafeInteger(raw) && raw >= 0 && raw <= 30 ? raw : 10;
}

export const TAX_RULE =
  'Tax law: records of payments are kept for the statutory period (10 years by default, e.g. ' +
  'German AO §147 and HGB §257; set by CUSTODIAN_TAX_RETENTION_YEARS), counted from the ' +
  'payment reference’s creation. Kept: provider, provider customer reference, creation time. ' +
  'Removed: card brand, last four digits, expiry.';

/** The console records that keep an erased user's id, and the rule that keeps each. */
export const KEPT_RECORDS = [
  {
    what: 'privacy requests and their timeline (console schema)',
    reason:
      'The record of the request and how it was answered (GDPR Art. 5(2), 12; CCPA regulations ' +
      '§7101: records of requests kept 24 months). Sealed details are removed.',
  },
  {
    what: 'audit entries (console schema)',
    reason:
      'The append-only audit trail of staff access (the policy’s security audits; GDPR Art. 32). ' +
      'Entries hold ids and codes, never personal values.',
  },
  {
    what: 'grants and lookup counters (console schema)',
    reason: 'Who was allowed to see the user’s data, and who looked them up: part of the trail.',
  },
  {
    what: 'erasure tombstones (console schema)',
    reason:
      'Keyed hashes of the id and of the email’s blind index, so the account is never restored ' +
      'or re-seeded by mistake.',
  },
] as const;

// --- the other privacy parts that hold a user's data ------------------------------------------

// The export packages (package.server.ts) and the end-user outbox (outbox.server.ts) are sealed
// under the user's key, so step 2 already makes them unreadable; their rows are deleted too, and
// counted, so the certificate and the final check cover them.

/** Deletes the user's export packages (their chunks go with them). */
export function eraseExportPackages(tx: Tx, userId: string): Promise<number> {
  return deleteExportPackagesOf(tx, userId);
}

/** How many export packages of the user are left (the final check). */
export async function exportPackagesLeft(userId: string): Promise<number> {
  const [row] = await getDb()
    .select({ n: sql<number>`count(*)::int` })
    .from(exportPackages)
    .where(eq(exportPackages.userId, userId));
  return row?.n ?? 0;
}

/** Deletes the user's messages in the end-user outbox. */
export function eraseOutboxMessages(tx: Tx, userId: string): Promise<number> {
  return deleteMessagesOf(tx, userId);
}

/** How many outbox messages of the user are left (the final check). */
export async function outboxMessagesLeft(userId: string): Promise<number> {
  const [row] = await getDb()
    .select({ n: sql<number>`count(*)::int` })
    .from(userOutbox)
    .where(eq(userOutbox.userId, userId));
  return row?.n ?? 0;
}

// --- the run ---------------------------------------------------------------------------------------

/** What the tallies count besides the product tables. */
type ConsolePart =
  | 'analytics:contributions'
  | 'privacy:request_details'
  | 'privacy:export_packages'
  | 'privacy:outbox_messages';
type Part = ErasableTable | ConsolePart;

const STEP_OF: Record<Part, string> = {
  'product.user_keys': 'destroying the data key',
  'product.messages': 'deleting messages',
  'product.conversations': 'deleting conversations',
  'product.usage_events': 'deleting usage events',
  'product.data_use_preference_changes': 'deleting preference history',
  'product.data_use_preferences': 'deleting preferences',
  'product.payment_references': 'retaining payment references for tax',
  'product.users': 'deleting the account',
  'analytics:contributions': 'purging analytics contributions',
  'privacy:request_details': 'removing request details',
  'privacy:export_packages': 'deleting export packages',
  'privacy:outbox_messages': 'deleting messages to the user',
};

interface Tallies {
  done: number;
  total: number;
}

/**
 * Adds what a batch removed to its parts' tallies and returns the request's progress, in one
 * statement of the batch's transaction. It also turns off the wait for the commit to reach the
 * disk (for this transaction only). NOTE: a batch need not wait: should the server crash, the
 * batch and its tally are lost together and the next run deletes the rows again.
 */
async function countRemoved(
  tx: Tx,
  requestId: string,
  removed: { part: Part; rows: number }[],
): Promise<Tallies> {
  const [row] = await tx.execute<{ done: string; total: string }>(sql`
    with added as (
      select * from json_to_recordset(${JSON.stringify(removed)}::json) as a(part text, rows bigint)
      where rows > 0
    ),
    counted as (
      update ${erasureTallies} t set rows_removed = t.rows_removed + added.rows
      from added where t.request_id = ${requestId} and t.table_name = added.part
      returning t.table_name, t.rows_before, t.rows_removed
    ),
    now_ as (
      select table_name, rows_before, rows_removed from counted
      union all
      select table_name, rows_before, rows_removed from ${erasureTallies}
      where request_id = ${requestId}
        and table_name not in (select table_name from counted)
    )
    select coalesce(sum(rows_removed), 0)::text as done,
           coalesce(sum(greatest(rows_before, rows_removed)), 0)::text as total,
           set_config('synchronous_commit', 'off', true) as sync
    from now_`);
  return { done: Number(row?.done ?? 0), total: Number(row?.total ?? 0) };
}

/** Timings of the steps, for the benchmark (bench/privacy-erase.ts); nothing when unheard. */
export const erasureSteps = diagnostics.channel('custodian:privacy:erasure-step');

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  if (!erasureSteps.hasSubscribers) return run();
  const started = performance.now();
  try {
    return await run();
  } finally {
    erasureSteps.publish({ step: name, ms: performance.now() - started });
  }
}

async function tallies(tx: Tx, requestId: string): Promise<Tallies> {
  const [row] = await tx
    .select({
      done: sql<string>`coalesce(sum(${erasureTallies.rowsRemoved}), 0)::text`,
      total: sql<string>`coalesce(sum(greatest(${erasureTallies.rowsBefore}, ${erasureTallies.rowsRemoved})), 0)::text`,
    })
    .from(erasureTallies)
    .where(eq(erasureTallies.requestId, requestId));
  return { done: Number(row?.done ?? 0), total: Number(row?.total ?? 0) };
}

/** Step 1, once per request: the plan, the tallies' starting counts and the tombstone. */
async function plan(ctx: WorkContext): Promise<void> {
  await getDb().transaction(async (tx) => {
    const [existing] = await tx
      .select({ requestId: erasureRuns.requestId })
      .from(erasureRuns)
      .where(eq(erasureRuns.requestId, ctx.requestId))
      .for('update');
    if (existing) return;
    const facts = await erasureFacts(ctx.userId, tx);
    if (!facts) {
      const [other] = await tx
        .select({ requestId: erasureTombstones.requestId })
        .from(erasureTombstones)
        .where(eq(erasureTombstones.idHash, idTombstone(keyRing().index, ctx.userId)));
      throw new Error(
        other
          ? `This user was already erased by request ${other.requestId}`
          : 'No user has this id',
      );
    }
    const at = now();
    const counts = await countUserRows(ctx.userId, tx);
    const before: Record<Part, number> = {
      ...counts,
      'analytics:contributions': await userContributionsLeft(ctx.userId),
      'privacy:request_details': await tx.$count(
        privacyRequests,
        and(eq(privacyRequests.userId, ctx.userId), isNotNull(privacyRequests.detailsEnc)),
      ),
      'privacy:export_packages': await exportPackagesLeft(ctx.userId),
      'privacy:outbox_messages': await outboxMessagesLeft(ctx.userId),
    };
    await tx.insert(erasureRuns).values({
      requestId: ctx.requestId,
      userId: ctx.userId,
      startedAt: at,
      keyVersion: facts.key?.version ?? null,
      masterKeyId: facts.key?.masterKeyId ?? null,
      emailIndex: facts.emailIndex,
    });
    await tx.insert(erasureTallies).values(
      (Object.keys(before) as Part[]).map((part) => ({
        requestId: ctx.requestId,
        tableName: part,
        rowsBefore: before[part],
      })),
    );
    const index = keyRing().index;
    await tx
      .insert(erasureTombstones)
      .values({
        idHash: idTombstone(index, ctx.userId),
        emailHash: emailTombstone(index, facts.emailIndex),
        indexKeyId: index.id,
        requestId: ctx.requestId,
        erasedAt: at,
      })
      .onConflictDoNothing();
    const total = Object.values(before).reduce((a, b) => a + b, 0);
    await ctx.progress('planned', 0, total, tx);
  });
}

/**
 * One batch transaction: the hold checked, each part's work done and its rows counted, progress
 * reported (under the last part's step).
 */
async function batch(ctx: WorkContext, works: [Part, (tx: Tx) => Promise<number>][]) {
  return getDb().transaction(async (tx) => {
    // A hold set while the run goes stops it at the next batch.
    await refuseIfHeld(ctx.userId, tx);
    const removed: { part: Part; rows: number }[] = [];
    for (const [part, work] of works) removed.push({ part, rows: await work(tx) });
    const t = await countRemoved(tx, ctx.requestId, removed);
    await ctx.progress(STEP_OF[works.at(-1)![0]], t.done, t.total, tx);
    return removed.reduce((a, r) => a + r.rows, 0);
  });
}

/**
 * Empties one product table of the user: reads the addresses of their rows and deletes them in
 * batch transactions. The last batch deletes every row of the user left in the table, by their
 * id rather than by address, so rows the product added since the read go with it and nothing is
 * left to read again for (the final check still looks); a table holding no more than one batch
 * of the user's rows is one such delete.
 */
async function eraseTable(
  ctx: WorkContext,
  table: ErasableTable,
  work: (tx: Tx, batch: RowBatch) => Promise<number>,
) {
  const batches = await userRowBatches(table, ctx.userId, erasureBatchSize());
  for (const [i, addresses] of batches.entries()) {
    const rows: RowBatch = i === batches.length - 1 ? 'all' : { addresses };
    await batch(ctx, [[table, (tx) => work(tx, rows)]]);
  }
}

function retainedUntil(createdAt: Date): string {
  const until = new Date(createdAt);
  until.setUTCFullYear(until.getUTCFullYear() + taxRetentionYears());
  return until.toISOString().slice(0, 10);
}

/** Deletes one batch of the user's rows from one product table (not the account); the count. */
function eraseRows(ctx: WorkContext, table: Exclude<ErasableTable, 'product.users'>) {
  return async (tx: Tx, rows: RowBatch): Promise<number> => {
    if (table === 'product.payment_references') {
      const taken = await takePaymentReferences(tx, ctx.userId, rows);
      if (taken.length) {
        await tx
          .insert(erasureRetainedPayments)
          .values(
            taken.map((p) => ({
              id: p.id,
              requestId: ctx.requestId,
              provider: p.provider,
              customerToken: p.customerToken,
              createdAt: p.createdAt,
              retainedUntil: retainedUntil(p.createdAt),
              reason: TAX_RULE,
            })),
          )
          .onConflictDoNothing();
      }
      return taken.length;
    }
    const n = await deleteUserRows(tx, table, ctx.userId, rows);
    if (table === 'product.user_keys' && n > 0) {
      await tx
        .update(erasureRuns)
        .set({ keyDestroyedAt: now() })
        .where(eq(erasureRuns.requestId, ctx.requestId));
    }
    return n;
  };
}

/**
 * Steps 2 to 5. The tables holding no more than one batch of the user's rows go together in the
 * first batch transaction, the key first (so the key is destroyed at the first commit, before any
 * other table's batch); each larger table then goes in its own batches; the console's copies and
 * the account row, last, go in the final batch. Every part is counted in the transaction that
 * removes it, so a run resumed at any point counts each row once.
 */
async function removeEverything(ctx: WorkContext) {
  const size = erasureBatchSize();
  const counts = await countUserRows(ctx.userId);
  const tables = ERASABLE_TABLES.filter((t) => t !== 'product.users');
  const small = tables.filter((t) => counts[t] > 0 && counts[t] <= size);
  if (small.length) {
    await step('small tables', () =>
      batch(
        ctx,
        small.map((table) => [table, (tx) => eraseRows(ctx, table)(tx, 'all')]),
      ),
    );
  }
  for (const table of tables) {
    if (counts[table] > size)
      await step(table, () => eraseTable(ctx, table, eraseRows(ctx, table)));
  }
  await step('console and account', () =>
    batch(ctx, [
      ['analytics:contributions', (tx) => purgeUserContributions(tx, ctx.userId)],
      [
        'privacy:request_details',
        async (tx) => {
          const rows = await tx
            .update(privacyRequests)
            .set({ detailsEnc: null })
            .where(
              and(eq(privacyRequests.userId, ctx.userId), isNotNull(privacyRequests.detailsEnc)),
            )
            .returning({ id: privacyRequests.id });
          return rows.length;
        },
      ],
      ['privacy:export_packages', (tx) => eraseExportPackages(tx, ctx.userId)],
      ['privacy:outbox_messages', (tx) => eraseOutboxMessages(tx, ctx.userId)],
      ['product.users', (tx) => deleteUserRows(tx, 'product.users', ctx.userId, 'all')],
    ]),
  );
}

/** A found row of the user that should not be there, by table or read path. */
export interface Leftover {
  where: string;
  rows: number;
}

/**
 * Step 6: re-reads every product table that names users (from the database's catalogue) and every
 * read path of the user, and returns what it still finds. Only what was kept may remain, and it
 * does not live in these places.
 */
export async function findLeftovers(
  userId: string,
  emailIndex: Buffer | null,
): Promise<{ found: Leftover[]; tablesChecked: string[] }> {
  const found: Leftover[] = [];
  const tables = await rowsLeftOfUser(userId, emailIndex);
  for (const [table, rows] of Object.entries(tables))
    if (rows > 0) found.push({ where: table, rows });
  const paths: [string, () => Promise<number>][] = [
    ['users.readProfile', async () => ((await readProfile(userId)) ? 1 : 0)],
    ['users.userFacts', async () => ((await userFacts(userId)) ? 1 : 0)],
    [
      'users.readRevealedField(email)',
      async () => ((await readRevealedField(userId, 'email')) ? 1 : 0),
    ],
    ['users.readConversations', async () => (await readConversations(userId)).rows.length],
    ['users.readPayments', async () => (await readPayments(userId)).length],
    [
      'users.readUsage',
      async () => {
        const usage = await readUsage(userId);
        return usage.rows.length + usage.totals.length;
      },
    ],
    [
      'users.readPreferences',
      async () => {
        const prefs = await readPreferences(userId);
        return prefs.current.length + prefs.changes.length;
      },
    ],
    ['analytics.contributions', () => userContributionsLeft(userId)],
    [
      'privacy.requestDetails',
      () =>
        getDb().$count(
          privacyRequests,
          and(eq(privacyRequests.userId, userId), isNotNull(privacyRequests.detailsEnc)),
        ),
    ],
    ['privacy.exportPackages', () => exportPackagesLeft(userId)],
    ['privacy.outboxMessages', () => outboxMessagesLeft(userId)],
  ];
  for (const [where, read] of paths) {
    const rows = await read();
    if (rows > 0) found.push({ where, rows });
  }
  return { found, tablesChecked: Object.keys(tables) };
}

export const READ_PATHS_CHECKED = [
  'users.readProfile',
  'users.userFacts',
  'users.readRevealedField(email)',
  'users.readConversations',
  'users.readPayments',
  'users.readUsage',
  'users.readPreferences',
  'users.lookup (by id and by the email’s blind index)',
  'analytics.contributions',
  'privacy.requestDetails',
  'privacy.exportPackages',
  'privacy.outboxMessages',
] as const;

export interface CertificateBody {
  certificate: 'custodian-erasure/v1';
  log: string;
  requestId: string;
  /** The erased user's id: a pseudonym whose data is gone, kept where the law wants a record. */
  userId: string;
  startedAt: string;
  keyDestroyedAt: string | null;
  issuedAt: string;
  key: {
    table: 'product.user_keys';
    destroyed: boolean;
    keyVersion: number | null;
    masterKeyId: string | null;
  };
  tables: { table: string; rowsBefore: number; rowsRemoved: number; rowsLeft: number }[];
  kept: { what: string; rows?: number; retainedUntil?: string; reason: string }[];
  tombstone: { idHash: string; emailHash: string | null; indexKeyId: string };
  check: { tablesChecked: string[]; readPathsChecked: string[]; found: Leftover[] };
}

const NOTE_HEADER = 'Custodian erasure certificate\n';

/** Steps 6 and 7. */
async function certify(ctx: WorkContext) {
  const [run] = await getDb()
    .select()
    .from(erasureRuns)
    .where(eq(erasureRuns.requestId, ctx.requestId));
  if (!run) throw new Error('The erasure has no plan');
  const { found, tablesChecked } = await step('check', () =>
    findLeftovers(ctx.userId, run.emailIndex),
  );
  if (found.length) {
    throw new Error(
      `The check found data of the user left: ${found.map((f) => `${f.where} (${f.rows})`).join(', ')}`,
    );
  }
  const counts = await getDb()
    .select()
    .from(erasureTallies)
    .where(eq(erasureTallies.requestId, ctx.requestId))
    .orderBy(erasureTallies.tableName);
  const [retained] = await getDb()
    .select({
      rows: sql<number>`count(*)::int`,
      until: sql<string | null>`max(${erasureRetainedPayments.retainedUntil})::text`,
    })
    .from(erasureRetainedPayments)
    .where(eq(erasureRetainedPayments.requestId, ctx.requestId));
  const [tomb] = await getDb()
    .select()
    .from(erasureTombstones)
    .where(eq(erasureTombstones.idHash, idTombstone(keyRing().index, ctx.userId)));
  const keys = auditKeys();
  const issuedAt = now();
  const keyTally = counts.find((c) => c.tableName === 'product.user_keys');
  const body: CertificateBody = {
    certificate: 'custodian-erasure/v1',
    log: keys.origin,
    requestId: ctx.requestId,
    userId: ctx.userId,
    startedAt: run.startedAt.toISOString(),
    keyDestroyedAt: run.keyDestroyedAt?.toISOString() ?? null,
    issuedAt: issuedAt.toISOString(),
    key: {
      table: 'product.user_keys',
      destroyed: (keyTally?.rowsRemoved ?? 0) > 0,
      keyVersion: run.keyVersion,
      masterKeyId: run.masterKeyId,
    },
    tables: counts.map((c) => ({
      table: c.tableName,
      rowsBefore: c.rowsBefore,
      rowsRemoved: c.rowsRemoved,
      rowsLeft: 0,
    })),
    kept: [
      {
        what: 'retained payment references, without card fields (console schema)',
        rows: retained?.rows ?? 0,
        ...(retained?.until ? { retainedUntil: retained.until } : {}),
        reason: TAX_RULE,
      },
      ...KEPT_RECORDS.map((k) => ({ what: k.what, reason: k.reason })),
    ],
    tombstone: {
      idHash: tomb?.idHash.toString('hex') ?? '',
      emailHash: tomb?.emailHash?.toString('hex') ?? null,
      indexKeyId: tomb?.indexKeyId ?? keyRing().index.id,
    },
    check: { tablesChecked, readPathsChecked: [...READ_PATHS_CHECKED], found: [] },
  };
  const note = signNote(`${NOTE_HEADER}${JSON.stringify(body, null, 2)}\n`, keys.signer);
  const sha256 = createHash('sha256').update(note, 'utf8').digest();
  const rowsRemoved = counts.reduce((a, c) => a + c.rowsRemoved, 0);
  await getDb().transaction(async (tx) => {
    await tx
      .insert(erasureCertificates)
      .values({ requestId: ctx.requestId, note, sha256, issuedAt });
    await tx
      .update(erasureRuns)
      .set({ finishedAt: issuedAt, emailIndex: null })
      .where(eq(erasureRuns.requestId, ctx.requestId));
    await recordAudit(
      ctx.actor,
      {
        action: 'privacy.erasure_certificate',
        outcome: 'allowed',
        userId: ctx.userId,
        privacyRequestId: ctx.requestId,
        details: {
          sha256: sha256.toString('hex'),
          rowsRemoved,
          rowsKept: retained?.rows ?? 0,
          keyDestroyed: body.key.destroyed,
        },
      },
      tx,
    );
    const t = await tallies(tx, ctx.requestId);
    await ctx.progress('certified', t.total, t.total, tx);
    await moveRequest(ctx.requestId, { kind: 'complete' }, ctx.actor, { tx });
  });
}

/**
 * Erases the request's user: safe to run again from the start after a crash at any point (see
 * the steps above). Fails, with the hold's reason, while the user is under a legal hold.
 */
export async function carryOutErasure(ctx: WorkContext): Promise<void> {
  await refuseIfHeld(ctx.userId);
  await step('plan', () => plan(ctx));
  await removeEverything(ctx);
  await step('certificate', () => certify(ctx));
}

// --- reading -------------------------------------------------------------------------------------

export interface ErasureManifest {
  tables: { table: string; rowsBefore: number; rowsRemoved: number }[];
  retainedPayments: number;
  keyDestroyedAt: Date | null;
  certificate: { sha256: string; issuedAt: Date } | null;
}

/** What the request page shows of an erasure: counts, never contents. Null before it ran. */
export async function erasureManifest(requestId: string): Promise<ErasureManifest | null> {
  if (!z.uuid().safeParse(requestId).success) return null;
  const [run] = await getDb()
    .select({ keyDestroyedAt: erasureRuns.keyDestroyedAt })
    .from(erasureRuns)
    .where(eq(erasureRuns.requestId, requestId));
  if (!run) return null;
  const [tables, retained, certificate] = await Promise.all([
    getDb()
      .select({
        table: erasureTallies.tableName,
        rowsBefore: erasureTallies.rowsBefore,
        rowsRemoved: erasureTallies.rowsRemoved,
      })
      .from(erasureTallies)
      .where(eq(erasureTallies.requestId, requestId))
      .orderBy(erasureTallies.tableName),
    getDb().$count(erasureRetainedPayments, eq(erasureRetainedPayments.requestId, requestId)),
    getDb()
      .select({ sha256: erasureCertificates.sha256, issuedAt: erasureCertificates.issuedAt })
      .from(erasureCertificates)
      .where(eq(erasureCertificates.requestId, requestId)),
  ]);
  return {
    tables,
    retainedPayments: retained,
    keyDestroyedAt: run.keyDestroyedAt,
    certificate: certificate[0]
      ? { sha256: certificate[0].sha256.toString('hex'), issuedAt: certificate[0].issuedAt }
      : null,
  };
}

/** The signed certificate of a completed erasure, its download audited; NotFoundError before. */
export async function downloadCertificate(
  requestId: string,
  actor: Actor,
): Promise<{ note: string; sha256: string }> {
  if (!z.uuid().safeParse(requestId).success) throw new NotFoundError('No such privacy request');
  if (actor.kind === 'staff' && !actor.permissions.has('privacy:process')) {
    throw new NotFoundError('No such privacy request');
  }
  return getDb().transaction(async (tx) => {
    const [row] = await tx
      .select({
        note: erasureCertificates.note,
        sha256: erasureCertificates.sha256,
        userId: privacyRequests.userId,
      })
      .from(erasureCertificates)
      .innerJoin(privacyRequests, eq(privacyRequests.id, erasureCertificates.requestId))
      .where(eq(erasureCertificates.requestId, requestId));
    if (!row) throw new NotFoundError('This request has no erasure certificate');
    await recordAudit(
      actor,
      {
        action: 'privacy.download',
        outcome: 'allowed',
        userId: row.userId,
        privacyRequestId: requestId,
        details: { artifact: 'erasure_certificate' },
      },
      tx,
    );
    return { note: row.note, sha256: row.sha256.toString('hex') };
  });
}

/**
 * Verifies a certificate against the log's verifier key(s) (`npx custodian audit key`), and
 * returns what it certifies. Throws a NoteError when no trusted key signed it.
 */
export function verifyCertificate(
  note: string,
  verifierKeys: readonly (string | TrustedKey)[],
): CertificateBody {
  const opened = openNote(note, verifierKeys);
  if (!opened.text.startsWith(NOTE_HEADER)) throw new Error('Not an erasure certificate');
  return JSON.parse(opened.text.slice(NOTE_HEADER.length)) as CertificateBody;
}
