import type postgres from 'postgres';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { CARD_PLACEHOLDER } from '#app/modules/access/redact.ts';
import { flushAudit, lastSeq, readAudit, type LoggedEntry } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  alertText,
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
  pageText,
  actorOf,
} from '../support/http.ts';
import type { Role } from '#app/modules/auth/permissions.ts';
import { inquiryFor, ownerConnection, seedUsers } from './users-fixtures.ts';

// The grant pages over HTTP: the request form, decisions, revocation, break-glass with its banner
// and review, notifications, the security review and its CSV, and the policies page. The domain's
// rules are tested in access-grants.test.ts; here, that the pages reach them and say what happened.

useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let userIds: string[];

beforeAll(async () => {
  await seedUsers();
  owner = ownerConnection();
  userIds = (
    await owner<{ id: string }[]>`select id from product.users order by created_at, id`
  ).map((r) => r.id);
  server = await startTestServer();
});
afterAll(async () => {
  await owner?.end();
  await server?.close();
});

interface Member {
  id: string;
  displayName: string;
  cookie: string;
}

async function member(role: Role, displayName?: string): Promise<Member> {
  const who = await createStaffWithRoles([role], { displayName });
  return { ...who, cookie: await signInAs(server.baseUrl, who.email, who.password) };
}

let nextUser = 0;
const freshUser = () => userIds[nextUser++ % userIds.length]!;

const validRequest = (userId: string, overrides: Record<string, string | string[]> = {}) => ({
  userId,
  categories: ['conversations'],
  reasonCode: 'support_inquiry',
  justification: 'The customer reports that a conversation from yesterday disappeared',
  ticketRef: 'SUP-1042',
  durationMinutes: '30',
  startsAt: '',
  ...overrides,
});

/** Requests through the form; returns the new grant's id. */
async function requestThroughForm(who: Member, fields: Record<string, string | string[]>) {
  // A support_inquiry grant names an open inquiry of the user assigned to the requester (ADR 034).
  if (fields.reasonCode === 'support_inquiry' && !fields.inquiryId) {
    fields = { ...fields, inquiryId: await inquiryFor(who.id, fields.userId as string) };
  }
  const response = await postForm(who.cookie, '/grants/new', fields);
  expect(response.status).toBe(302);
  const location = response.headers.get('location') ?? '';
  const match = /^\/grants\/([0-9a-f-]{36})\?requested=1$/.exec(location);
  expect(match, location).not.toBeNull();
  return match![1]!;
}

async function countGrants() {
  const [row] = await owner<{ n: number }[]>`select count(*)::int as n from console.grants`;
  return row!.n;
}

async function statusOf(grantId: string) {
  const [row] = await owner<{ status: string }[]>`
    select status from console.grants where id = ${grantId}`;
  return row?.status;
}

const actions = (entries: LoggedEntry[]) => entries.map((e) => `${e.action}:${e.outcome}`);

describe('the request form', () => {
  it('shows the configured ticket format, the policy maxima and the redaction note', async () => {
    const agent = await member('support_agent');
    const user = freshUser();
    const response = await fetchAs(agent.cookie, `/grants/new?user=${user}&category=payments`);
    expect(response.status).toBe(200);
    const html = await pageText(response);
    // The format by example, not as a regular expression (issue 13).
    expect(html).toContain('for example <code>SUP-1234</code>');
    expect(html).not.toContain('^[A-Z][A-Z0-9]+-\\d+$');
    expect(html).toContain(`value="${user}"`);
    expect(html).toMatch(/<input(?=[^>]*value="payments")(?=[^>]*checked="")[^>]*>/);
    expect(html).not.toMatch(/<input(?=[^>]*value="profile")(?=[^>]*checked="")[^>]*>/);
    expect(html).toContain('At most 1 hour');
    expect(html).toContain(`replaced by “${CARD_PLACEHOLDER}” before anything is stored`);
    expect(html).toContain('at least 20 letters or digits');
  });

  it('answers bad input with 400 naming each field, and writes nothing', async () => {
    const agent = await member('support_agent');
    const grantsBefore = await countGrants();
    const seqBefore = await lastSeq();
    const response = await postForm(agent.cookie, '/grants/new', {
      userId: 'not-a-uuid',
      reasonCode: 'because',
      justification: 'test test test test test test',
      ticketRef: 'ticket 12',
      durationMinutes: '2',
    });
    expect(response.status).toBe(400);
    const html = await pageText(response);
    for (const field of [
      'userId',
      'categories',
      'reasonCode',
      'justification',
      'ticketRef',
      'durationMinutes',
    ]) {
      expect(html, field).toContain(`id="field-${field}-error"`);
      expect(html, field).toMatch(new RegExp(`aria-describedby="[^"]*field-${field}-error`));
    }
    expect(html).toContain('Choose at least one data category');
    expect(html).toContain('Justification must explain the need');
    expect(html).toContain('Ticket reference must look like SUP-1234');
    expect(html).toContain('Duration must be at least 5 minutes');
    expect(html).toContain('Nothing was saved.');
    expect(await countGrants()).toBe(grantsBefore);
    expect(actions(await readAudit(seqBefore)).filter((a) => a.startsWith('grant.'))).toEqual([]);
  });

  it('refuses a duration over the policy of a chosen category, naming the field', async () => {
    const agent = await member('support_agent');
    const grantsBefore = await countGrants();
    const response = await postForm(
      agent.cookie,
      '/grants/new',
      validRequest(freshUser(), { durationMinutes: '90' }),
    );
    expect(response.status).toBe(400);
    const html = await pageText(response);
    expect(html).toContain('id="field-durationMinutes-error"');
    expect(html).toContain('the policy for conversations allows no longer');
    expect(await countGrants()).toBe(grantsBefore);
  });

  it('redacts a card number typed into the justification before it is stored', async () => {
    const agent = await member('support_agent');
    const grantId = await requestThroughForm(
      agent,
      validRequest(freshUser(), {
        justification: 'Customer pasted card 4111 1111 1111 1111 into the chat, needs removal',
      }),
    );
    const [row] = await owner<{ justification: string }[]>`
      select justification from console.grants where id = ${grantId}`;
    expect(row!.justification).toBe(
      `Customer pasted card ${CARD_PLACEHOLDER} into the chat, needs removal`,
    );
    const html = await pageText(await fetchAs(agent.cookie, `/grants/${grantId}`));
    expect(html).not.toContain('4111 1111');
  });
});

describe('deciding and revoking', () => {
  it('request → a lead approves → the grant is in the active queue and opens the data', async () => {
    const agent = await member('support_agent', 'Agent Approved');
    const lead = await member('support_lead');
    const user = freshUser();
    const grantId = await requestThroughForm(agent, validRequest(user));

    // The lead is told and finds it in the queue waiting for a decision.
    const queue = await pageText(await fetchAs(lead.cookie, '/grants?view=to_decide'));
    expect(queue).toContain(`/grants/${grantId}`);
    const notes = await pageText(await fetchAs(lead.cookie, '/notifications'));
    expect(notes).toContain('Agent Approved</bdi> asks to see conversations');

    const detail = await pageText(await fetchAs(lead.cookie, `/grants/${grantId}`));
    expect(detail).toContain('Your decision');

    // A denial needs its comment (an approval does not: the grant queue's tests).
    const bare = await postForm(lead.cookie, `/grants/${grantId}`, {
      intent: 'deny',
      comment: ' ',
    });
    expect(bare.status).toBe(400);
    expect(await pageText(bare)).toContain('id="field-comment-error"');
    expect(await statusOf(grantId)).toBe('pending');

    const approve = await postForm(lead.cookie, `/grants/${grantId}`, {
      intent: 'approve',
      comment: 'Matches the ticket, one conversation only',
    });
    expect(approve.status).toBe(200);
    expect(await pageText(approve)).toContain('Approved.');
    expect(await statusOf(grantId)).toBe('approved');

    const active = await pageText(await fetchAs(agent.cookie, '/grants?view=active'));
    expect(active).toContain(`/grants/${grantId}`);
    expect(active).toContain('data-state="active"');
    const mine = await pageText(await fetchAs(agent.cookie, `/grants/${grantId}`));
    expect(mine).toMatch(/approved:\s*<q[^>]*>Matches the ticket, one conversation only<\/q>/);
    const agentNotes = await pageText(await fetchAs(agent.cookie, '/notifications'));
    expect(agentNotes).toContain('Your request for conversations');
    expect(agentNotes).toContain('was approved');

    expect((await fetchAs(agent.cookie, `/users/${user}/conversations`)).status).toBe(200);
  });

  it('refuses self-approval through the page with a clear message, audited', async () => {
    const lead = await member('support_lead');
    const grantId = await requestThroughForm(lead, validRequest(freshUser()));
    const detail = await pageText(await fetchAs(lead.cookie, `/grants/${grantId}`));
    expect(detail).not.toContain('Your decision');
    expect(detail).toContain('You made this request, so you cannot approve or deny it');

    const before = await lastSeq();
    const response = await postForm(lead.cookie, `/grants/${grantId}`, {
      intent: 'approve',
      comment: 'Approving my own request',
    });
    expect(response.status).toBe(403);
    expect(alertText(await pageText(response))).toContain('Nobody decides their own request.');
    expect(await statusOf(grantId)).toBe('pending');
    const entries = await readAudit(before);
    expect(actions(entries)).toContain('grant.approve:denied');
    expect(entries.find((e) => e.action === 'grant.approve')?.details.reason).toBe('self_decision');
  });

  it('revocation takes effect on the very next request', async () => {
    const agent = await member('support_agent');
    const lead = await member('support_lead');
    const user = freshUser();
    const grantId = await requestThroughForm(agent, validRequest(user));
    await postForm(lead.cookie, `/grants/${grantId}`, {
      intent: 'approve',
      comment: 'Fine for half an hour',
    });
    expect((await fetchAs(agent.cookie, `/users/${user}/conversations`)).status).toBe(200);

    const revoke = await postForm(lead.cookie, `/grants/${grantId}`, { intent: 'revoke' });
    expect(revoke.status).toBe(200);
    expect(await pageText(revoke)).toContain('Revoked.');
    expect(await statusOf(grantId)).toBe('revoked');

    const refused = await fetchAs(agent.cookie, `/users/${user}/conversations`);
    expect(refused.status).toBe(403);
    expect(await pageText(refused)).toContain('Your grant to this data was revoked.');
    expect(await pageText(await fetchAs(agent.cookie, '/grants?view=active'))).not.toContain(
      `/grants/${grantId}`,
    );
    const history = await pageText(await fetchAs(agent.cookie, `/grants/${grantId}`));
    expect(history).toContain('data-testid="step-revoked"');
    expect(history).toContain('by an approver');
  });

  it('the requester withdraws a pending request; someone else may not', async () => {
    const agent = await member('support_agent');
    const other = await member('support_agent');
    const grantId = await requestThroughForm(agent, validRequest(freshUser()));
    expect((await fetchAs(other.cookie, `/grants/${grantId}`)).status).toBe(404);
    const sneaky = await postForm(other.cookie, `/grants/${grantId}`, { intent: 'withdraw' });
    expect(sneaky.status).toBe(403);
    expect(await statusOf(grantId)).toBe('pending');
    const withdraw = await postForm(agent.cookie, `/grants/${grantId}`, { intent: 'withdraw' });
    expect(withdraw.status).toBe(200);
    expect(await statusOf(grantId)).toBe('cancelled');
  });

  it('answers an unknown intent, grant id or queue with the field named', async () => {
    const agent = await member('support_agent');
    const grantId = await requestThroughForm(agent, validRequest(freshUser()));
    const odd = await postForm(agent.cookie, `/grants/${grantId}`, { intent: 'promote' });
    expect(odd.status).toBe(400);
    expect((await fetchAs(agent.cookie, '/grants/not-a-grant')).status).toBe(404);
    const badQueue = await fetchAs(agent.cookie, '/grants?view=everything');
    expect(badQueue.status).toBe(400);
    expect(await pageText(badQueue)).toContain('Invalid view');
    const badUser = await fetchAs(agent.cookie, '/grants?view=mine&user=nobody');
    expect(badUser.status).toBe(400);
    expect(await pageText(badUser)).toContain('Invalid user');
    const badCursor = await fetchAs(agent.cookie, '/grants?view=mine&after=xyz');
    expect(badCursor.status).toBe(400);
    expect(await pageText(badCursor)).toContain('Invalid after');
  });

  it('pages a queue with a keyset cursor in the address', async () => {
    const agent = await member('support_agent');
    const ids = new Set<string>();
    for (let i = 0; i < 27; i++)
      ids.add(await requestThroughForm(agent, validRequest(freshUser())));
    const first = await pageText(await fetchAs(agent.cookie, '/grants?view=mine'));
    const nextTag = /<a [^>]*rel="next"[^>]*>/.exec(first)?.[0] ?? '';
    const href = /href="([^"]+)"/.exec(nextTag)?.[1];
    expect(href).toMatch(/^\/grants\?view=mine&after=/);
    const second = await pageText(await fetchAs(agent.cookie, href!));
    expect(second).not.toMatch(/<a [^>]*rel="next"/);
    const seen = (html: string) =>
      [...html.matchAll(/href="\/grants\/([0-9a-f-]{36})"/g)].map((m) => m[1]!);
    const all = [...seen(first), ...seen(second)];
    expect(seen(first)).toHaveLength(25);
    expect(all).toHaveLength(27);
    expect(new Set(all).size).toBe(27);
    for (const id of all) expect(ids.has(id)).toBe(true);
  });
});

describe('break-glass', () => {
  it('shows the banner on every page, alerts reviewers, and waits in the review until reviewed', async () => {
    const breaker = await member('security_auditor', 'Breaker Auditor');
    const reviewer = await member('security_auditor');
    const user = freshUser();
    const unreadBefore = await pageText(await fetchAs(reviewer.cookie, '/notifications'));
    expect(unreadBefore).toContain('Nothing unread.');

    const response = await postForm(breaker.cookie, '/grants/break-glass', {
      userId: user,
      categories: ['payments'],
      reasonCode: 'security_investigation',
      justification: 'Card testing attack in progress on this account right now',
      ticketRef: '',
      durationMinutes: '',
    });
    expect(response.status).toBe(302);
    const grantId = /^\/grants\/([0-9a-f-]{36})\?broke=1$/.exec(
      response.headers.get('location') ?? '',
    )![1]!;

    for (const path of ['/', '/grants', `/users/${user}/payments`]) {
      const html = await pageText(await fetchAs(breaker.cookie, path));
      expect(html, path).toMatch(
        /data-testid="break-glass-banner"[^>]*role="alert"|role="alert"[^>]*data-testid="break-glass-banner"/,
      );
      expect(html, path).toContain('Break-glass access is active.');
    }
    const reviewerHome = await pageText(await fetchAs(reviewer.cookie, '/'));
    expect(reviewerHome).not.toContain('data-testid="break-glass-banner"');
    expect(reviewerHome).toContain('data-unread="1"');
    const notes = await pageText(await fetchAs(reviewer.cookie, '/notifications'));
    expect(notes).toContain('Breaker Auditor</bdi> opened payments');

    // A second break-glass waits for the review of the first.
    const again = await fetchAs(breaker.cookie, '/grants/break-glass');
    expect(await pageText(again)).toContain('data-testid="break-glass-blocked"');

    const review = await pageText(await fetchAs(reviewer.cookie, '/security/access'));
    const waiting = review.slice(review.indexOf('data-testid="break-glass-waiting"'));
    expect(waiting.slice(0, waiting.indexOf('</section>'))).toContain(`/grants/${grantId}`);

    // The breaker may not review their own use.
    const self = await postForm(breaker.cookie, `/grants/${grantId}`, { intent: 'review' });
    expect(self.status).toBe(403);
    expect(alertText(await pageText(self))).toContain('Nobody reviews their own break-glass use.');

    const done = await postForm(reviewer.cookie, `/grants/${grantId}`, {
      intent: 'review',
      comment: 'Confirmed with the fraud team',
    });
    expect(done.status).toBe(200);
    const after = await pageText(await fetchAs(reviewer.cookie, '/security/access'));
    const list = after.slice(after.indexOf('data-testid="break-glass-waiting"'));
    expect(list.slice(0, list.indexOf('</section>'))).not.toContain(`/grants/${grantId}`);
    expect(await pageText(await fetchAs(breaker.cookie, '/grants/break-glass'))).not.toContain(
      'data-testid="break-glass-blocked"',
    );
  });

  it('is refused to those without grants:break_glass', async () => {
    const agent = await member('support_agent');
    expect((await fetchAs(agent.cookie, '/grants/break-glass')).status).toBe(403);
    const grantsBefore = await countGrants();
    const response = await postForm(agent.cookie, '/grants/break-glass', {
      userId: freshUser(),
      categories: ['payments'],
      justification: 'Card testing attack in progress on this account right now',
    });
    expect(response.status).toBe(403);
    expect(await countGrants()).toBe(grantsBefore);
  });
});

describe('the security review', () => {
  it('counts and lists a view outside its grant, with the rule it breaks', async () => {
    const agent = await member('support_agent', 'Outside Viewer');
    const lead = await member('support_lead');
    const auditor = await member('security_auditor');
    const user = freshUser();
    const grantId = await requestThroughForm(agent, validRequest(user));
    await postForm(lead.cookie, `/grants/${grantId}`, { intent: 'approve', comment: 'Fine' });
    await postForm(lead.cookie, `/grants/${grantId}`, { intent: 'revoke' });

    const clean = await pageText(await fetchAs(auditor.cookie, '/security/access'));
    const countOf = (html: string) =>
      Number(/data-testid="views-outside-count">(\d+)</.exec(html)?.[1]);
    const before = countOf(clean);

    // A view recorded under the grant after its revocation and one of a category it never had:
    // what law 2 forbids, written straight to the trail as a bug would.
    for (const category of ['conversations', 'payments'] as const) {
      await recordAudit(await actorOf(agent), {
        action: 'user.view',
        outcome: 'allowed',
        userId: user,
        grantId,
        details: { category },
      });
    }
    await flushAudit();
    const html = await pageText(await fetchAs(auditor.cookie, '/security/access'));
    expect(countOf(html)).toBe(before + 2);
    expect(html).toContain('after the grant was revoked');
    expect(html).toContain('of a category the grant does not cover');
    expect(html).toContain('Outside Viewer');
  });

  it('downloads the grants as CSV, audited, with formulas neutralised', async () => {
    const agent = await member('support_agent', '=Formula Name');
    const auditor = await member('security_auditor');
    await requestThroughForm(
      agent,
      validRequest(freshUser(), {
        justification: '=HYPERLINK("http://evil.example") customer lost a whole conversation',
      }),
    );
    const before = await lastSeq();
    const response = await fetchAs(auditor.cookie, '/security/access/csv');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/csv');
    expect(response.headers.get('content-disposition')).toMatch(
      /attachment; filename="security-access-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv"/,
    );
    const csv = await response.text();
    expect(csv).toContain(
      `"'=HYPERLINK(""http://evil.example"") customer lost a whole conversation"`,
    );
    expect(csv).toContain(`'=Formula Name`);
    expect(csv).not.toMatch(/(^|,)=/m);
    const rows = Number(response.headers.get('x-custodian-rows'));
    expect(rows).toBeGreaterThan(0);
    const entries = await readAudit(before);
    const exported = entries.find((e) => e.action === 'export.run');
    expect(exported?.outcome).toBe('allowed');
    expect(exported?.actor?.staffId).toBe(auditor.id);
    expect(exported?.details).toEqual({ kind: 'security_access', rows });
  });

  it('names a bad period parameter with 400', async () => {
    const auditor = await member('security_auditor');
    const bad = await fetchAs(auditor.cookie, '/security/access?from=yesterday');
    expect(bad.status).toBe(400);
    expect(await pageText(bad)).toContain('Invalid from');
    const reversed = await fetchAs(
      auditor.cookie,
      '/security/access?from=2025-02-01&to=2025-01-01',
    );
    expect(reversed.status).toBe(400);
    expect(await pageText(reversed)).toContain('Invalid to');
    const csv = await fetchAs(auditor.cookie, '/security/access/csv?to=2025-13-45');
    expect(csv.status).toBe(400);
  });

  it('is for holders of security:review only', async () => {
    const lead = await member('support_lead');
    expect((await fetchAs(lead.cookie, '/security/access')).status).toBe(403);
    const before = await lastSeq();
    expect((await fetchAs(lead.cookie, '/security/access/csv')).status).toBe(403);
    expect(actions(await readAudit(before))).not.toContain('export.run:allowed');
  });
});

describe('notifications', () => {
  it('marks one or all as read, and the header count follows', async () => {
    const agent = await member('support_agent');
    const lead = await member('support_lead');
    const first = await requestThroughForm(agent, validRequest(freshUser()));
    await requestThroughForm(agent, validRequest(freshUser()));
    const home = await pageText(await fetchAs(lead.cookie, '/'));
    expect(home).toContain('data-unread="2"');
    const list = await pageText(await fetchAs(lead.cookie, '/notifications'));
    const row = list.slice(list.indexOf(`/grants/${first}`));
    const id = /name="id" value="([0-9a-f-]{36})"/.exec(row)?.[1];
    expect(id).toBeDefined();
    const one = await postForm(lead.cookie, '/notifications', { intent: 'read', id: id! });
    expect(one.status).toBe(200);
    expect(await pageText(await fetchAs(lead.cookie, '/'))).toContain('data-unread="1"');
    await postForm(lead.cookie, '/notifications', { intent: 'read-all' });
    expect(await pageText(await fetchAs(lead.cookie, '/'))).toContain('data-unread="0"');
    const bad = await postForm(lead.cookie, '/notifications', { intent: 'read', id: 'x' });
    expect(bad.status).toBe(400);
  });
});

describe('policies', () => {
  const fields = {
    category: 'usage',
    maxDurationMinutes: '120',
    approvalsNeeded: '2',
    approverPermission: 'grants:approve',
  };
  const policy = async () =>
    (
      await owner<{ max_duration_minutes: number; approvals_needed: number }[]>`
        select max_duration_minutes, approvals_needed from console.grant_policies
        where category = 'usage'`
    )[0]!;

  it('are editable by an admin, audited, with bad values named', async () => {
    const admin = await member('admin');
    const bad = await postForm(admin.cookie, '/admin/policies', {
      ...fields,
      maxDurationMinutes: '999',
    });
    expect(bad.status).toBe(400);
    expect(await pageText(bad)).toContain('id="usage-maxDurationMinutes-error"');
    expect((await policy()).max_duration_minutes).toBe(60);

    const before = await lastSeq();
    const ok = await postForm(admin.cookie, '/admin/policies', fields);
    expect(ok.status).toBe(200);
    expect(await pageText(ok)).toContain('Saved the usage policy.');
    expect(await policy()).toEqual({ max_duration_minutes: 120, approvals_needed: 2 });
    expect(actions(await readAudit(before))).toContain('grant.policy_change:allowed');

    // The request form shows the new maximum.
    const agent = await member('support_agent');
    const form = await pageText(await fetchAs(agent.cookie, '/grants/new?category=usage'));
    expect(form).toContain('At most 2 hours');
  });

  it('are not editable by anyone else', async () => {
    for (const role of ['support_lead', 'security_auditor', 'privacy_officer'] as const) {
      const who = await member(role);
      expect((await fetchAs(who.cookie, '/admin/policies')).status, role).toBe(403);
      const response = await postForm(who.cookie, '/admin/policies', {
        ...fields,
        maxDurationMinutes: '5',
      });
      expect(response.status, role).toBe(403);
    }
    expect((await policy()).max_duration_minutes).not.toBe(5);
  });
});
