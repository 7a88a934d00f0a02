import type { Browser } from 'playwright-core';
import { inject } from 'vitest';
import { axeViolations, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// Sharing analytics (issue 15, ADR 037) in a real browser: a privacy officer opens the form from
// /analytics once the first build has released figures, sends it without a recipient and sees the
// error by its field, shares a week and two days with the analytics provider of the record, gets
// the CSV's link, and finds the share in the sharing log. Each page passes axe; screenshots at
// 1366 wide.

const baseUrl = inject('baseUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

test('an officer shares released figures with the analytics provider; the log shows it', async () => {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, baseUrl, 'privacy@custodian.test', DEMO_PASSWORD);
  // The first build is queued at start-up: the link appears once something is released.
  await expect
    .poll(
      async () => {
        await page.goto(`${baseUrl}/analytics`);
        return page.getByRole('link', { name: 'Share released figures' }).count();
      },
      { timeout: 90_000, interval: 1_000 },
    )
    .toBe(1);
  await page.getByRole('link', { name: 'Share released figures' }).click();
  await page.getByRole('heading', { name: 'Share released figures' }).waitFor();
  expect(await axeViolations(page), 'share-form').toEqual([]);

  // No recipient: the error names the field, nothing is shared.
  await page.locator('#releases-daily input[type=checkbox]').nth(0).check();
  await page.getByRole('button', { name: 'Share and log' }).click();
  const summary = page.getByTestId('error-summary');
  await summary.waitFor();
  expect(await summary.textContent()).toContain('Recipient');
  expect(await axeViolations(page), 'share-form-error').toEqual([]);
  await screenshot(page, 'analytics-share-error');

  await page.getByLabel('Recipient').selectOption('Plausible Insights');
  await page.locator('#releases-daily input[type=checkbox]').nth(1).check();
  const weekly = page.locator('#releases-weekly');
  if ((await weekly.count()) > 0) {
    await weekly.getByRole('button', { name: /Choose all/ }).click();
  }
  await page.getByRole('button', { name: 'Share and log' }).click();
  await page.waitForURL(/shared=/);
  const made = page.getByTestId('share-made');
  await made.waitFor();
  expect(await made.textContent()).toContain('Shared with Plausible Insights');
  expect(await made.getByRole('link', { name: 'Download the CSV of this share' }).count()).toBe(1);
  expect(await axeViolations(page), 'share-made').toEqual([]);
  await screenshot(page, 'analytics-share-made');

  await page.getByRole('link', { name: 'Sharing log' }).click();
  await page.getByRole('heading', { name: 'Sharing log' }).waitFor();
  const table = page.getByTestId('shares-table');
  expect(await table.textContent()).toContain('Plausible Insights');
  expect(await axeViolations(page), 'sharing-log').toEqual([]);
  await screenshot(page, 'analytics-sharing-log');
  expect(problems).toEqual([]);
  await context.close();
});
