import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import postgres from 'postgres';
import { inject } from 'vitest';
import { axeViolations, cli, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// Issue 15 in a real browser against `custodian serve`: the product files an inquiry through the
// service API (a token made by the CLI); an agent finds it in the unassigned queue, takes it —
// the assignment gives a grant to that thread alone — reads the thread, answers it, and the reply
// stays on the thread. Another agent opens the same inquiry and reads nothing of it. The read is
// in the audit trail as a view of the inquiries category. Screenshots at 1366 wide.

const baseUrl = inject('baseUrl');
const dataDir = inject('dataDir');
let browser: Browser;
let sql: postgres.Sql;
let token: string;
let userId: string;

beforeAll(async () => {
  browser = await launch();
  sql = postgres(fs.readFileSync(path.join(dataDir, 'database-url'), 'utf8').trim(), {
    max: 1,
    onnotice: () => {},
  });
  // A user no other test picks (away from the first, the newest and those at offset 100).
  const [picked] = await sql<{ id: string }[]>`
    select u.id from product.users u
    where not exists (select 1 from console.inquiries i where i.user_id = u.id)
      and not exists (select 1 from console.privacy_requests r where r.user_id = u.id)
    order by u.created_at, u.id offset 220 limit 1`;
  userId = picked!.id;
  const made = await cli(dataDir, [
    'token',
    'create',
    '--name',
    'browser-inquiries',
    '--scope',
    'inquiries:write',
  ]);
  token = made.trim().split('\n').at(-1)!;
  expect(token).toMatch(/^cst_/);
});
afterAll(async () => {
  await sql?.end();
  await browser?.close();
});

/** Runs `npx custodian …` against the suite's console; its standard output. */

async function signedIn(email: string) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, baseUrl, email, DEMO_PASSWORD);
  return { context, page, problems };
}

async function checked(page: Page, name: string) {
  expect(await axeViolations(page), name).toEqual([]);
  await screenshot(page, name);
}

describe('an agent answers an inquiry under the grant its assignment gave', () => {
  it('takes it from the queue, reads the thread, replies; another agent reads nothing', async () => {
    const tag = randomBytes(4).toString('hex');
    const subject = `Where did my invoices go? ${tag}`;
    const filed = await fetch(`${baseUrl}/api/v1/inquiries`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
      },
      body: JSON.stringify({
        userId,
        subject,
        body: 'The invoices page is empty since last week <script>alert(1)</script>',
        category: 'billing',
      }),
    });
    expect(filed.status).toBe(201);
    const { id, state } = (await filed.json()) as { id: string; state: string };
    expect(state).toBe('new');
    const inquiryPath = `/inquiries/${id}`;

    const agent = await signedIn('agent2@custodian.test');
    await agent.page.goto(`${baseUrl}/inquiries?view=unassigned&category=billing`);
    const row = agent.page.locator(`a[href="${inquiryPath}"]`);
    await expect.poll(() => row.count()).toBe(1);
    // The queue shows no thread text.
    expect(await agent.page.content()).not.toContain(tag);
    await checked(agent.page, 'inquiries-queue');

    await Promise.all([agent.page.waitForURL((u) => u.pathname === inquiryPath), row.click()]);
    // Before it is theirs, the thread is closed to them.
    expect(await agent.page.content()).not.toContain(tag);
    await agent.page.getByRole('button', { name: 'Take this inquiry' }).click();
    await expect
      .poll(() => agent.page.getByRole('status').first().textContent())
      .toContain('Assigned to you');
    await expect.poll(() => agent.page.locator('#thread-heading ~ h3').textContent()).toBe(subject);
    // The user's text is shown as text: the script tag does nothing.
    expect(await agent.page.locator('.message-body').first().textContent()).toContain(
      '<script>alert(1)</script>',
    );
    await checked(agent.page, 'inquiry-thread');

    await agent.page
      .getByLabel('Reply', { exact: true })
      .fill('Your invoices are back under Settings, Billing. Sorry for the trouble.');
    await agent.page.getByLabel('Then the inquiry is').selectOption('answered');
    await agent.page.getByRole('button', { name: 'Send the reply' }).click();
    await expect
      .poll(() => agent.page.getByRole('status').first().textContent())
      .toContain('Reply queued to the user');
    await expect.poll(() => agent.page.locator('.thread li').count()).toBe(2);
    expect(await agent.page.locator('.thread li').nth(1).textContent()).toContain(
      'Your invoices are back under Settings, Billing.',
    );
    await checked(agent.page, 'inquiry-answered');
    expect(agent.problems).toEqual([]);
    await agent.context.close();

    // Another agent: the inquiry is someone else's, so its thread stays closed.
    const other = await signedIn('agent@custodian.test');
    await other.page.goto(`${baseUrl}${inquiryPath}`);
    expect(await other.page.locator('#thread-heading').count()).toBe(1);
    expect(await other.page.content()).not.toContain(tag);
    expect(
      await other.page.getByText('Only the inquiry’s assignee reads its thread.').count(),
    ).toBe(1);
    await checked(other.page, 'inquiry-not-assignee');
    expect(other.problems).toEqual([]);
    await other.context.close();

    // The read is in the trail: a view of the inquiries category under the assignment's grant.
    const [grant] = await sql<{ id: string; status: string }[]>`
      select id, status from console.grants where inquiry_id = ${id}`;
    expect(grant?.status).toBe('approved');
    await expect
      .poll(
        async () =>
          (
            await sql<{ n: number }[]>`
              select count(*)::int as n from console.audit_entries
              where action = 'user.view' and grant_id = ${grant!.id}`
          )[0]!.n,
      )
      .toBeGreaterThanOrEqual(1);
  });
});
