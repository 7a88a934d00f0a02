import { chromium } from 'playwright-core';
import type postgres from 'postgres';
import { flushAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
  pageText,
} from '../support/http.ts';
import type { Role } from '#app/modules/auth/permissions.ts';
import { inquiryFor, ownerConnection, seedUsers } from './users-fixtures.ts';

// Issue 13, "Queues and forms": the grant queue (why in each row, approve and deny in place, counts
// on the tabs, the tab matching the view), over HTTP against the real build.

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

async function request(
  who: Member,
  overrides: Record<string, string | string[]> = {},
): Promise<string> {
  const userId = (overrides.userId as string | undefined) ?? freshUser();
  const reason = overrides.reasonCode ?? 'support_inquiry';
  const response = await postForm(who.cookie, '/grants/new', {
    userId,
    categories: ['profile'],
    reasonCode: 'support_inquiry',
    justification: 'The customer cannot change the email address on their profile page',
    ticketRef: 'SUP-2207',
    durationMinutes: '30',
    startsAt: '',
    // A support_inquiry grant names an open inquiry of the user assigned to the requester.
    ...(reason === 'support_inquiry' ? { inquiryId: await inquiryFor(who.id, userId) } : {}),
    ...overrides,
  });
  expect(response.status).toBe(302);
  const match = /^\/grants\/([0-9a-f-]{36})\?requested=1$/.exec(
    response.headers.get('location') ?? '',
  );
  expect(match).not.toBeNull();
  return match![1]!;
}

async function statusOf(grantId: string) {
  const [row] = await owner<{ status: string }[]>`
    select status from console.grants where id = ${grantId}`;
  return row!.status;
}

/** The `<tr>` of the queue that links to this grant. */
function rowOf(html: string, grantId: string) {
  const rows = html.split('<tr').filter((r) => r.includes(`/grants/${grantId}"`));
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

function tabCount(html: string, view: string) {
  const match = new RegExp(`data-testid="tab-count-${view}">([^<]*)<`).exec(html);
  return match ? match[1] : null;
}

/** The grant page's action as a fetcher of the queue calls it (Remix's `_data` request). */
const FETCHER = '?_data=routes%2Fgrants.%24grantId';

describe('the grant queue', () => {
  it('shows the reason, the ticket and the justification in each row', async () => {
    const agent = await member('support_agent');
    const lead = await member('support_lead');
    const long = `The customer writes that the profile shows an old address; ${'details '.repeat(60)}end`;
    const grantId = await request(agent, { justification: long, ticketRef: 'SUP-7781' });
    const html = await pageText(await fetchAs(lead.cookie, '/grants?view=to_decide'));
    const row = rowOf(html, grantId);
    expect(row).toContain('Support inquiry');
    expect(row).toMatch(/data-testid="grant-ticket">SUP-7781</);
    // Counts read as words: "0 of 1 approval", never "1 approvals".
    expect(row).toMatch(/0 of 1 approval;/);
    expect(row).toContain('The customer writes that the profile shows an old address');
    // Long text is cut (the page has all of it), never the whole.
    expect(row).not.toContain('details end');
    expect(row).toContain('…');
    const mine = await pageText(await fetchAs(agent.cookie, '/grants?view=mine'));
    expect(rowOf(mine, grantId)).toContain('SUP-7781');
  });

  it('approves and denies from the list through the grant page’s action; deny asks for its comment', async () => {
    const agent = await member('support_agent', 'Agent Queue');
    const lead = await member('support_lead');
    const toApprove = await request(agent);
    const toDeny = await request(agent);
    const html = await pageText(await fetchAs(lead.cookie, '/grants?view=to_decide'));
    for (const id of [toApprove, toDeny]) {
      const row = rowOf(html, id);
      expect(row).toContain(`action="/grants/${id}"`);
      expect(row).toMatch(
        // The requester's name isolated (U+2068…U+2069), as every staff name in plain text is.
        /<label[^>]*for="decide-[^"]+"[^>]*>Comment on the request by \u2068Agent Queue\u2069/,
      );
      expect(row).toMatch(/name="comment"/);
      expect(row).toMatch(/<button[^>]*name="intent"[^>]*value="approve"[^>]*>Approve</);
      expect(row).toMatch(/<button[^>]*name="intent"[^>]*value="deny"[^>]*>Deny</);
    }
    // Other queues have no decision forms.
    const mine = await pageText(await fetchAs(agent.cookie, '/grants?view=mine'));
    expect(mine).not.toContain('data-testid="row-decision"');

    // Deny without a comment: refused, naming the field, nothing decided.
    const bare = await postForm(lead.cookie, `/grants/${toDeny}${FETCHER}`, {
      intent: 'deny',
      comment: '',
    });
    expect(bare.status).toBe(400);
    const refused = (await bare.json()) as { ok: boolean; fieldErrors: Record<string, string> };
    expect(refused.ok).toBe(false);
    expect(refused.fieldErrors.comment).toBe('Comment is required');
    expect(await statusOf(toDeny)).toBe('pending');

    const deny = await postForm(lead.cookie, `/grants/${toDeny}${FETCHER}`, {
      intent: 'deny',
      comment: 'No ticket matches this request',
    });
    expect(deny.status).toBe(200);
    expect(await deny.json()).toMatchObject({ ok: true, done: 'deny', status: 'denied' });
    // Approve needs no comment: one click from the list.
    const approve = await postForm(lead.cookie, `/grants/${toApprove}${FETCHER}`, {
      intent: 'approve',
      comment: '',
    });
    expect(await approve.json()).toMatchObject({ ok: true, done: 'approve', status: 'approved' });
    const decisions = await pageText(await fetchAs(agent.cookie, `/grants/${toApprove}`));
    expect(decisions).toContain('approved without a comment');
    expect(await statusOf(toDeny)).toBe('denied');
    expect(await statusOf(toApprove)).toBe('approved');

    // Decided rows leave the queue.
    const after = await pageText(await fetchAs(lead.cookie, '/grants?view=to_decide'));
    expect(after).not.toContain(`/grants/${toApprove}"`);
    expect(after).not.toContain(`/grants/${toDeny}"`);
  });

  it('counts each tab’s grants, and says 1,000+ past the cap', async () => {
    const agent = await member('support_agent');
    const lead = await member('support_lead');
    const before = await pageText(await fetchAs(lead.cookie, '/grants'));
    const waiting = Number((tabCount(before, 'to_decide') ?? 'x').replace(/,/g, ''));
    expect(Number.isInteger(waiting)).toBe(true);
    const first = await request(agent);
    await request(agent);
    const after = await pageText(await fetchAs(lead.cookie, '/grants'));
    expect(tabCount(after, 'to_decide')).toBe(String(waiting + 2));
    const agentPage = await pageText(await fetchAs(agent.cookie, '/grants'));
    expect(tabCount(agentPage, 'mine')).toBe('2');
    expect(tabCount(agentPage, 'active')).toBe('0');
    expect(tabCount(agentPage, 'history')).toBe('2');

    // 1,000 more of the agent's requests (copies of the first, straight into the table).
    await owner`
      insert into console.grants
      select (jsonb_populate_record(g, jsonb_build_object('id', gen_random_uuid()))).*
      from console.grants g, generate_series(1, 1000)
      where g.id = ${first}`;
    const many = await pageText(await fetchAs(agent.cookie, '/grants?view=mine'));
    expect(tabCount(many, 'mine')).toBe('1,000+');
    expect(tabCount(many, 'history')).toBe('1,000+');
  });

  it('an agent sent to the approvers’ queue gets their own requests, with the tab selected and a notice', async () => {
    const agent = await member('support_agent');
    const grantId = await request(agent);
    const response = await fetchAs(agent.cookie, '/grants?view=to_decide');
    expect(response.status).toBe(200);
    const html = await pageText(response);
    expect(html).not.toContain('data-testid="tab-to_decide"');
    expect(html).toMatch(/<a[^>]*aria-current="page"[^>]*data-testid="tab-mine"/);
    expect(html).toContain('data-testid="queue-notice"');
    expect(html).toContain('your roles do not include an approver permission');
    expect(html).toContain(`/grants/${grantId}"`);
    // A lead's default is the queue to decide, selected.
    const lead = await member('support_lead');
    const leads = await pageText(await fetchAs(lead.cookie, '/grants'));
    expect(leads).toMatch(/<a[^>]*aria-current="page"[^>]*data-testid="tab-to_decide"/);
    expect(leads).not.toContain('data-testid="queue-notice"');
  });
});

describe('a requester learns of the decision without reloading', () => {
  interface Pulse {
    unread: number;
    latest: string | null;
    grant: string | null;
  }
  async function pulse(who: Member, grantId?: string): Promise<Pulse> {
    const response = await fetchAs(
      who.cookie,
      `/notifications/live${grantId ? `?grant=${grantId}` : ''}`,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toContain('application/json');
    return (await response.json()) as Pulse;
  }

  it('the polled resource changes when a decision arrives, for the count and the grant page', async () => {
    const agent = await member('support_agent');
    const lead = await member('support_lead');
    const grantId = await request(agent);
    const before = await pulse(agent, grantId);
    expect(before.grant).toMatch(/^pending\|0\|0\|/);

    await postForm(lead.cookie, `/grants/${grantId}`, {
      intent: 'approve',
      comment: 'Matches the ticket',
    });
    const after = await pulse(agent, grantId);
    expect(after.unread).toBe(before.unread + 1);
    expect(after.latest).not.toBe(before.latest);
    expect(after.grant).not.toBe(before.grant);
    expect(after.grant).toMatch(/^active\|1\|1\|/);

    // Someone who may not see the grant learns nothing of it, not even that it exists.
    const other = await member('support_agent');
    expect((await pulse(other, grantId)).grant).toBeNull();
    // A bad id is named; signed out is sent to sign in.
    const bad = await fetchAs(agent.cookie, '/notifications/live?grant=nope');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('grant');
    expect((await fetchAs(null, '/notifications/live')).status).toBe(302);
  });

  it('polling is not activity: it leaves an idle session’s last-seen time alone; a page view moves it', async () => {
    const agent = await member('support_agent');
    const lastSeen = async () =>
      (
        await owner<{ at: Date }[]>`
          select last_seen_at as at from console.sessions where staff_id = ${agent.id}`
      )[0]!.at.getTime();
    // Three minutes without activity: past the one-minute touch interval.
    await owner`update console.sessions set last_seen_at = now() - interval '3 minutes'
                where staff_id = ${agent.id}`;
    const idleSince = await lastSeen();
    expect((await fetchAs(agent.cookie, '/notifications/live')).status).toBe(200);
    expect(await lastSeen()).toBe(idleSince);
    expect((await fetchAs(agent.cookie, '/grants')).status).toBe(200);
    expect(await lastSeen()).toBeGreaterThan(idleSince);
  });

  it('in a browser, the grant page and the header count update without a reload', async () => {
    const agent = await member('support_agent');
    const lead = await member('support_lead');
    const grantId = await request(agent);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
    });
    try {
      const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      const [name, value] = agent.cookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: server.baseUrl }]);
      const page = await context.newPage();
      await page.goto(`${server.baseUrl}/grants/${grantId}`);
      await page.waitForFunction(
        () =>
          (window as unknown as { __remixRouter?: { state: { initialized: boolean } } })
            .__remixRouter?.state.initialized === true,
      );
      // Marks this document: a reload would lose it.
      await page.evaluate(
        () => ((window as unknown as { sameDocument: boolean }).sameDocument = true),
      );
      const unread = Number(
        await page.getByTestId('notifications-link').getAttribute('data-unread'),
      );
      expect(await page.getByTestId('grant-state').innerText()).toContain('Pending');

      await postForm(lead.cookie, `/grants/${grantId}`, {
        intent: 'approve',
        comment: 'Matches the ticket',
      });
      await page.waitForFunction(
        (n) =>
          document
            .querySelector('[data-testid="notifications-link"]')
            ?.getAttribute('data-unread') === String(n) &&
          /Active/.test(document.querySelector('[data-testid="grant-state"]')?.textContent ?? ''),
        unread + 1,
        { timeout: 15_000 },
      );
      expect(
        await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument),
      ).toBe(true);
      expect(await page.getByTestId('timeline').innerText()).toContain('approved');
    } finally {
      await browser.close();
    }
  });
});

describe('the request form speaks plainly', () => {
  it('shows the ticket format as an example and names approvers by role and by name', async () => {
    const approver = await member('support_lead', 'Aaron Approver');
    const officer = await member('privacy_officer', 'Abby Officer');
    const agent = await member('support_agent');
    const user = freshUser();
    const page = await pageText(
      await fetchAs(
        agent.cookie,
        `/grants/new?user=${user}&category=profile&category=conversations`,
      ),
    );
    // What is shown (not the loader's data for the script): no permission codes, no expression.
    const html = page.slice(page.indexOf('<main'), page.indexOf('</main>'));
    expect(html).not.toMatch(/grants:approve/);
    expect(html).not.toContain('^[A-Z]');
    expect(html).toContain('for example <code>SUP-1234</code>');
    // Each category names the roles that approve it.
    const conversations = html.slice(html.indexOf('value="conversations"'));
    expect(conversations.slice(0, 600)).toContain('by a privacy officer or a support lead.');
    const profile = html.slice(html.indexOf('value="profile"'));
    expect(profile.slice(0, 600)).toContain('by a support lead.');
    // Both together: one person holding both, in words, with the people's names.
    const needed = /data-testid="approvers-needed">([\s\S]*?)<\/p>/.exec(html)![1]!;
    expect(needed).toContain('one person approves them all');
    expect(needed).toContain('a support lead');
    expect(needed).toContain(approver.displayName);
    expect(needed).not.toContain(officer.displayName);
    expect(needed).not.toContain(' and grants');

    // Conversations alone: either role, both people; the requester is never named.
    const alone = await pageText(
      await fetchAs(approver.cookie, `/grants/new?user=${user}&category=conversations`),
    );
    const aloneNeeded = /data-testid="approvers-needed">([\s\S]*?)<\/p>/.exec(alone)![1]!;
    expect(aloneNeeded).toContain('a privacy officer or a support lead');
    expect(aloneNeeded).toContain(officer.displayName);
    expect(aloneNeeded).not.toContain(approver.displayName);

    // A wrong ticket is explained with the example too.
    const wrong = await postForm(agent.cookie, '/grants/new', {
      userId: user,
      categories: ['profile'],
      reasonCode: 'support_inquiry',
      justification: 'The customer cannot change the email address on their profile page',
      ticketRef: 'call me',
      durationMinutes: '30',
      startsAt: '',
    });
    expect(wrong.status).toBe(400);
    const body = await pageText(wrong);
    expect(body).toContain('Ticket reference must look like SUP-1234');
    expect(body).not.toContain('^[A-Z]');
  });
});

describe('the user page', () => {
  /** The history table's body rows. */
  function historyRows(html: string) {
    const table = html.slice(html.indexOf('id="history-title"'));
    const body = table.slice(table.indexOf('<tbody'), table.indexOf('</tbody>'));
    return body.split('<tr').slice(1);
  }

  it('marks the categories the viewer holds a live grant for; its history leaves out the viewer’s own lookups and shows refusals', async () => {
    const agent = await member('support_agent');
    const lead = await member('support_lead');
    const other = await member('support_agent');
    const grantId = await request(agent, { categories: ['profile'] });
    const user = (
      await owner<{ user_id: string }[]>`select user_id from console.grants where id = ${grantId}`
    )[0]!.user_id;
    await postForm(lead.cookie, `/grants/${grantId}`, { intent: 'approve', comment: 'Fine' });
    expect((await fetchAs(agent.cookie, `/users/${user}/profile`)).status).toBe(200);
    // Someone else looks the user up and is refused their conversations.
    expect((await fetchAs(other.cookie, `/users/${user}`)).status).toBe(200);
    expect((await fetchAs(other.cookie, `/users/${user}/conversations`)).status).toBe(403);
    // The agent opens the page a few times.
    for (let i = 0; i < 3; i++) await fetchAs(agent.cookie, `/users/${user}`);
    await flushAudit();
    const html = await pageText(await fetchAs(agent.cookie, `/users/${user}`));

    expect(html).toMatch(/data-testid="category-profile" data-live="yes"/);
    expect(html).toMatch(/data-testid="category-conversations" data-live="no"/);
    expect(/data-testid="live-grants-summary">([\s\S]*?)<\/p>/.exec(html)![1]).toContain(
      'You hold a live grant for <strong>profile</strong>',
    );

    const rows = historyRows(html);
    const lookups = rows.filter((r) => r.includes('End user looked up'));
    // Only the other agent's lookup: none of the agent's own four.
    expect(lookups).toHaveLength(1);
    expect(lookups[0]).not.toContain('>You<');
    const views = rows.filter((r) => r.includes('A data category of an end user viewed'));
    expect(views).toHaveLength(1);
    expect(views[0]).toContain('>You<');
    const refused = rows.filter((r) => r.includes('>denied<'));
    expect(refused).toHaveLength(1);
    // Why, and which data: the gate's reason in words, the category as on a view.
    expect(refused[0]).toContain('No grant');
    expect(refused[0]).toMatch(/class="badge">conversations</);
    expect(rows).toHaveLength(3);

    // The other agent holds nothing: told so.
    const theirs = await pageText(await fetchAs(other.cookie, `/users/${user}`));
    expect(theirs).toContain('You hold <strong>no live grant</strong> for this user');
    expect(theirs).toMatch(/data-testid="category-profile" data-live="no"/);
  });
});
