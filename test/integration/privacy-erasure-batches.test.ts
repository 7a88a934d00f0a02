import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { resetEnvForTests } from '#app/config.server.ts';
import { getDb } from '#app/db/client.server.ts';
import { job } from '#app/modules/actor.ts';
import { verifierKeyFor } from '#app/modules/audit/note.ts';
import { auditKeys } from '#app/modules/audit/runs.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { erasureSteps, verifyCertificate } from '#app/modules/privacy/erasure.server.ts';
import { createRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import {
  deleteUserRows,
  takePaymentReferences,
  userRowBatches,
} from '#app/modules/users/erasure.server.ts';
import { ownerUrl, testKeyRing, useTestDatabase } from '../support/db.ts';
import { createStaffWithRoles, type TestStaff } from '../support/http.ts';
import { ownerConnection } from './users-fixtures.ts';

// How an erasure cuts its work into batches (bench/privacy-erase.ts measures it): the user's row
// addresses read once and cut into batches; a delete by addresses removes only the user's rows
// there, counts them in the database and leaves the planner as it found it; the last batch of a
// table takes every row of the user left, added since the read or not; the tables holding at most
// one batch go together, and every row is counted once in the certificate.

const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-erasure-batches-'));
process.env.CUSTODIAN_DATA_DIR = DATA_DIR;
resetEnvForTests();

useTestDatabase();

let owner: postgres.Sql;
let userIds: string[];
let officer: TestStaff;
let officer2: TestStaff;

beforeAll(async () => {
  await seedProductData(ownerUrl(), testKeyRing, {
    users: 6,
    messagesPerUser: 5,
    eventsPerUser: 5,
    seed: 3,
    append: false,
    workers: 0,
  });
  owner = ownerConnection();
  userIds = (await owner<{ id: string }[]>`select id from product.users order by id`).map(
    (r) => r.id,
  );
  officer = await createStaffWithRoles(['privacy_officer']);
  officer2 = await createStaffWithRoles(['privacy_officer']);
});

afterAll(async () => {
  delete process.env.CUSTODIAN_ERASURE_BATCH;
  await owner?.end();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

async function addMessages(userId: string, n: number) {
  await owner`
    insert into product.messages (id, user_id, conversation_id, role, content_enc, token_count, created_at)
    select gen_random_uuid(), ${userId}, gen_random_uuid(), 'user', '\\x00'::bytea, 1, now()
    from generate_series(1, ${n})`;
}

async function addressesOf(userId: string): Promise<string[]> {
  const rows = await owner<{ a: string }[]>`
    select ctid::text as a from product.messages where user_id = ${userId} order by ctid`;
  return rows.map((r) => r.a);
}

async function messagesOf(userId: string): Promise<number> {
  const [row] = await owner<{ n: number }[]>`
    select count(*)::int as n from product.messages where user_id = ${userId}`;
  return row!.n;
}

describe('the batches of one table', () => {
  test('the user’s addresses, each once, in batches of at most the size; none of another user', async () => {
    const [user] = userIds;
    await addMessages(user!, 7);
    const mine = await addressesOf(user!);
    expect(mine.length).toBeGreaterThan(10);
    const batches = await userRowBatches('product.messages', user!, 5);
    const sizes = batches.map((b) => b.split(' ').length);
    expect(sizes).toHaveLength(Math.ceil(mine.length / 5));
    expect(sizes.slice(0, -1).every((n) => n === 5)).toBe(true);
    expect(batches.flatMap((b) => b.split(' ')).sort()).toEqual([...mine].sort());
    expect(await userRowBatches('product.messages', user!, mine.length)).toHaveLength(1);
    expect(
      await userRowBatches('product.messages', '00000000-0000-4000-8000-000000000000', 5),
    ).toEqual([]);
  });

  test('a delete by addresses takes only the user’s rows there, counts them, and restores the planner', async () => {
    const [, user, other] = userIds;
    const mine = await addressesOf(user!);
    const theirs = await addressesOf(other!);
    const addresses = [...mine.slice(0, 3), theirs[0]!].join(' ');
    const outcome = await getDb().transaction(async (tx) => {
      const n = await deleteUserRows(tx, 'product.messages', user!, { addresses });
      const [settings] = await tx.execute<{ i: string; b: string; s: string }>(sql`
        select current_setting('enable_indexscan') as i, current_setting('enable_bitmapscan') as b,
               current_setting('enable_seqscan') as s`);
      return { n, settings };
    });
    expect(outcome.n).toBe(3);
    expect(outcome.settings).toEqual({ i: 'on', b: 'on', s: 'on' });
    expect(await messagesOf(user!)).toBe(mine.length - 3);
    expect(await messagesOf(other!)).toBe(theirs.length);
    // A malformed address list is refused before it reaches the database.
    await expect(
      getDb().transaction((tx) =>
        deleteUserRows(tx, 'product.messages', user!, { addresses: '(1,1); drop table x' }),
      ),
    ).rejects.toThrow(/row addresses/);
  });

  test('the last batch takes every row of the user left, added since the read or not', async () => {
    const [, user] = userIds;
    const batches = await userRowBatches('product.messages', user!, 100);
    expect(batches).toHaveLength(1);
    await addMessages(user!, 4);
    const left = await messagesOf(user!);
    const n = await getDb().transaction((tx) =>
      deleteUserRows(tx, 'product.messages', user!, 'all'),
    );
    expect(n).toBe(left);
    expect(await messagesOf(user!)).toBe(0);
  });

  test('payment references taken by addresses come back for the tax record, and an empty batch restores the planner', async () => {
    const [, , , user, other2] = userIds;
    for (const [who, n] of [
      [user!, 3],
      [other2!, 1],
    ] as const) {
      await owner`
        insert into product.payment_references
          (id, user_id, provider, customer_token, card_brand, last4, exp_month, exp_year, created_at)
        select gen_random_uuid(), ${who}, 'stripe', 'cus_test', 'visa', '4242', 12, 2030, now()
        from generate_series(1, ${n})`;
    }
    const refs = await owner<{ a: string; id: string }[]>`
      select ctid::text as a, id from product.payment_references where user_id = ${user!}`;
    const [other] = await owner<{ a: string }[]>`
      select ctid::text as a from product.payment_references where user_id <> ${user!} limit 1`;
    const outcome = await getDb().transaction(async (tx) => {
      // Another user's address only: nothing taken, and the planner is still restored.
      const none = await takePaymentReferences(tx, user!, { addresses: other!.a });
      const taken = await takePaymentReferences(tx, user!, {
        addresses: refs.map((r) => r.a).join(' '),
      });
      const [s] = await tx.execute<{ i: string }>(
        sql`select current_setting('enable_indexscan') as i`,
      );
      return { none, taken, indexscan: s!.i };
    });
    expect(outcome.none).toEqual([]);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    expect(outcome.indexscan).toBe('on');
    expect(outcome.taken.map((t) => t.id).sort()).toEqual(refs.map((r) => r.id).sort());
    for (const t of outcome.taken) expect(t.createdAt).toBeInstanceOf(Date);
  });
});

describe('an erasure in batches', () => {
  test('small tables together, a larger one in batches: every row counted once, steps published', async () => {
    const user = userIds[4]!;
    await addMessages(user, 11);
    const [before] = await owner<{ messages: number; events: number }[]>`
      select (select count(*) from product.messages where user_id = ${user})::int as messages,
             (select count(*) from product.usage_events where user_id = ${user})::int as events`;
    // Batches of 4: the messages are a larger table; most others hold fewer rows of the user.
    process.env.CUSTODIAN_ERASURE_BATCH = '4';
    const steps: string[] = [];
    const listen = (message: unknown) => steps.push((message as { step: string }).step);
    diagnostics.subscribe(erasureSteps.name, listen);
    try {
      const { id } = await createRequest({ userId: user, type: 'erasure' }, job('api: product'));
      await moveRequest(
        id,
        { kind: 'propose', proposal: 'erasure', note: 'test' },
        await staffActor(officer.id),
      );
      await moveRequest(id, { kind: 'approve' }, await staffActor(officer2.id));
      await moveRequest(id, { kind: 'start' }, await staffActor(officer.id));
      expect(await runWork(id)).toBe('done');
      const [cert] = await owner<{ note: string }[]>`
        select note from console.erasure_certificates where request_id = ${id}`;
      const body = verifyCertificate(cert!.note, [verifierKeyFor(auditKeys().signer)]);
      expect(body.tables.find((t) => t.table === 'product.messages')).toMatchObject({
        rowsBefore: before!.messages,
        rowsRemoved: before!.messages,
      });
      expect(body.tables.find((t) => t.table === 'product.usage_events')).toMatchObject({
        rowsBefore: before!.events,
        rowsRemoved: before!.events,
      });
      expect(body.tables.find((t) => t.table === 'product.user_keys')).toMatchObject({
        rowsBefore: 1,
        rowsRemoved: 1,
      });
      expect(body.key.destroyed).toBe(true);
      expect(body.check.found).toEqual([]);
    } finally {
      diagnostics.unsubscribe(erasureSteps.name, listen);
      delete process.env.CUSTODIAN_ERASURE_BATCH;
    }
    // Which tables are larger than a batch depends on the seed: each comes between, in its order.
    expect(steps.slice(0, 2)).toEqual(['plan', 'small tables']);
    expect(steps.slice(-3)).toEqual(['console and account', 'check', 'certificate']);
    const larger = steps.slice(2, -3);
    expect(larger).toContain('product.messages');
    expect(larger.every((t) => t.startsWith('product.') && t !== 'product.users')).toBe(true);
    expect(await messagesOf(user)).toBe(0);
  });
});
