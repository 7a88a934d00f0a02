import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { closeDb, getDb, type Tx } from '#app/db/client.server.ts';
import { commandLine, job } from '#app/modules/actor.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { createStaff } from '#app/modules/auth/staff.server.ts';
import { setKeyRing, versioned, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { erasureBatchSize, erasureSteps } from '#app/modules/privacy/erasure.server.ts';
import { createRequest, getRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import {
  countUserRows,
  deleteUserRows,
  ERASABLE_TABLES,
  takePaymentReferences,
  userRowBatches,
  type RowBatch,
} from '#app/modules/users/erasure.server.ts';
import { log } from './support/database.ts';
import { benchScratch } from './support/scratch.ts';

// Erasure against its raw limit (issue 12's performance section). `measureErasure()` takes two
// users with the same rows (bench/privacy.ts passes the user it exported and the one whose export
// it measured for memory, both with 100,000 messages; run alone, this file seeds two with 100,000,
// --quick 10,000, and prints one JSON line):
// - `erase_s`: the first is erased through the real job path — a request from the product,
//   proposed and approved by two officers, started, carried out by runWork() in its batch
//   transactions with the tallies, the lease, the check and the signed certificate;
// - `delete_s`: the second's rows go in one plain `DELETE` per table, in one transaction: the
//   product tables and the console's copies (its export package, its outbox messages);
// - where the erasure's time goes, from the run itself (`erase_steps`, seconds): the plan and
//   tombstone, the batch of the tables with at most one batch of rows (the key among them), each
//   larger table's counted batches, the console's copies with the account, the final check, and
//   the certificate's transaction (signature, audit entry, completion); `erase_fixed_s` is all
//   but the larger tables' batches;
// - the floor of batching (`batches_s`): a third user's product rows (the same rows again, when
//   given) deleted in the erasure's own batches, one short transaction each, by the same delete
//   statements, with nothing else — no tallies, hold check, progress or lease.

export interface ErasureFigures {
  erase_s: number;
  delete_s: number;
  erase_ratio: number;
  /** Per step of the erasure's run, in seconds. */
  erase_steps: Record<string, number>;
  /**
   * The run less the batches of the tables larger than one batch: the part that does not grow
   * with the rows (plan, the small tables' batch, the console's copies and the account, the
   * check, the certificate).
   */
  erase_fixed_s: number;
  batches_s?: number;
  batches_ratio?: number;
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(3));

/** The user's rows in one plain DELETE per table, in one transaction. */
async function plainDelete(owner: postgres.Sql, userId: string): Promise<number> {
  const started = performance.now();
  await owner.begin(async (tx) => {
    for (const table of ERASABLE_TABLES) {
      if (table === 'product.users') continue;
      const [schema, name] = table.split('.') as [string, string];
      await tx`delete from ${tx(schema)}.${tx(name)} where user_id = ${userId}`;
    }
    await tx`delete from console.export_packages where user_id = ${userId}`;
    await tx`delete from console.user_outbox where user_id = ${userId}`;
    await tx`delete from product.users where id = ${userId}`;
  });
  return performance.now() - started;
}

/**
 * The user's product rows in the erasure's batches, each its own transaction, and nothing else:
 * the tables with at most one batch of rows together, each larger table in batches by address
 * (its last batch by the user's id), the account row last.
 */
async function batchesAlone(userId: string): Promise<number> {
  const started = performance.now();
  const size = erasureBatchSize();
  const counts = await countUserRows(userId);
  const tables = ERASABLE_TABLES.filter((t) => t !== 'product.users');
  const remove = (tx: Tx, table: (typeof tables)[number], rows: RowBatch) =>
    table === 'product.payment_references'
      ? takePaymentReferences(tx, userId, rows)
      : deleteUserRows(tx, table, userId, rows);
  const inBatch = (work: (tx: Tx) => Promise<unknown>) =>
    getDb().transaction(async (tx) => {
      await tx.execute(sql`set local synchronous_commit = off`);
      await work(tx);
    });
  await inBatch(async (tx) => {
    for (const table of tables) {
      if (counts[table] > 0 && counts[table] <= size) await remove(tx, table, 'all');
    }
  });
  for (const table of tables) {
    if (counts[table] <= size) continue;
    const batches = await userRowBatches(table, userId, size);
    for (const [i, addresses] of batches.entries()) {
      await inBatch((tx) => remove(tx, table, i === batches.length - 1 ? 'all' : { addresses }));
    }
  }
  await inBatch((tx) => deleteUserRows(tx, 'product.users', userId, 'all'));
  return performance.now() - started;
}

/** Two privacy officers, for the four eyes of an erasure. */
async function officers() {
  return Promise.all(
    [1, 2].map(async (n) => {
      const { id } = await createStaff(
        {
          email: `bench-officer-${n}-${randomBytes(4).toString('hex')}@staff.test`,
          displayName: `Bench officer ${n}`,
          password: randomBytes(18).toString('base64url'),
          roles: ['privacy_officer'],
          mustChangePassword: false,
        },
        commandLine('bench'),
      );
      return staffActor(id);
    }),
  );
}

/**
 * Erases `erased` through the job and deletes `deleted` plainly (two users with the same rows),
 * and deletes `batched` (the same rows again) in the erasure's batches alone, when given. The
 * database at `ownerUrl` is migrated, DATABASE_URL is the app's login on it, the key ring loaded.
 */
export async function measureErasure(options: {
  ownerUrl: string;
  erased: string;
  deleted: string;
  batched?: string;
}): Promise<ErasureFigures> {
  const owner = postgres(options.ownerUrl, { max: 1, onnotice: () => {} });
  const steps: Record<string, number> = {};
  const listen = (message: unknown) => {
    const { step, ms } = message as { step: string; ms: number };
    steps[step] = (steps[step] ?? 0) + ms;
  };
  try {
    await owner`select 1`; // connected before the clock starts
    const [a, b] = await officers();
    const { id } = await createRequest(
      { userId: options.erased, type: 'erasure' },
      job('api: bench'),
    );
    await moveRequest(id, { kind: 'propose', proposal: 'erasure', note: 'bench' }, a!);
    await moveRequest(id, { kind: 'approve' }, b!);
    await moveRequest(id, { kind: 'start' }, a!);

    log('bench erasure: erasing the first user through the job…');
    diagnostics.subscribe(erasureSteps.name, listen);
    const started = performance.now();
    const outcome = await runWork(id);
    const eraseMs = performance.now() - started;
    diagnostics.unsubscribe(erasureSteps.name, listen);
    if (outcome !== 'done') {
      const { events } = await getRequest(id);
      throw new Error(`bench: the erasure ended ${outcome}: ${events.at(-1)?.note ?? ''}`);
    }

    log('bench erasure: deleting the second with plain DELETEs…');
    const deleteMs = await plainDelete(owner, options.deleted);

    if (options.batched) log('bench erasure: the third in the erasure’s batches alone…');
    const batchesMs = options.batched ? await batchesAlone(options.batched) : undefined;

    // The certificate step includes the check: shown apart.
    const certificate = (steps.certificate ?? 0) - (steps.check ?? 0);
    const erase_steps: Record<string, number> = {};
    for (const [step, ms] of Object.entries({ ...steps, certificate })) {
      erase_steps[step.replace(/^product\./, '')] = seconds(ms);
    }
    const tableMs = ERASABLE_TABLES.reduce((sum, t) => sum + (steps[t] ?? 0), 0);
    return {
      erase_s: seconds(eraseMs),
      delete_s: seconds(deleteMs),
      erase_ratio: Number((eraseMs / deleteMs).toFixed(2)),
      erase_steps,
      erase_fixed_s: seconds(eraseMs - tableMs),
      ...(batchesMs === undefined
        ? {}
        : {
            batches_s: seconds(batchesMs),
            batches_ratio: Number((batchesMs / deleteMs).toFixed(2)),
          }),
    };
  } finally {
    diagnostics.unsubscribe(erasureSteps.name, listen);
    await owner.end();
  }
}

/** Seeds `count` users and gives each the same `messages` messages; their ids. */
async function seedUsers(ownerUrl: string, ring: KeyRing, count: number, messages: number) {
  await seedProductData(ownerUrl, ring, {
    users: count,
    messagesPerUser: 5,
    eventsPerUser: 20,
    seed: 11,
    append: false,
    workers: 0,
  });
  const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    const ids = (await owner<{ id: string }[]>`select id from product.users order by id`).map(
      (r) => r.id,
    );
    log(`bench erasure: giving ${count} users ${messages.toLocaleString('en')} messages each…`);
    for (const userId of ids) {
      // Spread over the user's conversations, with ciphertext-sized contents.
      await owner`
        insert into product.messages
          (id, user_id, conversation_id, role, content_enc, token_count, created_at)
        select gen_random_uuid(), ${userId}, c.ids[1 + g % cardinality(c.ids)],
               (array['user', 'assistant']::product.message_role[])[1 + g % 2],
               decode(repeat(md5(g::text), 6), 'hex'), 40, now() - make_interval(secs => g)
        from generate_series(1, ${messages}) g,
             (select array_agg(id) as ids from product.conversations where user_id = ${userId}) c`;
    }
    await owner`vacuum analyze product.messages`;
    return ids;
  } finally {
    await owner.end();
  }
}

async function main() {
  const quick = process.argv.includes('--quick');
  const messages = quick ? 10_000 : 100_000;
  const scratch = await benchScratch('erase', closeDb);
  try {
    process.env.DATABASE_URL = scratch.appUrl;
    const ring: KeyRing = {
      master: versioned(randomBytes(32)),
      previousMasters: [],
      index: versioned(randomBytes(32)),
    };
    setKeyRing(ring);
    const [erased, deleted, batched] = await seedUsers(scratch.ownerUrl, ring, 3, messages);
    const figures = await measureErasure({
      ownerUrl: scratch.ownerUrl,
      erased: erased!,
      deleted: deleted!,
      batched: batched!,
    });
    process.stdout.write(`${JSON.stringify({ bench: 'privacy-erase', messages, ...figures })}\n`);
  } finally {
    await scratch.cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
