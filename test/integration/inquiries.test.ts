import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { GrantInputError, GrantRefusedError } from '#app/modules/access/errors.ts';
import { decideGrant, requestGrant } from '#app/modules/access/grants.server.ts';
import { findLiveGrant } from '#app/modules/access/live.server.ts';
import { commandLine, type StaffActor } from '#app/modules/actor.ts';
import { createToken } from '#app/modules/api/tokens.server.ts';
import {
  assignInquiry,
  closeInquiry,
  createInquiry,
  getInquiry,
  inquiryOfRequest,
  inquiryToPrivacyRequest,
  listInquiries,
  openInquiriesAssignedTo,
  openThread,
  renewAssignmentGrant,
  replyToInquiry,
} from '#app/modules/inquiries/inquiries.server.ts';
import {
  assignRequest,
  createRequest,
  moveRequest,
  openRequestsAssignedTo,
} from '#app/modules/privacy/requests.server.ts';
import { lastSeq, readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  actorOf,
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';
import { ownerConnection, plainUsers, seedUsers, type PlainUser } from './users-fixtures.ts';

// Issue 15 (ADR 034): inquiries through the service API, the thread opened to its assignee alone
// by the grant its assignment gives, that grant moved on reassignment and ended on close, and
// purpose binding of support_inquiry and privacy_request grants.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let users: PlainUser[];
let agent: TestStaff;
let agent2: TestStaff;
let lead: TestStaff;
let lead2: TestStaff;
let officer: TestStaff;
let officer2: TestStaff;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  await seedUsers();
  owner = ownerConnection();
  users = await plainUsers(owner);
  agent = await createStaffWithRoles(['support_agent']);
  agent2 = await createStaffWithRoles(['support_agent']);
  lead = await createStaffWithRoles(['support_lead']);
  lead2 = await createStaffWithRoles(['support_lead']);
  officer = await createStaffWithRoles(['privacy_officer']);
  officer2 = await createStaffWithRoles(['privacy_officer']);
  const cli = commandLine('token create');
  tokens.inquiries = (
    await createToken({ name: 'app-inquiries', scopes: ['inquiries:write'] }, cli)
  ).token;
  tokens.other = (
    await createToken({ name: 'app-privacy', scopes: ['privacy-requests:write'] }, cli)
  ).token;
}, 120_000);

afterAll(async () => {
  await server?.close();
  await owner?.end();
});

const as = (s: TestStaff): Promise<StaffActor> => actorOf(s);

async function newInquiry(userId: string, category: 'account' | 'privacy' = 'account') {
  return createInquiry(
    { userId, subject: 'Cannot sign in', body: 'My password reset link never arrives.', category },
    await as(agent),
  );
}

// --- the service API ---------------------------------------------------------------------------

function post(body: unknown, opts: { token?: string | null; key?: string | null } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? tokens.inquiries}`;
  if (opts.key !== null) headers['idempotency-key'] = opts.key ?? randomUUID();
  return fetchAs(null, '/api/v1/inquiries', {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** An answer of the API: a created inquiry, or its errors. */
interface ApiBody {
  id: string;
  state: string;
  dueAt: string;
  errors: Record<string, string>;
}

async function json(response: Response) {
  return { status: response.status, body: (await response.json()) as ApiBody };
}

async function footprint() {
  const [r] = await owner<{ inquiries: number; messages: number; idempotency: number }[]>`
    select (select count(*)::int from console.inquiries) as inquiries,
           (select count(*)::int from console.inquiry_messages) as messages,
           (select count(*)::int from console.api_idempotency) as idempotency`;
  return { ...r!, audit: await lastSeq() };
}

const GOOD = () => ({
  userId: users[0]!.id,
  subject: 'Refund for a double charge',
  body: 'I was charged twice this month, please refund one of them.',
  category: 'billing',
});

describe('POST /api/v1/inquiries', () => {
  it('files an inquiry: 201 with its id, state new and first-response due time', async () => {
    const result = await json(await post(GOOD()));
    expect(result.status).toBe(201);
    expect(result.body).toEqual({
      id: expect.any(String),
      state: 'new',
      dueAt: expect.any(String),
    });
    const summary = await getInquiry(result.body.id);
    expect(summary).toMatchObject({
      state: 'new',
      category: 'billing',
      source: 'api',
      messages: 1,
    });
    // Stored sealed: the subject's text is nowhere in the row or the idempotency record.
    const [row] = await owner<{ subject: Buffer }[]>`
      select subject_enc as subject from console.inquiries where id = ${result.body.id}`;
    expect(row!.subject.toString('latin1')).not.toContain('double charge');
    const stored = await owner<
      { t: string }[]
    >`select row_to_json(i)::text as t from console.api_idempotency i`;
    for (const r of stored) expect(r.t).not.toContain('double charge');
  });

  it('names the user by email; an email matching nobody is a 404 naming email', async () => {
    const ok = await json(await post({ ...GOOD(), userId: undefined, email: users[1]!.email }));
    expect(ok.status).toBe(201);
    expect((await getInquiry(ok.body.id))!.userId).toBe(users[1]!.id);
    const before = await footprint();
    const missing = await json(
      await post({ ...GOOD(), userId: undefined, email: 'nobody@example.invalid' }),
    );
    expect(missing).toEqual({ status: 404, body: { errors: { email: expect.any(String) } } });
    expect(await footprint()).toEqual(before);
  });

  it.each([
    ['no subject', { subject: undefined }, 'subject'],
    ['an empty body', { body: '   ' }, 'body'],
    ['an unknown category', { category: 'refund' }, 'category'],
    ['both userId and email', { email: 'a@example.com' }, 'email'],
    ['neither userId nor email', { userId: undefined }, 'userId'],
    ['a bad user id', { userId: 'abc' }, 'userId'],
    ['an unknown field', { priority: 'high' }, 'priority'],
    ['a two-line subject', { subject: 'one\ntwo' }, 'subject'],
  ])('%s → 400 naming the field, nothing written', async (_name, change, field) => {
    const before = await footprint();
    const result = await json(await post({ ...GOOD(), ...change }));
    expect(result.status).toBe(400);
    expect(Object.keys(result.body.errors)).toContain(field);
    expect(await footprint()).toEqual(before);
  });

  it('refuses without Idempotency-Key (400), without a token (401), without the scope (403)', async () => {
    const before = await footprint();
    expect((await post(GOOD(), { key: null })).status).toBe(400);
    expect((await post(GOOD(), { token: null })).status).toBe(401);
    expect((await post(GOOD(), { token: `cst_${'A'.repeat(43)}` })).status).toBe(401);
    const scope = await json(await post(GOOD(), { token: tokens.other }));
    expect(scope.status).toBe(403);
    expect(await footprint()).toEqual(before);
  });

  it('replays the first answer for the same key and body; another body is 409', async () => {
    const key = randomUUID();
    const first = await json(await post(GOOD(), { key }));
    expect(first.status).toBe(201);
    const before = await footprint();
    const again = await json(await post(GOOD(), { key }));
    expect(again).toEqual(first);
    const [row] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.inquiries where id = ${first.body.id}`;
    expect(row!.n).toBe(1);
    expect((await footprint()).inquiries).toBe(before.inquiries);
    const other = await json(
      await post({ ...GOOD(), body: 'Something else entirely now.' }, { key }),
    );
    expect(other.status).toBe(409);
    expect((await footprint()).inquiries).toBe(before.inquiries);
  });
});

// --- the thread and its grant ------------------------------------------------------------------

describe('the thread opens to its current assignee alone', () => {
  it('refused before assignment and to others; the assignee reads it; reassignment moves the grant', async () => {
    const user = users[2]!.id;
    const { id } = await newInquiry(user);
    const route = `/inquiries/${id}`;
    // Nobody holds a grant yet: the lead who will assign it is refused too, and audited.
    const before = await lastSeq();
    const refused = await openThread(await as(lead), id, route);
    expect(refused.open).toBe(false);
    const denied = await readAudit(before);
    expect(denied.map((e) => `${e.action}:${e.outcome}`)).toEqual(['access.denied:denied']);

    // An agent takes it: their grant of this thread alone.
    const { grantId } = await assignInquiry(id, agent.id, await as(agent));
    const opened = await openThread(await as(agent), id, route);
    expect(opened.open).toBe(true);
    if (opened.open) {
      expect(opened.grant.grantId).toBe(grantId);
      expect(opened.data.subject).toBe('Cannot sign in');
      expect(opened.data.messages.map((m) => m.author)).toEqual(['user']);
    }
    // The grant opens nothing else about the user.
    expect(
      await findLiveGrant({ staffId: agent.id, userId: user, category: 'profile' }),
    ).toBeNull();
    expect((await openThread(await as(agent2), id, route)).open).toBe(false);
    expect((await openThread(await as(lead), id, route)).open).toBe(false);

    // A lead gives it to the second agent: the first is refused at the very next read.
    await assignInquiry(id, agent2.id, await as(lead));
    expect((await openThread(await as(agent), id, route)).open).toBe(false);
    expect((await openThread(await as(agent2), id, route)).open).toBe(true);
    const [old] = await owner<{ status: string; revoke_basis: string }[]>`
      select status, revoke_basis from console.grants where id = ${grantId}`;
    expect(old).toEqual({ status: 'revoked', revoke_basis: 'purpose_closed' });

    // Each read is audited with the inquiry's id.
    const views = (await readAudit(before)).filter((e) => e.action === 'user.view');
    expect(views.length).toBe(2);
    for (const v of views) expect(v.details).toMatchObject({ category: 'inquiries', inquiry: id });
  });

  it('a grant bound to another inquiry of the same user does not open this one', async () => {
    const user = users[3]!.id;
    const one = await newInquiry(user);
    const two = await newInquiry(user);
    await assignInquiry(one.id, agent.id, await as(agent));
    await assignInquiry(two.id, agent2.id, await as(lead));
    expect((await openThread(await as(agent), one.id, '/x')).open).toBe(true);
    expect((await openThread(await as(agent), two.id, '/x')).open).toBe(false);
  });

  it('closing ends the grant: the next read is refused', async () => {
    const { id } = await newInquiry(users[4]!.id);
    await assignInquiry(id, agent.id, await as(agent));
    expect((await openThread(await as(agent), id, '/x')).open).toBe(true);
    await closeInquiry(id, await as(agent));
    expect((await openThread(await as(agent), id, '/x')).open).toBe(false);
    await expect(renewAssignmentGrant(id, await as(agent))).rejects.toThrow(/closed/);
  });

  it('an agent takes only an unassigned inquiry, and assigns nobody else', async () => {
    const { id } = await newInquiry(users[5]!.id);
    await expect(assignInquiry(id, agent2.id, await as(agent))).rejects.toThrow(/inquiries:assign/);
    await assignInquiry(id, agent.id, await as(agent));
    await expect(assignInquiry(id, agent2.id, await as(agent2))).rejects.toThrow(
      /already assigned/,
    );
  });

  it('a reply is stored on the thread and queued to the user through the outbox', async () => {
    const user = users[6]!.id;
    const { id } = await newInquiry(user);
    await assignInquiry(id, agent.id, await as(agent));
    await expect(
      replyToInquiry(id, { body: 'Try again now.', next: 'answered' }, await as(agent2)),
    ).rejects.toThrow(/assignee/);
    const reply = await replyToInquiry(
      id,
      { body: 'We re-sent the link.', next: 'waiting_on_user' },
      await as(agent),
    );
    expect(reply.queued).toBe(true);
    const summary = (await getInquiry(id))!;
    expect(summary.state).toBe('waiting_on_user');
    expect(summary.firstResponseAt).not.toBeNull();
    const outbox = await owner<{ template: string; request_id: string | null; user_id: string }[]>`
      select template, request_id, user_id from console.user_outbox where inquiry_id = ${id}`;
    expect(outbox).toEqual([{ template: 'inquiry_reply', request_id: null, user_id: user }]);
    const thread = await openThread(await as(agent), id, '/x');
    expect(thread.open && thread.data.messages.map((m) => [m.author, m.body])).toEqual([
      ['user', 'My password reset link never arrives.'],
      ['staff', 'We re-sent the link.'],
    ]);
  });

  it('the queue shows codes and masked emails, never the subject', async () => {
    const { id } = await newInquiry(users[7]!.id);
    const page = await listInquiries(await as(agent), { view: 'unassigned' });
    const row = page.rows.find((r) => r.id === id)!;
    expect(row).toMatchObject({
      category: 'account',
      state: 'new',
      emailMasked: users[7]!.emailMasked,
    });
    expect(JSON.stringify(page)).not.toContain('Cannot sign in');
  });
});

// --- purpose binding ---------------------------------------------------------------------------

const JUSTIFICATION = 'The user asks why their last payment failed twice';

describe('support_inquiry grants are bound to an open inquiry assigned to the requester', () => {
  async function ask(staff: TestStaff, userId: string, inquiryId?: string) {
    return requestGrant({
      requester: await as(staff),
      userId,
      categories: ['payments'],
      reasonCode: 'support_inquiry',
      justification: JUSTIFICATION,
      ticketRef: 'SUP-77',
      durationMinutes: 30,
      inquiryId,
    });
  }

  it('refuses one naming no inquiry, another user’s, a closed one or one assigned to someone else', async () => {
    const user = users[8]!.id;
    const mine = await newInquiry(user);
    await assignInquiry(mine.id, agent.id, await as(agent));
    const other = await newInquiry(users[9]!.id);
    await assignInquiry(other.id, agent.id, await as(agent));
    const theirs = await newInquiry(user);
    await assignInquiry(theirs.id, agent2.id, await as(agent2));
    const closed = await newInquiry(user);
    await assignInquiry(closed.id, agent.id, await as(agent));
    await closeInquiry(closed.id, await as(agent));

    await expect(ask(agent, user)).rejects.toBeInstanceOf(GrantInputError);
    const reasons: string[] = [];
    for (const id of [other.id, closed.id, theirs.id, randomUUID()]) {
      const error = await ask(agent, user, id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GrantRefusedError);
      reasons.push((error as GrantRefusedError).reason);
    }
    expect(reasons).toEqual([
      'purpose_other_user',
      'purpose_closed',
      'purpose_not_assignee',
      'purpose_other_user',
    ]);
    const [count] = await owner<{ n: number }[]>`
      select count(*)::int as n from console.grants
       where requester_id = ${agent.id} and categories = array['payments']`;
    expect(count!.n).toBe(0);
    // The grant form offers only the open inquiries of this user assigned to the agent.
    expect((await openInquiriesAssignedTo(agent.id, user)).map((i) => i.id)).toEqual([mine.id]);
  });

  it('a bound grant is approved as usual and ends when its inquiry closes', async () => {
    const user = users[10]!.id;
    const { id } = await newInquiry(user);
    await assignInquiry(id, agent.id, await as(agent));
    const asked = await ask(agent, user, id);
    await decideGrant({
      grantId: asked.grantId,
      approver: await as(lead),
      decision: 'approve',
      comment: 'Go ahead',
    });
    const scope = { staffId: agent.id, userId: user, category: 'payments' as const };
    expect((await findLiveGrant(scope))?.grantId).toBe(asked.grantId);
    await closeInquiry(id, await as(lead2));
    expect(await findLiveGrant(scope)).toBeNull();
    const [row] = await owner<{ status: string; revoke_basis: string; inquiry_id: string }[]>`
      select status, revoke_basis, inquiry_id from console.grants where id = ${asked.grantId}`;
    expect(row).toEqual({ status: 'revoked', revoke_basis: 'purpose_closed', inquiry_id: id });
  });

  it('an ordinary request cannot name the inquiries category', async () => {
    await expect(
      requestGrant({
        requester: await as(agent),
        userId: users[11]!.id,
        categories: ['inquiries'],
        reasonCode: 'other',
        justification: JUSTIFICATION,
        ticketRef: 'SUP-78',
        durationMinutes: 30,
      }),
    ).rejects.toBeInstanceOf(GrantInputError);
  });
});

describe('privacy_request grants are bound the same way', () => {
  async function ask(staff: TestStaff, userId: string, privacyRequestId?: string) {
    return requestGrant({
      requester: await as(staff),
      userId,
      categories: ['usage'],
      reasonCode: 'privacy_request',
      justification: 'Checking usage records the user asked us to export',
      ticketRef: 'PRV-12',
      durationMinutes: 30,
      privacyRequestId,
    });
  }

  it('refuses another user’s, a closed or another officer’s request; closing ends a bound grant', async () => {
    const user = users[12]!.id;
    const actor = await as(officer);
    const mine = await createRequest({ userId: user, type: 'access', channel: 'email' }, actor);
    await assignRequest(mine.id, officer.id, actor);
    const other = await createRequest(
      { userId: users[13]!.id, type: 'access', channel: 'email' },
      actor,
    );
    await assignRequest(other.id, officer.id, actor);
    const theirs = await createRequest({ userId: user, type: 'erasure', channel: 'email' }, actor);
    await assignRequest(theirs.id, officer2.id, actor);
    const closed = await createRequest(
      { userId: user, type: 'portability', channel: 'email' },
      actor,
    );
    await assignRequest(closed.id, officer.id, actor);
    await moveRequest(closed.id, { kind: 'cancel', note: 'The user withdrew it by phone' }, actor);

    await expect(ask(officer, user)).rejects.toBeInstanceOf(GrantInputError);
    const reasons: string[] = [];
    for (const id of [other.id, closed.id, theirs.id]) {
      const error = await ask(officer, user, id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GrantRefusedError);
      reasons.push((error as GrantRefusedError).reason);
    }
    expect(reasons).toEqual(['purpose_other_user', 'purpose_closed', 'purpose_not_assignee']);
    expect((await openRequestsAssignedTo(officer.id, user)).map((r) => r.id)).toEqual([mine.id]);

    const asked = await ask(officer, user, mine.id);
    await decideGrant({
      grantId: asked.grantId,
      approver: await as(lead),
      decision: 'approve',
      comment: 'Go ahead',
    });
    const scope = { staffId: officer.id, userId: user, category: 'usage' as const };
    expect((await findLiveGrant(scope))?.grantId).toBe(asked.grantId);
    await moveRequest(mine.id, { kind: 'cancel', note: 'The user withdrew it by phone' }, actor);
    expect(await findLiveGrant(scope)).toBeNull();
  });
});

describe('a privacy inquiry turns into a privacy request with one action', () => {
  it('creates the request and links the two both ways; only once, only for privacy:process', async () => {
    const user = users[14]!.id;
    const { id } = await newInquiry(user, 'privacy');
    await expect(inquiryToPrivacyRequest(id, 'access', await as(agent))).rejects.toThrow(
      /privacy:process/,
    );
    const { privacyRequestId } = await inquiryToPrivacyRequest(id, 'erasure', await as(officer));
    expect((await getInquiry(id))!.privacyRequestId).toBe(privacyRequestId);
    expect(await inquiryOfRequest(privacyRequestId)).toBe(id);
    const [request] = await owner<{ type: string; user_id: string }[]>`
      select type, user_id from console.privacy_requests where id = ${privacyRequestId}`;
    expect(request).toEqual({ type: 'erasure', user_id: user });
    await expect(inquiryToPrivacyRequest(id, 'access', await as(officer))).rejects.toThrow(
      /already/,
    );
    const plain = await newInquiry(user, 'account');
    await expect(inquiryToPrivacyRequest(plain.id, 'access', await as(officer))).rejects.toThrow(
      /Only a privacy inquiry/,
    );
  });
});

describe('the pages', () => {
  it('the queue and the page show no thread text; the page shows it to the assignee alone', async () => {
    const user = users[15]!.id;
    const { id } = await newInquiry(user);
    const agentCookie = await signInAs(server.baseUrl, agent.email, agent.password);
    const otherCookie = await signInAs(server.baseUrl, agent2.email, agent2.password);
    const queue = await fetchAs(agentCookie, '/inquiries?view=unassigned');
    expect(queue.status).toBe(200);
    const queueHtml = await queue.text();
    expect(queueHtml).toContain(users[15]!.emailMasked);
    expect(queueHtml).not.toContain('Cannot sign in');

    const taken = await postForm(agentCookie, `/inquiries/${id}`, { intent: 'take' });
    expect(taken.status).toBe(200);
    const mine = await (await fetchAs(agentCookie, `/inquiries/${id}`)).text();
    expect(mine).toContain('Cannot sign in');
    expect(mine).toContain('My password reset link never arrives.');
    const theirs = await fetchAs(otherCookie, `/inquiries/${id}`);
    expect(theirs.status).toBe(200);
    const theirsHtml = await theirs.text();
    expect(theirsHtml).not.toContain('Cannot sign in');
    expect(theirsHtml).not.toContain('My password reset link');

    // Bad input is named; nothing is written.
    const bad = await postForm(agentCookie, `/inquiries/${id}`, {
      intent: 'reply',
      body: '',
      next: 'answered',
    });
    expect(bad.status).toBe(400);
    const reply = await postForm(agentCookie, `/inquiries/${id}`, {
      intent: 'reply',
      body: 'We sent a new link just now.',
      next: 'answered',
    });
    expect(reply.status).toBe(200);
    expect((await getInquiry(id))!.state).toBe('answered');
  });
});
