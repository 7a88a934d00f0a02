import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import postgres from 'postgres';
import { inject } from 'vitest';
import { DEMO_STAFF } from '#app/modules/auth/demo-staff.server.ts';
import { axeViolations, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// Just-in-time access in a real browser against `custodian serve` with its demo data: an agent
// asks for a user's conversations, a second lead approves, the agent sees the grant active and
// opens the data; a lead breaks glass, sees the banner, and a security auditor reviews it. Every
// page passes axe and breaks no CSP rule.

const baseUrl = inject('baseUrl');
let browser: Browser;
let userIds: string[];

const demo = (email: string) => DEMO_STAFF.find((d) => d.email === email)!;

beforeAll(async () => {
  browser = await launch();
  const url = fs.readFileSync(path.join(inject('dataDir'), 'database-url'), 'utf8').trim();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    userIds = (
      await sql<{ id: string }[]>`select id from product.users order by created_at, id limit 5`
    ).map((r) => r.id);
    await inquiryFor(sql, 'agent@custodian.test', userIds[0]!);
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

async function signedIn(email: string) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, baseUrl, demo(email).email, DEMO_PASSWORD);
  return { context, page, problems };
}

async function checked(page: Page, name: string) {
  expect(await axeViolations(page), name).toEqual([]);
  await screenshot(page, name);
}

describe('just-in-time access', () => {
  it('an agent requests conversations access, a second lead approves, the agent sees it active', async () => {
    const user = userIds[0]!;
    const agent = await signedIn('agent@custodian.test');
    await agent.page.goto(`${baseUrl}/grants/new?user=${user}&category=conversations`);
    expect(await agent.page.getByLabel('End user id').inputValue()).toBe(user);
    expect(await agent.page.getByRole('checkbox', { name: /Conversations/ }).isChecked()).toBe(
      true,
    );
    expect(await agent.page.getByTestId('duration-cap').textContent()).toBe('1 hour');
    await checked(agent.page, 'grants-new');

    // A justification that says nothing is refused, the field named.
    await agent.page.getByLabel('Justification').fill('.');
    await agent.page.getByRole('button', { name: 'Send request' }).click();
    await expect
      .poll(() => agent.page.locator('#field-justification-error').textContent())
      .toContain('at least 20 letters or digits');
    expect(await agent.page.locator('#field-reasonCode-error').textContent()).toBe(
      'Choose a reason',
    );
    await checked(agent.page, 'grants-new-errors');

    await agent.page.getByLabel('Reason').selectOption('support_inquiry');
    // The inquiry the grant serves: the agent's open one for this user, offered by the form.
    await agent.page.getByLabel('Inquiry', { exact: true }).selectOption({ index: 1 });
    await agent.page
      .getByLabel('Justification')
      .fill('The customer cannot find yesterday’s conversation about their invoice');
    await agent.page.getByLabel('Ticket reference').fill('SUP-2048');
    await agent.page.getByLabel('Duration (minutes)').fill('30');
    await Promise.all([
      agent.page.waitForURL(/\/grants\/[0-9a-f-]{36}\?requested=1$/),
      agent.page.getByRole('button', { name: 'Send request' }).click(),
    ]);
    const grantPath = new URL(agent.page.url()).pathname;
    expect(await agent.page.getByTestId('grant-state').textContent()).toContain('Pending');
    expect(await agent.page.getByTestId('decide-note').textContent()).toContain(
      'you cannot approve or deny it',
    );
    await checked(agent.page, 'grant-pending-requester');

    const lead = await signedIn('lead2@custodian.test');
    await expect
      .poll(
        async () => {
          await lead.page.goto(`${baseUrl}/`);
          return lead.page.getByRole('link', { name: /^Notifications \d+ unread$/ }).count();
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(1);
    await lead.page.goto(`${baseUrl}/grants?view=to_decide`);
    await checked(lead.page, 'grants-to-decide');
    await Promise.all([
      lead.page.waitForURL((u) => u.pathname === grantPath),
      lead.page.locator(`a[href="${grantPath}"]`).click(),
    ]);
    await checked(lead.page, 'grant-decide');
    await lead.page.getByLabel('Comment (required to deny)').fill('Matches SUP-2048; half an hour');
    await lead.page.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => lead.page.getByTestId('action-done').textContent())
      .toContain('Approved');
    await expect.poll(() => lead.page.getByTestId('grant-state').textContent()).toContain('Active');
    await checked(lead.page, 'grant-approved');

    await agent.page.goto(`${baseUrl}/grants?view=active`);
    await expect.poll(() => agent.page.locator(`a[href="${grantPath}"]`).count()).toBe(1);
    const row = agent.page.locator('tr', { has: agent.page.locator(`a[href="${grantPath}"]`) });
    expect(await row.locator('[data-state]').getAttribute('data-state')).toBe('active');
    await checked(agent.page, 'grants-active');
    await agent.page.goto(`${baseUrl}/notifications`);
    expect(await agent.page.getByRole('table').textContent()).toContain('was approved');
    await checked(agent.page, 'notifications');
    const data = await agent.page.goto(`${baseUrl}/users/${user}/conversations`);
    expect(data?.status()).toBe(200);

    expect([...agent.problems, ...lead.problems]).toEqual([]);
    await agent.context.close();
    await lead.context.close();
  });

  it('a lead breaks glass: the banner shows on every page until a security auditor reviews', async () => {
    const user = userIds[1]!;
    const lead = await signedIn('lead@custodian.test');
    await lead.page.goto(`${baseUrl}/grants/break-glass?user=${user}`);
    await checked(lead.page, 'break-glass-form');
    await lead.page.getByRole('checkbox', { name: 'Payments' }).check();
    await lead.page
      .getByLabel('Justification')
      .fill('Card testing attack on this account right now, charges are still coming in');
    await Promise.all([
      lead.page.waitForURL(/\/grants\/[0-9a-f-]{36}\?broke=1$/),
      lead.page.getByRole('button', { name: 'Break glass now' }).click(),
    ]);
    const grantPath = new URL(lead.page.url()).pathname;
    for (const address of ['/', '/grants', `/users/${user}/payments`]) {
      await lead.page.goto(`${baseUrl}${address}`);
      const banner = lead.page.getByTestId('break-glass-banner');
      expect(await banner.getAttribute('role'), address).toBe('alert');
      expect(await banner.textContent(), address).toContain('Break-glass access is active.');
    }
    await checked(lead.page, 'break-glass-banner');

    const auditor = await signedIn('auditor@custodian.test');
    await auditor.page.goto(`${baseUrl}/security/access`);
    const waiting = auditor.page.getByTestId('break-glass-waiting');
    expect(await waiting.locator(`a[href="${grantPath}"]`).count()).toBe(1);
    await checked(auditor.page, 'security-access');
    await Promise.all([
      auditor.page.waitForURL((u) => u.pathname === grantPath),
      waiting.locator(`a[href="${grantPath}"]`).click(),
    ]);
    await auditor.page.getByLabel('Review comment (optional)').fill('Confirmed with fraud team');
    await auditor.page.getByRole('button', { name: 'Mark as reviewed' }).click();
    await expect
      .poll(() => auditor.page.getByTestId('grant-review').textContent())
      .toContain('reviewed');
    await checked(auditor.page, 'break-glass-reviewed');
    await auditor.page.goto(`${baseUrl}/security/access`);
    expect(
      await auditor.page
        .getByTestId('break-glass-waiting')
        .locator(`a[href="${grantPath}"]`)
        .count(),
    ).toBe(0);

    // The banner lasts as long as the grant: revoking it ends both.
    await lead.page.goto(`${baseUrl}${grantPath}`);
    await lead.page.getByRole('button', { name: 'Revoke now' }).click();
    await expect.poll(() => lead.page.getByTestId('break-glass-banner').count()).toBe(0);

    expect([...lead.problems, ...auditor.problems]).toEqual([]);
    await lead.context.close();
    await auditor.context.close();
  });

  it('the admin edits a policy', async () => {
    const admin = await signedIn('admin@custodian.test');
    await admin.page.goto(`${baseUrl}/admin/policies`);
    await checked(admin.page, 'admin-policies');
    await admin.page.locator('#preferences-maxDurationMinutes').fill('999');
    await admin.page.getByRole('button', { name: 'Save data-use preferences policy' }).click();
    await expect
      .poll(() => admin.page.locator('#preferences-maxDurationMinutes-error').textContent())
      .toContain('at most 480 minutes');
    await checked(admin.page, 'admin-policies-error');
    await admin.page.locator('#preferences-maxDurationMinutes').fill('90');
    await admin.page.getByRole('button', { name: 'Save data-use preferences policy' }).click();
    await expect
      .poll(() => admin.page.getByTestId('policy-saved').textContent())
      .toContain('data-use preferences');
    expect(admin.problems).toEqual([]);
    await admin.context.close();
  });
});
