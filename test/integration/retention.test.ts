import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type postgres from 'postgres';
import { resetEnvForTests } from '#app/config.server.ts';
import { getSql } from '#app/db/client.server.ts';
import { auditKeys } from '#app/modules/audit/runs.server.ts';
import {
  checkpointIfDue,
  sequenceBatch,
  sequencerConnection,
} from '#app/modules/audit/sequencer.server.ts';
import { verifyAuditLog } from '#app/modules/audit/verify.server.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { planRetention, runRetention } from '#app/modules/retention/engine.server.ts';
import { RETENTION_CATEGORIES } from '#app/modules/retention/vocabulary.ts';
import { readAudit, lastSeq } from '../support/audit.ts';
import { sequencerUrl, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  TEST_JOB,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { insertGrant, ownerConnection } from './users-fixtures.ts';

// Retention (issue 14, ADR 032) with the injected clock: per category, what is past its period
// goes and what is younger stays; a legal hold and an open privacy request spare their user; the
// plan's counts are what the run removes; a run stopped part-way is finished by the next; policy
// edits are audited and bad ones refused.

const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-retention-'));
process.env.CUSTODIAN_DATA_DIR = DATA_DIR;
resetEnvForTests();

useTestDatabase();

const DAY = 86_400_000;
const T = new Date('2031-06-01T12:00:00.000Z');
const ago = (days: number, extraMs = 0) =>
  new Date(T.getTime() - days * DAY - extraMs).toISOString();

let owner: postgres.Sql;
let staff: TestStaff;
let restoreClock: () => void;

beforeAll(async () => {
  owner = ownerConnection();
  staff = await createStaffWithRoles(['support_agent']);
  auditKeys(); // generated once into the data folder
});

beforeEach(() => {
  restoreClock = setClock(T);
});
afterEach(() => restoreClock());

afterAll(async () => {
  await owner?.end();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

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

async function addMessage(userId: string, createdAt: string, conversationId = randomUUID()) {
  const id = randomUUID();
  await owner`insert into product.messages (id, user_id, conversation_id, role, content_enc, token_count, created_at)
    values (${id}, ${userId}, ${conversationId}, 'user', ${randomBytes(8)}, 3, ${createdAt})`;
  return id;
}

async function addConversation(userId: string, updatedAt: string) {
  const id = randomUUID();
  await owner`insert into product.conversations (id, user_id, title_enc, model, created_at, updated_at)
    values (${id}, ${userId}, ${randomBytes(8)}, 'orca-1', ${updatedAt}, ${updatedAt})`;
  return id;
}

async function addRequest(userId: string, state: string, closedAt: string | null) {
  const id = randomUUID();
  await owner`insert into console.privacy_requests (id, user_id, type, state, source, verified,
      regime, received_at, due_day, created_at, updated_at, closed_at, details_enc)
    values (${id}, ${userId}, 'access', ${state}, 'api', false, 'gdpr', ${ago(2000)}, '2026-01-01',
      ${ago(2000)}, ${ago(2000)}, ${closedAt}, ${randomBytes(16)})`;
  await owner`insert into console.privacy_request_events (request_id, at, actor_label, kind, note)
    values (${id}, ${ago(2000)}, 'test', 'note', 'A note about the request')`;
  return id;
}

const exists = async (table: string, id: string, column = 'id') =>
  (await owner.unsafe(`select 1 from ${table} where ${column} = $1`, [id])).length === 1;

describe('each category removes what is past its period and keeps what is younger', () => {
  it('plan counts equal what the run removes, per category, and the trail verifies', async () => {
    const user = randomUUID();
    // messages (730 days) in a young conversation
    const young = await addConversation(user, ago(10));
    const oldMessage = await addMessage(user, ago(731), young);
    const youngMessage = await addMessage(user, ago(729), young);
    // conversations (730 days): an old one takes its (young) message with it
    const oldConversation = await addConversation(user, ago(731));
    const orphaned = await addMessage(user, ago(729), oldConversation);
    // usage events (400 days)
    const [oldEvent, youngEvent] = [randomUUID(), randomUUID()];
    await owner`insert into product.usage_events (id, user_id, kind, tokens, country, occurred_at)
      values (${oldEvent}, ${user}, 'message', 1, 'DE', ${ago(401)}),
             (${youngEvent}, ${user}, 'message', 1, 'DE', ${ago(399)})`;
    // payment references (3653 days)
    const [oldPayment, youngPayment] = [randomUUID(), randomUUID()];
    await owner`insert into product.payment_references (id, user_id, provider, customer_token, card_brand, last4, exp_month, exp_year, created_at)
      values (${oldPayment}, ${user}, 'stripe', 'cus_1', 'visa', '4242', 1, 2030, ${ago(3654)}),
             (${youngPayment}, ${user}, 'stripe', 'cus_2', 'visa', '4242', 1, 2030, ${ago(3652)})`;
    // staff sessions (0 days after their end)
    const [ended, live] = [randomUUID(), randomUUID()];
    await owner`insert into console.sessions (id, token_hash, staff_id, created_at, last_seen_at, expires_at)
      values (${ended}, ${randomBytes(32)}, ${staff.id}, ${ago(1)}, ${ago(0, 3_600_000)}, ${ago(0, 60_000)}),
             (${live}, ${randomBytes(32)}, ${staff.id}, ${ago(0, 600_000)}, ${ago(0, 60_000)}, ${ago(-1)})`;
    // sign-in throttle (1 day)
    const [staleKey, freshKey] = [`k-${randomUUID()}`, `k-${randomUUID()}`];
    await owner`insert into console.sign_in_throttle (key, failures, first_failure_at, last_failure_at)
      values (${staleKey}, 2, ${ago(2)}, ${ago(2)}), (${freshKey}, 2, ${ago(0, 3_600_000)}, ${ago(0, 3_600_000)})`;
    // notifications (90 days)
    const [oldNote, youngNote] = [randomUUID(), randomUUID()];
    await owner`insert into console.notifications (id, recipient_id, kind, created_at)
      values (${oldNote}, ${staff.id}, 'grant.requested', ${ago(91)}),
             (${youngNote}, ${staff.id}, 'grant.requested', ${ago(89)})`;
    // user outbox (180 days): sent messages; a queued one stays whatever its age
    const closed = await addRequest(user, 'completed', ago(1096));
    const closedYoung = await addRequest(user, 'completed', ago(1094));
    const [oldSent, youngSent, oldQueued] = [randomUUID(), randomUUID(), randomUUID()];
    for (const [id, state, at] of [
      [oldSent, 'sent', ago(181)],
      [youngSent, 'sent', ago(179)],
      [oldQueued, 'queued', ago(181)],
    ] as const) {
      await owner`insert into console.user_outbox (id, user_id, request_id, template, content_enc, state, next_attempt_at, created_at, sent_at)
        values (${id}, ${user}, ${closed}, 'acknowledgement', ${randomBytes(8)}, ${state}, ${at}, ${at}, ${state === 'sent' ? at : null})`;
    }
    // export packages (30 days after they expired)
    const [oldPackage, youngPackage] = [randomUUID(), randomUUID()];
    for (const [id, request, expiredAt] of [
      [oldPackage, closed, ago(31)],
      [youngPackage, closedYoung, ago(29)],
    ] as const) {
      await owner`insert into console.export_packages (id, request_id, user_id, state, token_hash, file_name, sha256, created_at, ready_at, expires_at, expired_at)
        values (${id}, ${request}, ${user}, 'expired', ${randomBytes(32)}, 'export.zip', 'ab', ${ago(60)}, ${ago(60)}, ${expiredAt}, ${expiredAt})`;
    }
    // grants (1095 days after they closed): the row stays, its texts go
    const oldGrant = await insertGrant(owner, {
      staffId: staff.id,
      userId: user,
      categories: ['profile'],
      status: 'denied',
    });
    const youngGrant = await insertGrant(owner, {
      staffId: staff.id,
      userId: user,
      categories: ['profile'],
      status: 'denied',
    });
    await owner`update console.grants set closed_at = ${ago(1096)} where id = ${oldGrant}`;
    await owner`update console.grants set closed_at = ${ago(1094)} where id = ${youngGrant}`;
    // analytics contributions (190 days)
    const oldDay = ago(191).slice(0, 10);
    const youngDay = ago(189).slice(0, 10);
    await owner`insert into console.analytics_contributions (day, user_id, plan, country, messages, conversations, tokens)
      values (${oldDay}, ${user}, 'free', 'DE', 1, 1, 1), (${youngDay}, ${user}, 'free', 'DE', 1, 1, 1)`;
    await owner`insert into console.analytics_contribution_models (day, user_id, model, conversations)
      values (${oldDay}, ${user}, 'orca-1', 1)`;

    const plan = await planRetention();
    expect(plan.map((l) => l.category).sort()).toEqual([...RETENTION_CATEGORIES].sort());
    const planned = Object.fromEntries(plan.map((l) => [l.category, l.count]));
    expect(planned).toEqual({
      messages: 1,
      conversations: 1,
      usage_events: 1,
      payment_references: 1,
      staff_sessions: 1,
      sign_in_throttle: 1,
      notifications: 1,
      user_outbox: 1,
      export_packages: 1,
      closed_privacy_requests: 1,
      grants: 1,
      inquiries: 0,
      analytics_contributions: 2,
      audit_contents: 0,
    });
    expect(plan.find((l) => l.category === 'messages')!.cutoff).toBe(ago(730));

    const before = await lastSeq();
    const run = await runRetention({ trigger: 'command', actor: TEST_JOB, batchSize: 1 });
    expect(run.status).toBe('done');
    if (run.status !== 'done') return;
    expect(Object.fromEntries(run.categories.map((c) => [c.category, c.removed]))).toEqual(planned);
    expect(run.categories.find((c) => c.category === 'conversations')!.cascaded).toBe(1);

    // Gone
    expect(await exists('product.messages', oldMessage)).toBe(false);
    expect(await exists('product.conversations', oldConversation)).toBe(false);
    expect(await exists('product.messages', orphaned)).toBe(false);
    expect(await exists('product.usage_events', oldEvent)).toBe(false);
    expect(await exists('product.payment_references', oldPayment)).toBe(false);
    expect(await exists('console.sessions', ended)).toBe(false);
    expect(await exists('console.sign_in_throttle', staleKey, 'key')).toBe(false);
    expect(await exists('console.notifications', oldNote)).toBe(false);
    expect(await exists('console.user_outbox', oldSent)).toBe(false);
    expect(await exists('console.export_packages', oldPackage)).toBe(false);
    const [closedRow] =
      await owner`select details_enc from console.privacy_requests where id = ${closed}`;
    expect(closedRow!.details_enc).toBeNull();
    const [note] =
      await owner`select note from console.privacy_request_events where request_id = ${closed}`;
    expect(note!.note).toBeNull();
    const [grant] =
      await owner`select justification, ticket_ref, texts_purged_at from console.grants where id = ${oldGrant}`;
    expect(grant).toMatchObject({ justification: '', ticket_ref: null });
    expect(grant!.texts_purged_at).not.toBeNull();
    expect(
      (await owner`select 1 from console.analytics_contributions where day = ${oldDay}`).length,
    ).toBe(0);
    expect(
      (await owner`select 1 from console.analytics_contribution_models where day = ${oldDay}`)
        .length,
    ).toBe(0);

    // Kept
    expect(await exists('product.messages', youngMessage)).toBe(true);
    expect(await exists('product.conversations', young)).toBe(true);
    expect(await exists('product.usage_events', youngEvent)).toBe(true);
    expect(await exists('product.payment_references', youngPayment)).toBe(true);
    expect(await exists('console.sessions', live)).toBe(true);
    expect(await exists('console.sign_in_throttle', freshKey, 'key')).toBe(true);
    expect(await exists('console.notifications', youngNote)).toBe(true);
    expect(await exists('console.user_outbox', youngSent)).toBe(true);
    expect(await exists('console.user_outbox', oldQueued)).toBe(true);
    expect(await exists('console.export_packages', youngPackage)).toBe(true);
    expect(await exists('console.grants', oldGrant)).toBe(true);
    const [youngClosed] =
      await owner`select details_enc from console.privacy_requests where id = ${closedYoung}`;
    expect(youngClosed!.details_enc).not.toBeNull();
    const [youngGrantRow] =
      await owner`select justification from console.grants where id = ${youngGrant}`;
    expect(youngGrantRow!.justification).not.toBe('');
    expect(
      (await owner`select 1 from console.analytics_contributions where day = ${youngDay}`).length,
    ).toBe(1);

    // One audit entry per category and run: counts and the cut-off, never a row.
    const entries = (await readAudit(before)).filter((e) => e.action === 'retention.purge');
    expect(entries.map((e) => e.details.category).sort()).toEqual([...RETENTION_CATEGORIES].sort());
    const messages = entries.find((e) => e.details.category === 'messages')!;
    expect(messages.details).toEqual({
      category: 'messages',
      runId: run.runId,
      cutoff: ago(730),
      periodDays: 730,
      removed: 1,
      cascaded: 0,
      batches: 2,
      resumed: false,
    });
    expect(messages.raw).not.toContain(oldMessage);

    // A second run finds nothing: the purge is idempotent.
    const again = await runRetention({ trigger: 'command', actor: TEST_JOB });
    expect(again.status === 'done' && again.categories.every((c) => c.removed === 0)).toBe(true);
    expect((await verifyTrail()).ok).toBe(true);
  });
});

describe('inquiries', () => {
  async function addInquiry(userId: string, closedAt: string | null) {
    const id = randomUUID();
    const received = ago(2000);
    await owner`insert into console.inquiries (id, user_id, category, state, source, subject_enc,
        received_at, first_response_due_at, resolution_due_at, closed_at, created_at, updated_at)
      values (${id}, ${userId}, 'billing', ${closedAt ? 'closed' : 'new'}, 'api', ${randomBytes(24)},
        ${received}, ${received}, ${received}, ${closedAt}, ${received}, ${received})`;
    await owner`insert into console.inquiry_messages (id, inquiry_id, user_id, author, body_enc, created_at)
      values (${randomUUID()}, ${id}, ${userId}, 'user', ${randomBytes(24)}, ${received})`;
    return id;
  }
  const texts = async (id: string) =>
    (
      await owner<{ subject: number; messages: number }[]>`
        select octet_length(subject_enc) as subject,
               (select count(*)::int from console.inquiry_messages m where m.inquiry_id = i.id) as messages
        from console.inquiries i where i.id = ${id}`
    )[0];

  it('empties the texts of an inquiry closed before its period, keeps the row and younger ones', async () => {
    const user = randomUUID();
    const old = await addInquiry(user, ago(731));
    const young = await addInquiry(user, ago(729));
    const open = await addInquiry(user, null);
    const before = (await planRetention()).find((c) => c.category === 'inquiries')!;
    expect(before.count).toBeGreaterThanOrEqual(1);
    const run = await runRetention({ trigger: 'command', actor: TEST_JOB, only: ['inquiries'] });
    expect(run.status).toBe('done');
    const line = run.status === 'done' ? run.categories[0]! : null;
    expect(line).toMatchObject({ category: 'inquiries', removed: before.count });
    expect(line!.cascaded).toBeGreaterThanOrEqual(1);
    expect(await texts(old)).toEqual({ subject: 0, messages: 0 });
    expect(await texts(young)).toEqual({ subject: 24, messages: 1 });
    expect(await texts(open)).toEqual({ subject: 24, messages: 1 });
    // Nothing left to empty: a second run takes none.
    const again = await runRetention({ trigger: 'command', actor: TEST_JOB, only: ['inquiries'] });
    expect(again.status === 'done' && again.categories[0]!.removed).toBe(0);
  });
});

describe('a legal hold and an open privacy request protect their user', () => {
  it('spares the held and the requesting user, and removes the others', async () => {
    const [plain, held, requesting, lifted] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    const old = ago(800);
    const ids = new Map<string, string>();
    for (const user of [plain, held, requesting, lifted])
      ids.set(user, await addMessage(user, old));
    await owner`insert into console.legal_holds (id, user_id, reason, set_at)
      values (${randomUUID()}, ${held}, 'Litigation', ${ago(5)})`;
    await owner`insert into console.legal_holds (id, user_id, reason, set_at, lifted_at, lift_reason)
      values (${randomUUID()}, ${lifted}, 'Litigation', ${ago(5)}, ${ago(1)}, 'Settled')`;
    await addRequest(requesting, 'received', null);
    const planned = (await planRetention()).find((l) => l.category === 'messages')!;
    expect(planned.count).toBe(2);
    const run = await runRetention({ trigger: 'command', actor: TEST_JOB, only: ['messages'] });
    expect(run.status === 'done' && run.categories[0]!.removed).toBe(2);
    expect(await exists('product.messages', ids.get(plain)!)).toBe(false);
    expect(await exists('product.messages', ids.get(lifted)!)).toBe(false);
    expect(await exists('product.messages', ids.get(held)!)).toBe(true);
    expect(await exists('product.messages', ids.get(requesting)!)).toBe(true);
  });

  it('spares nobody when the policy says holds and requests do not suspend it', async () => {
    const held = randomUUID();
    const id = await addMessage(held, ago(800));
    await owner`insert into console.legal_holds (id, user_id, reason, set_at)
      values (${randomUUID()}, ${held}, 'Litigation', ${ago(5)})`;
    await owner`update console.retention_policies set suspended_by_hold = false where category = 'messages'`;
    try {
      await runRetention({ trigger: 'command', actor: TEST_JOB, only: ['messages'] });
      expect(await exists('product.messages', id)).toBe(false);
    } finally {
      await owner`update console.retention_policies set suspended_by_hold = true where category = 'messages'`;
    }
  });
});

describe('a run stopped part-way', () => {
  it('is continued by the next run with the same cut-off: nothing left, nothing counted twice', async () => {
    const user = randomUUID();
    const old = await Promise.all(Array.from({ length: 25 }, () => addMessage(user, ago(900))));
    const youngId = await addMessage(user, ago(100));
    const before = await lastSeq();
    class Crash extends Error {}
    await expect(
      runRetention({
        trigger: 'schedule',
        actor: TEST_JOB,
        only: ['messages', 'usage_events'],
        batchSize: 10,
        afterBatch: (category, batches) => {
          if (category === 'messages' && batches === 1) throw new Crash('killed');
        },
      }),
    ).rejects.toBeInstanceOf(Crash);
    const [left] = await owner`select r.state, c.state as category_state, c.removed, c.batches
      from console.retention_runs r join console.retention_run_categories c on c.run_id = r.id
      where r.state = 'running' and c.category = 'messages'`;
    expect(left).toMatchObject({ state: 'running', category_state: 'running', batches: 1 });
    expect(Number(left!.removed)).toBe(10);

    // Later, with a shorter period: the resumed run keeps the cut-off it started with.
    restoreClock();
    restoreClock = setClock(new Date(T.getTime() + 3 * DAY));
    const run = await runRetention({ trigger: 'schedule', actor: TEST_JOB, batchSize: 10 });
    expect(run.status === 'done' && run.resumed).toBe(true);
    if (run.status !== 'done') return;
    expect(run.categories.map((c) => c.category)).toEqual(['messages', 'usage_events']);
    expect(run.categories[0]).toMatchObject({ removed: 25, cutoff: ago(730) });
    for (const id of old) expect(await exists('product.messages', id)).toBe(false);
    expect(await exists('product.messages', youngId)).toBe(true);
    const entries = (await readAudit(before)).filter((e) => e.action === 'retention.purge');
    expect(entries.map((e) => [e.details.category, e.details.removed, e.details.resumed])).toEqual([
      ['messages', 25, true],
      ['usage_events', 0, true],
    ]);
    expect((await verifyTrail()).ok).toBe(true);
  });

  it('a second run while one holds the lock does nothing', async () => {
    const lock = await getSql().reserve();
    try {
      await lock`select pg_advisory_lock(114101116110)`;
      expect(await runRetention({ trigger: 'command', actor: TEST_JOB })).toEqual({
        status: 'busy',
      });
    } finally {
      await lock`select pg_advisory_unlock(114101116110)`;
      lock.release();
    }
  });
});

describe('/admin/retention', () => {
  // Signed in on the system clock: a session opened in 2026 is long over in the engine tests' 2031.
  beforeEach(() => {
    restoreClock();
    restoreClock = () => {};
  });
  let server: TestServer;
  let admin: TestStaff;
  let cookie: string;
  beforeAll(async () => {
    server = await startTestServer();
    admin = await createStaffWithRoles(['admin']);
    cookie = await signInAs(server.baseUrl, admin.email, admin.password);
  });
  afterAll(async () => {
    await server?.close();
  });
  const url = (p: string) => `${server.baseUrl}${p}`;
  const form = (over: Record<string, string> = {}) => ({
    category: 'usage_events',
    periodDays: '365',
    reason: 'Billing disputes are settled within a year.',
    legalBasis: 'Contract',
    suspendedByHold: 'on',
    suspendedByOpenRequest: 'on',
    ...over,
  });

  it('shows the policies, the last runs and the next run due', async () => {
    const response = await fetchAs(cookie, url('/admin/retention'));
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('Usage events');
    expect(html).toContain('Next run due');
    expect(html).toContain('data-testid="retention-runs"');
  });

  it('saves an edit, audits it, and shows who changed what', async () => {
    const before = await lastSeq();
    const response = await postForm(cookie, url('/admin/retention'), form());
    expect(response.status).toBe(200);
    const [row] =
      await owner`select period_days, updated_by from console.retention_policies where category = 'usage_events'`;
    expect(row).toMatchObject({ period_days: 365, updated_by: admin.id });
    const entries = (await readAudit(before)).filter((e) => e.action === 'retention.policy_change');
    expect(entries).toHaveLength(1);
    expect(entries[0]!.details).toMatchObject({
      category: 'usage_events',
      periodDays: 365,
      previousPeriodDays: 400,
      fields: ['period_days', 'reason', 'legal_basis'],
    });
    expect(entries[0]!.actor?.staffId).toBe(admin.id);
    expect(entries[0]!.raw).not.toContain('Billing disputes');
    const page = await (await fetchAs(cookie, url('/admin/retention'))).text();
    expect(page).toContain('period 400 days → 365 days');
    // The same values again: nothing changes, nothing is audited.
    const seq = await lastSeq();
    await postForm(cookie, url('/admin/retention'), form());
    expect((await readAudit(seq)).filter((e) => e.action === 'retention.policy_change')).toEqual(
      [],
    );
  });

  it.each([
    [{ periodDays: '-1' }, 'periodDays'],
    [{ periodDays: 'soon' }, 'periodDays'],
    [{ periodDays: '36501' }, 'periodDays'],
    [{ category: 'audit_contents', periodDays: '2191' }, 'periodDays'],
    [{ category: 'everything' }, 'category'],
    [{ reason: '   ' }, 'reason'],
    [{ legalBasis: 'x'.repeat(201) }, 'legalBasis'],
    [{ category: 'staff_sessions', periodDays: '0' }, 'suspendedByHold'],
  ])('refuses %j with a 400 naming %s, and writes nothing', async (over, field) => {
    const before = await owner`select * from console.retention_policies order by category`;
    const response = await postForm(
      cookie,
      url('/admin/retention?_data=routes%2Fadmin.retention'),
      form(over),
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fieldErrors: Record<string, string> };
    expect(Object.keys(body.fieldErrors)).toContain(field);
    expect(await owner`select * from console.retention_policies order by category`).toEqual(before);
  });

  it('refuses an unknown policy to edit in the address with a 400 naming it', async () => {
    const response = await fetchAs(cookie, url('/admin/retention?edit=everything'));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Invalid edit');
  });

  it('the database itself refuses an audit contents period under six years', async () => {
    await expect(
      owner`update console.retention_policies set period_days = 2000 where category = 'audit_contents'`,
    ).rejects.toThrow(/retention_policies_audit_minimum_check/);
  });

  it('refuses staff without policy:manage', async () => {
    const agent = await createStaffWithRoles(['support_lead']);
    const theirs = await signInAs(server.baseUrl, agent.email, agent.password);
    expect((await fetchAs(theirs, url('/admin/retention'))).status).toBe(403);
    const response = await postForm(theirs, url('/admin/retention'), form({ periodDays: '1' }));
    expect(response.status).toBe(403);
    const [row] =
      await owner`select period_days from console.retention_policies where category = 'usage_events'`;
    expect(row!.period_days).not.toBe(1);
  });
});

describe('kill -9 of the worker in the middle of a purge', () => {
  it('the next run finishes: nothing left that should go, nothing gone that should stay, the trail verifies', async () => {
    restoreClock(); // the child runs on the system clock
    restoreClock = () => {};
    const [doomed, held, young] = [randomUUID(), randomUUID(), randomUUID()];
    const longAgo = new Date(Date.now() - 900 * DAY).toISOString();
    const recent = new Date(Date.now() - 100 * DAY).toISOString();
    await owner`insert into product.usage_events (id, user_id, kind, tokens, country, occurred_at)
      select gen_random_uuid(), ${doomed}, 'message', 1, 'DE', ${longAgo}::timestamptz from generate_series(1, 30000)`;
    await owner`insert into product.usage_events (id, user_id, kind, tokens, country, occurred_at)
      select gen_random_uuid(), ${held}, 'message', 1, 'DE', ${longAgo}::timestamptz from generate_series(1, 500)`;
    await owner`insert into product.usage_events (id, user_id, kind, tokens, country, occurred_at)
      select gen_random_uuid(), ${young}, 'message', 1, 'DE', ${recent}::timestamptz from generate_series(1, 500)`;
    await owner`insert into console.legal_holds (id, user_id, reason, set_at)
      values (${randomUUID()}, ${held}, 'Litigation', now())`;
    const planned = (await planRetention()).find((l) => l.category === 'usage_events')!.count;
    expect(planned).toBeGreaterThanOrEqual(30_000);
    const before = await lastSeq();

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/retention-child.ts', '100', 'usage_events'],
      {
        env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    const deadline = Date.now() + 90_000;
    for (;;) {
      const [row] = await owner<{ removed: number }[]>`
        select c.removed::int as removed from console.retention_run_categories c
          join console.retention_runs r on r.id = c.run_id
         where r.state = 'running' and c.category = 'usage_events'`;
      if (row && row.removed > 0) break;
      if (Date.now() > deadline) throw new Error(`the child never progressed: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    await exited;
    const [mid] = await owner<{ removed: number; n: number }[]>`
      select c.removed::int as removed,
             (select count(*)::int from product.usage_events where user_id = ${doomed}) as n
        from console.retention_run_categories c join console.retention_runs r on r.id = c.run_id
       where r.state = 'running' and c.category = 'usage_events'`;
    expect(mid!.removed).toBeGreaterThan(0);
    expect(mid!.n).toBeGreaterThan(0);
    expect(mid!.n).toBeLessThan(30_000);

    // PostgreSQL releases the dead session's lock once it notices; then the next run resumes.
    let run: Awaited<ReturnType<typeof runRetention>>;
    const lockDeadline = Date.now() + 30_000;
    for (;;) {
      run = await runRetention({ trigger: 'schedule', actor: TEST_JOB, batchSize: 5_000 });
      if (run.status !== 'busy' || Date.now() > lockDeadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(run.status === 'done' && run.resumed).toBe(true);
    if (run.status !== 'done') return;
    expect(run.categories).toHaveLength(1);
    expect(run.categories[0]!.removed).toBe(planned);
    const [after] = await owner<{ doomed: number; held: number; young: number }[]>`select
      (select count(*)::int from product.usage_events where user_id = ${doomed}) as doomed,
      (select count(*)::int from product.usage_events where user_id = ${held}) as held,
      (select count(*)::int from product.usage_events where user_id = ${young}) as young`;
    expect(after).toEqual({ doomed: 0, held: 500, young: 500 });
    const entries = (await readAudit(before)).filter((e) => e.action === 'retention.purge');
    expect(entries.map((e) => [e.details.category, e.details.removed, e.details.resumed])).toEqual([
      ['usage_events', planned, true],
    ]);
    expect((await verifyTrail()).ok).toBe(true);
  });
});
