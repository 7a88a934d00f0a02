import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import postgres from 'postgres';
import { inject } from 'vitest';
import { DEMO_STAFF } from '#app/modules/auth/demo-staff.server.ts';
import { axeViolations, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// The whole story of issue 4, as its people live it: an agent looks a user up, asks for their
// profile and conversations, a lead approves, the agent reads a conversation and reveals the
// email, and the security auditor finds every step on /audit.

const baseUrl = inject('baseUrl');
let browser: Browser;
let userId: string;

beforeAll(async () => {
  browser = await launch();
  const url = fs.readFileSync(path.join(inject('dataDir'), 'database-url'), 'utf8').trim();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // A user with at least one conversation, not one the other browser tests use.
    const [row] = await sql<{ id: string }[]>`
      select u.id from product.users u
      where exists (select 1 from product.conversations c where c.user_id = u.id)
      order by u.created_at desc, u.id limit 1`;
    userId = row!.id;
    await inquiryFor(sql, 'agent@custodian.test', userId);
  } finally {
    await sql.end();
  }
});
afterAll(async () => {
  await browser?.close();
});

/**
 * An open inquiry of `userId` assigned to the staff member with `email` (ADR 034): what a grant
 * asked for with the reason support_inquiry names. Written directly; its subject is not readable.
 */
async function inquiryFor(sql: postgres.Sql, email: string, userId: string) {
  const at = new Date();
  const later = new Date(at.getTime() + 86_400_000);
  const [row] = await sql<{ id: string }[]>`
    insert into console.inquiries (id, user_id, category, state, source, subject_enc,
      assignee_id, received_at, first_response_due_at, resolution_due_at, created_at, updated_at)
    select gen_random_uuid(), ${userId}, 'account', 'assigned', 'staff', ${Buffer.from('demo')},
           st.id, ${at}, ${later}, ${later}, ${at}, ${at}
      from console.staff st where st.email = ${email}
    returning id`;
  return row!.id;
}

async function as(role: 'support_agent' | 'support_lead' | 'security_auditor') {
  const who = DEMO_STAFF.find((d) => d.role === role)!;
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, baseUrl, who.email, DEMO_PASSWORD);
  return { context, page, problems };
}

describe('the whole story', () => {
  it('lookup → request → approval → reading and revealing → every step on the audit trail', async () => {
    const agent = await as('support_agent');
    await agent.page.goto(`${baseUrl}/users`);
    await agent.page.getByLabel('User id or email address').fill(userId);
    await agent.page.getByRole('button', { name: 'Find' }).click();
    await agent.page.waitForURL((u) => u.searchParams.get('q') === userId);
    expect(await axeViolations(agent.page)).toEqual([]);
    await screenshot(agent.page, 'story-1-lookup');

    await agent.page.goto(`${baseUrl}/grants/new?user=${userId}&category=conversations`);
    await agent.page.getByRole('checkbox', { name: /Profile/ }).check();
    await agent.page.getByLabel('Reason').selectOption('support_inquiry');
    // The inquiry the grant serves: the agent's open one for this user, offered by the form.
    await agent.page.getByLabel('Inquiry', { exact: true }).selectOption({ index: 1 });
    await agent.page
      .getByLabel('Justification')
      .fill('The user asks why their conversation history stopped syncing since Monday');
    await agent.page.getByLabel('Ticket reference').fill('SUP-7001');
    await agent.page.getByLabel('Duration (minutes)').fill('30');
    await Promise.all([
      agent.page.waitForURL(/\/grants\/[0-9a-f-]{36}/),
      agent.page.getByRole('button', { name: 'Send request' }).click(),
    ]);
    const grantPath = new URL(agent.page.url()).pathname;
    await screenshot(agent.page, 'story-2-requested');

    const lead = await as('support_lead');
    await lead.page.goto(`${baseUrl}${grantPath}`);
    await lead.page.getByLabel('Comment (required to deny)').fill('Ticket SUP-7001 checked');
    await lead.page.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => lead.page.getByTestId('grant-state').textContent()).toContain('Active');
    await screenshot(lead.page, 'story-3-approved');

    const list = await agent.page.goto(`${baseUrl}/users/${userId}/conversations`);
    expect(list?.status()).toBe(200);
    await agent.page.locator(`a[href^="/users/${userId}/conversations/"]`).first().click();
    await agent.page.waitForURL(/\/conversations\/[0-9a-f-]{36}/);
    expect(await axeViolations(agent.page)).toEqual([]);
    await screenshot(agent.page, 'story-4-conversation');

    await agent.page.goto(`${baseUrl}/users/${userId}/profile`);
    await agent.page.getByRole('button', { name: /Reveal the email/ }).click();
    await expect.poll(() => agent.page.getByTestId('revealed-email').textContent()).toContain('@');
    expect(await axeViolations(agent.page)).toEqual([]);
    await screenshot(agent.page, 'story-5-revealed');

    const auditor = await as('security_auditor');
    const wanted = ['user.lookup', 'grant.request', 'grant.approve', 'user.view', 'user.reveal'];
    await expect
      .poll(
        async () => {
          await auditor.page.goto(`${baseUrl}/audit?user=${userId}&dir=asc`);
          const text = (await auditor.page.locator('table.data tbody').textContent()) ?? '';
          return wanted.filter((action) => !text.includes(action));
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toEqual([]);
    expect(await axeViolations(auditor.page)).toEqual([]);
    await screenshot(auditor.page, 'story-6-audit');

    expect([...agent.problems, ...lead.problems, ...auditor.problems]).toEqual([]);
    for (const c of [agent, lead, auditor]) await c.context.close();
  });
});
