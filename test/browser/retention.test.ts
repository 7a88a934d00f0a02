import type { Browser } from 'playwright-core';
import { inject } from 'vitest';
import { axeViolations, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// The retention page in a real browser against `custodian serve` with its demo data: the demo's
// first run is listed; an admin opens a policy's form, is told which field is wrong, then saves;
// every state passes axe and breaks no CSP rule.

const baseUrl = inject('baseUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('retention', () => {
  it('the admin edits a retention policy', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const problems = watch(page);
    await signIn(page, baseUrl, 'admin@custodian.test', DEMO_PASSWORD);
    await page.getByRole('link', { name: 'Retention' }).click();
    await page.waitForURL((u) => u.pathname === '/admin/retention');
    // The demo's first start ran the purge once (the suite starts after it is done).
    expect(await page.getByTestId('retention-runs').textContent()).toContain('First start (demo)');
    expect(await axeViolations(page), 'admin-retention').toEqual([]);
    await screenshot(page, 'admin-retention');
    await page.getByRole('link', { name: 'Edit the messages policy' }).click();
    await page.locator('#messages-periodDays').fill('-3');
    await page.getByRole('button', { name: 'Save messages policy' }).click();
    await expect
      .poll(() => page.locator('#messages-periodDays-error').textContent())
      .toContain('cannot be negative');
    expect(await axeViolations(page), 'admin-retention-error').toEqual([]);
    await page.locator('#messages-periodDays').fill('700');
    await page.getByRole('button', { name: 'Save messages policy' }).click();
    await expect.poll(() => page.getByTestId('policy-saved').textContent()).toContain('messages');
    await expect
      .poll(() => page.getByTestId('retention-changes').textContent())
      .toContain('period 730 days → 700 days');
    expect(await axeViolations(page), 'admin-retention-saved').toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
