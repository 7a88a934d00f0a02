import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { resetEnvForTests } from '#app/config.server.ts';
import { getSql } from '#app/db/client.server.ts';
import { job } from '#app/modules/actor.ts';
import { verifierKeyFor } from '#app/modules/audit/note.ts';
import { auditKeys } from '#app/modules/audit/runs.server.ts';
import {
  checkpointIfDue,
  sequenceBatch,
  sequencerConnection,
} from '#app/modules/audit/sequencer.server.ts';
import { verifyAuditLog } from '#app/modules/audit/verify.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { emailBlindIndex } from '#app/modules/crypto/envelope.server.ts';
import {
  findLeftovers,
  isErased,
  verifyCertificate,
  type CertificateBody,
} from '#app/modules/privacy/erasure.server.ts';
import { liftLegalHold, setLegalHold } from '#app/modules/privacy/holds.server.ts';
import { createRequest, getRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { seedProductData, SeedRefusedError } from '#app/modules/seed/seed.server.ts';
import { ERASABLE_TABLES, productTablesNamingUsers } from '#app/modules/users/erasure.server.ts';
import { lookupUser } from '#app/modules/users/lookup.server.ts';
import { ConflictError, GoneError } from '#app/utils/errors.ts';
import { readAudit } from '../support/audit.ts';
import { ownerUrl, sequencerUrl, testKeyRing, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { insertGrant, ownerConnection, plainUsers, type PlainUser } from './users-fixtures.ts';

// Erasure end to end (ADR 026): a request from the product, proposed and approved by two
// officers, carried out by the privacy.work job; then every page that reads the user answers
// gone, the lookup finds nobody, a re-seed is refused, the certificate verifies with the log's key
// and the trail verifies. A legal hold blocks it; a worker killed mid-way leaves a run that the
// next worker finishes, counting every row exactly once.

const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-erasure-'));
process.env.CUSTODIAN_DATA_DIR = DATA_DIR;
resetEnvForTests();

useTestDatabase();
const PRODUCT = job('api: product');
const SEED = {
  users: 30,
  messagesPerUser: 5,
  eventsPerUser: 5,
  seed: 1,
  append: false,
  workers: 0,
} as const;

let owner: postgres.Sql;
let users: PlainUser[];
let officer: TestStaff;
let officer2: TestStaff;
let agent: TestStaff;
let server: TestServer;
let officerCookie: string;
let agentCookie: string;

beforeAll(async () => {
  await seedProductData(ownerUrl(), testKeyRing, SEED);
  owner = ownerConnection();
  users = await plainUsers(owner);
  officer = await createStaffWithRoles(['privacy_officer']);
  officer2 = await createStaffWithRoles(['privacy_officer']);
  agent = await createStaffWithRoles(['support_agent']);
  server = await startTestServer();
  officerCookie = await signInAs(server.baseUrl, officer.email, officer.password);
  agentCookie = await signInAs(server.baseUrl, agent.email, agent.password);
  auditKeys(); // generated once here, before a child process reads the same file
});

afterAll(async () => {
  await server?.close();
  await owner?.end();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

const as = (s: TestStaff) =>
  staffActor(s.id, { client: { address: '127.0.0.1', userAgent: 'vitest' } });

/** An erasure from the product, proposed by one officer and approved by another. */
async function approvedErasure(userId: string): Promise<string> {
  const { id } = await createRequest({ userId, type: 'erasure' }, PRODUCT);
  await moveRequest(
    id,
    { kind: 'propose', proposal: 'erasure', note: 'Asked in the app' },
    await as(officer),
  );
  await moveRequest(id, { kind: 'approve' }, await as(officer2));
  return id;
}

async function stateOf(id: string) {
  return (await getRequest(id)).request.state;
}

/** The user's rows in every product table that names users, counted by the owner. */
async function productRows(userId: string): Promise<Record<string, number>> {
  const tables = await owner<{ name: string }[]>`
    select distinct table_name as name from information_schema.columns
    where table_schema = 'product' and (column_name = 'user_id' or table_name = 'users')
    order by 1`;
  const out: Record<string, number> = {};
  for (const { name } of tables) {
    const column = name === 'users' ? 'id' : 'user_id';
    const [row] = await owner<{ n: number }[]>`
      select count(*)::int as n from ${owner('product')}.${owner(name)}
      where ${owner(column)} = ${userId}`;
    out[`product.${name}`] = row!.n;
  }
  return out;
}

async function certificateOf(requestId: string): Promise<string> {
  const [row] = await owner<{ note: string }[]>`
    select note from console.erasure_certificates where request_id = ${requestId}`;
  return row!.note;
}

async function verifyTrail() {
  const keys = auditKeys();
  const seq = sequencerConnection(sequencerUrl(), 1);
  try {
    while ((await sequenceBatch(seq)).appended > 0);
    await checkpointIfDue(seq, {
      signer: keys.signer,
      origin: keys.origin,
      minIntervalMs: 0,
      force: true,
    });
  } finally {
    await seq.end();
  }
  return verifyAuditLog({ sql: getSql(), trusted: keys.trusted, origin: keys.origin });
}

describe('what an erasure covers', () => {
  test('every product table that names a user is one the erasure empties', async () => {
    // A new product table with a user_id column fails here until the users module erases it.
    expect(await productTablesNamingUsers()).toEqual([...ERASABLE_TABLES].sort());
  });

  test('a product table the erasure does not know fails the final check, and a retry finishes', async () => {
    const user = users[5]!;
    await owner`create table product.extra_notes (id uuid primary key, user_id uuid not null)`;
    await owner`grant select, insert, update, delete on product.extra_notes to custodian_app`;
    await owner`insert into product.extra_notes values (gen_random_uuid(), ${user.id})`;
    const id = await approvedErasure(user.id);
    await moveRequest(id, { kind: 'start' }, await as(officer));
    expect(await runWork(id)).toBe('failed');
    expect(await stateOf(id)).toBe('failed');
    const { events } = await getRequest(id);
    expect(events.at(-1)?.note).toContain('product.extra_notes (1)');
    await owner`drop table product.extra_notes`;
    await moveRequest(id, { kind: 'retry' }, await as(officer));
    expect(await runWork(id)).toBe('done');
    expect(await stateOf(id)).toBe('completed');
  });
});

describe('an erasure end to end', () => {
  let user: PlainUser;
  let requestId: string;
  let before: Record<string, number>;
  let conversationId: string;

  beforeAll(async () => {
    user = users[0]!;
    const [conv] = await owner<{ id: string }[]>`
      select id from product.conversations where user_id = ${user.id} limit 1`;
    conversationId = conv!.id;
    // Analytics has counted the user, and a support agent holds a live grant on them.
    await owner`
      insert into console.analytics_contributions
        (day, user_id, plan, country, messages, conversations, tokens)
      values ('2026-01-01', ${user.id}, 'free', 'DE', 3, 1, 100),
             ('2026-01-02', ${user.id}, 'free', 'DE', 2, 1, 50)`;
    await owner`insert into console.analytics_contributors values (${user.id}, '2026-01-02')`;
    await insertGrant(owner, {
      staffId: agent.id,
      userId: user.id,
      categories: ['profile', 'conversations', 'payments', 'usage', 'preferences'],
    });
    before = await productRows(user.id);
    expect(before['product.messages']).toBeGreaterThan(0);
    requestId = await approvedErasure(user.id);
    await moveRequest(requestId, { kind: 'start' }, await as(officer));
    expect(await runWork(requestId)).toBe('done');
  });

  test('the request is completed with its progress full, and nothing of the user is left', async () => {
    const { request } = await getRequest(requestId);
    expect(request.state).toBe('completed');
    expect(request.progressDone).toBe(request.progressTotal);
    expect(request.progressTotal).toBeGreaterThan(0);
    const after = await productRows(user.id);
    expect(Object.values(after).every((n) => n === 0)).toBe(true);
    const index = emailBlindIndex(testKeyRing.index, user.email);
    expect((await findLeftovers(user.id, index)).found).toEqual([]);
    const [analytics] = await owner<{ n: number }[]>`
      select ((select count(*) from console.analytics_contributions where user_id = ${user.id})
            + (select count(*) from console.analytics_contributors where user_id = ${user.id}))::int as n`;
    expect(analytics!.n).toBe(0);
  });

  test('payment references are kept only as tax records, with their reason and without card fields', async () => {
    const kept = await owner<{ provider: string; reason: string; retained_until: string }[]>`
      select provider, reason, retained_until::text from console.erasure_retained_payments
      where request_id = ${requestId}`;
    expect(kept).toHaveLength(before['product.payment_references']!);
    for (const k of kept) {
      expect(k.reason).toMatch(/Tax law/);
      expect(k.retained_until > '2035-01-01').toBe(true);
    }
    const columns = await owner<{ column_name: string }[]>`
      select column_name from information_schema.columns
      where table_schema = 'console' and table_name = 'erasure_retained_payments'`;
    expect(columns.map((c) => c.column_name)).not.toEqual(
      expect.arrayContaining(['last4', 'exp_month', 'exp_year', 'card_brand', 'user_id']),
    );
  });

  test('every page that reads the user answers gone, grant or not', async () => {
    for (const page of [
      `/users/${user.id}`,
      `/users/${user.id}/profile`,
      `/users/${user.id}/conversations`,
      `/users/${user.id}/payments`,
      `/users/${user.id}/usage`,
      `/users/${user.id}/preferences`,
      `/users/${user.id}/conversations/${conversationId}`,
    ]) {
      const response = await fetchAs(agentCookie, page);
      expect(response.status, page).toBe(410);
      expect(await response.text(), page).toContain('erased');
    }
    expect(await isErased(user.id)).toBe(true);
    expect(await isErased(users[29]!.id)).toBe(false);
  });

  test('the lookup finds nobody by id or by email, and a new request answers gone', async () => {
    const me = await staffActor(agent.id);
    expect((await lookupUser(me, { by: 'id', value: user.id })).kind).toBe('not_found');
    expect((await lookupUser(me, { by: 'email', value: user.email })).kind).toBe('not_found');
    await expect(createRequest({ userId: user.id, type: 'access' }, PRODUCT)).rejects.toThrow(
      GoneError,
    );
  });

  test('the certificate verifies with the log’s key, counts every row, and its hash is in the trail', async () => {
    const response = await fetchAs(officerCookie, `/privacy/${requestId}/certificate`);
    expect(response.status).toBe(200);
    const note = await response.text();
    expect(note).toBe(await certificateOf(requestId));
    const body: CertificateBody = verifyCertificate(note, [verifierKeyFor(auditKeys().signer)]);
    expect(body.requestId).toBe(requestId);
    expect(body.key.destroyed).toBe(true);
    for (const table of ERASABLE_TABLES) {
      const tally = body.tables.find((t) => t.table === table)!;
      expect(tally, table).toMatchObject({
        rowsBefore: before[table],
        rowsRemoved: before[table],
        rowsLeft: 0,
      });
    }
    expect(body.tables.find((t) => t.table === 'analytics:contributions')).toMatchObject({
      rowsBefore: 3,
      rowsRemoved: 3,
    });
    expect(body.check.found).toEqual([]);
    expect(body.check.tablesChecked).toEqual([...ERASABLE_TABLES].sort());
    expect(body.kept[0]).toMatchObject({ rows: before['product.payment_references'] });
    // Not the user's email or name anywhere in it.
    expect(note).not.toContain(user.email);
    expect(note).not.toContain(user.displayName);
    // Altered, it no longer verifies; signed by another key, it is refused.
    expect(() =>
      verifyCertificate(note.replace('"rowsRemoved": ', '"rowsRemoved": 1'), [
        verifierKeyFor(auditKeys().signer),
      ]),
    ).toThrow();
    const entries = await readAudit();
    const certified = entries.find(
      (e) =>
        e.action === 'privacy.erasure_certificate' &&
        (e as { privacyRequestId?: string }).privacyRequestId === requestId,
    );
    expect(certified?.details.sha256).toBe(createHash('sha256').update(note).digest('hex'));
    expect(response.headers.get('x-content-sha256')).toBe(certified?.details.sha256);
    expect(
      entries.some(
        (e) =>
          e.action === 'privacy.download' &&
          e.details.artifact === 'erasure_certificate' &&
          e.userId === user.id,
      ),
    ).toBe(true);
  });

  test('the request page shows counts and the certificate, and the audit trail verifies', async () => {
    const page = await fetchAs(officerCookie, `/privacy/${requestId}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('erasure-tallies');
    expect(html).toContain(`/privacy/${requestId}/certificate`);
    expect(html).not.toContain(user.email);
    const result = await verifyTrail();
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });
});

describe('legal holds', () => {
  test('a hold blocks the start with its reason; set while running, it fails the run; lifted, the erasure finishes', async () => {
    const user = users[1]!;
    const reason = 'Litigation hold, case 2026-117';
    const id = await approvedErasure(user.id);
    await setLegalHold(user.id, reason, await as(officer));
    await expect(setLegalHold(user.id, 'again', await as(officer2))).rejects.toThrow(ConflictError);
    await expect(moveRequest(id, { kind: 'start' }, await as(officer))).rejects.toThrow(reason);
    expect(await stateOf(id)).toBe('approved');
    // The page shows it, and the start form is answered with the reason.
    const html = await (await fetchAs(officerCookie, `/privacy/${id}`)).text();
    expect(html).toContain('legal-hold');
    expect(html).toContain(reason);

    await liftLegalHold(user.id, 'Case settled', await as(officer));
    await moveRequest(id, { kind: 'start' }, await as(officer));
    // A hold set after the start, before the worker runs: the run fails with the reason, and
    // nothing of the user is gone.
    const rowsBefore = await productRows(user.id);
    await setLegalHold(user.id, reason, await as(officer2));
    expect(await runWork(id)).toBe('failed');
    const { request, events } = await getRequest(id);
    expect(request.state).toBe('failed');
    expect(events.at(-1)?.note).toContain(reason);
    expect(await productRows(user.id)).toEqual(rowsBefore);
    expect(await isErased(user.id)).toBe(false);

    await liftLegalHold(user.id, 'Order withdrawn', await as(officer2));
    await moveRequest(id, { kind: 'retry' }, await as(officer));
    expect(await runWork(id)).toBe('done');
    expect(await stateOf(id)).toBe('completed');

    const holds = (await readAudit()).filter(
      (e) => e.action === 'privacy.legal_hold' && e.userId === user.id,
    );
    expect(holds.map((e) => e.details.change)).toEqual(['set', 'lift', 'set', 'lift']);
    // The reason is free text: it stays in the hold's row, never in the trail.
    expect(holds.every((e) => !e.raw.includes('Litigation'))).toBe(true);
  });

  test('only privacy officers set holds, always with a reason', async () => {
    const user = users[2]!;
    await expect(setLegalHold(user.id, 'x', await as(agent))).rejects.toThrow(/privacy:process/);
    await expect(setLegalHold(user.id, '   ', await as(officer))).rejects.toMatchObject({
      field: 'reason',
    });
    const [row] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.legal_holds where user_id = ${user.id}`;
    expect(row!.n).toBe(0);
  });
});

describe('a worker killed in the middle of an erasure', { timeout: 120_000 }, () => {
  test('the next worker finishes it: every row removed once, nothing left, the trail verifies', async () => {
    const user = users[3]!;
    const [conv] = await owner<{ id: string }[]>`
      select id from product.conversations where user_id = ${user.id} limit 1`;
    await owner`
      insert into product.messages (id, user_id, conversation_id, role, content_enc, token_count, created_at)
      select gen_random_uuid(), ${user.id}, ${conv!.id}, 'user', '\\x00'::bytea, 1, now()
      from generate_series(1, 20000)`;
    const before = await productRows(user.id);
    const id = await approvedErasure(user.id);
    await moveRequest(id, { kind: 'start' }, await as(officer));

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/erasure-child.ts', id],
      {
        env: {
          ...process.env,
          DATABASE_URL: process.env.DATABASE_URL,
          CUSTODIAN_DATA_DIR: DATA_DIR,
          CUSTODIAN_ERASURE_BATCH: '200',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    // Wait until the child has removed some messages, then kill it without a chance to clean up.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const [row] = await owner<{ done: number; step: string | null }[]>`
        select progress_done::int as done, progress_step as step
        from console.privacy_requests where id = ${id}`;
      if (row!.done > 0 && row!.step === 'deleting messages') break;
      if (Date.now() > deadline) throw new Error(`the child never progressed: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    await exited;
    expect(await stateOf(id)).toBe('processing');
    const [mid] = await owner<{ n: number }[]>`
      select count(*)::int as n from product.messages where user_id = ${user.id}`;
    expect(mid!.n).toBeGreaterThan(0);
    expect(mid!.n).toBeLessThan(before['product.messages']!);

    // Its lease lapses (instead of waiting LEASE_SECONDS), and the next worker takes over.
    expect(await runWork(id)).toBe('skipped');
    await owner`update console.privacy_requests
                set work_lease_until = now() - interval '1 second' where id = ${id}`;
    expect(await runWork(id)).toBe('done');
    expect(await stateOf(id)).toBe('completed');

    const body = verifyCertificate(await certificateOf(id), [verifierKeyFor(auditKeys().signer)]);
    for (const table of ERASABLE_TABLES) {
      expect(
        body.tables.find((t) => t.table === table),
        table,
      ).toMatchObject({
        rowsBefore: before[table],
        rowsRemoved: before[table],
      });
    }
    expect(Object.values(await productRows(user.id)).every((n) => n === 0)).toBe(true);
    expect((await verifyTrail()).ok).toBe(true);
  });
});

// Last: it empties the product tables.
describe('a re-seed', () => {
  test('of an erased user’s id is refused, and writes nothing', async () => {
    await owner`truncate product.users, product.user_keys, product.conversations, product.messages,
                product.usage_events, product.payment_references, product.data_use_preferences,
                product.data_use_preference_changes`;
    const error = await seedProductData(ownerUrl(), testKeyRing, SEED).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeedRefusedError);
    // The seed makes the same ids again: the first erased one it meets is named.
    const erased = [0, 1, 3, 5].map((i) => users[i]!.id);
    expect(erased.some((id) => (error as Error).message.includes(id))).toBe(true);
    const [row] = await owner<{ n: number }[]>`select count(*)::int as n from product.users`;
    expect(row!.n).toBe(0);
  });
});
