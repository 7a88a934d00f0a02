import type { Browser } from 'playwright-core';
import { inject } from 'vitest';
import { axeViolations, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// Issue 15's record of processing in a real browser: the privacy officer opens /privacy/record,
// sends the edit form with a mistake and sees the error by its field, corrects it and saves a new
// version; the security auditor reads the record and the older version. Each page passes axe;
// screenshots at 1366 wide.

const baseUrl = inject('baseUrl');
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function signedIn(email: string) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, baseUrl, email, DEMO_PASSWORD);
  return { context, page, problems };
}

test('an officer edits the record of processing; a reviewer reads every version', async () => {
  const officer = await signedIn('privacy@custodian.test');
  const { page } = officer;
  await page.goto(`${baseUrl}/privacy/record`);
  await page.getByRole('heading', { name: 'Record of processing' }).waitFor();
  expect(await axeViolations(page), 'record').toEqual([]);
  await screenshot(page, 'record-of-processing');
  const version = Number(
    /Version (\d+) \(current\)/.exec((await page.locator('#main').textContent()) ?? '')![1],
  );

  await page.getByRole('link', { name: 'Edit the record' }).click();
  await page.waitForURL(/edit=1/);
  const name = `Acme Analytics ${Date.now()}`;
  const fresh = page.locator('fieldset', { hasText: 'New recipient' }).first();
  await fresh.getByLabel('Recipient', { exact: true }).fill(name);
  await fresh.getByLabel('Kind').selectOption('analytics_provider');
  await fresh.getByLabel('What they receive').fill('Released aggregate figures only.');
  await fresh.getByLabel(/^Transfers/).fill('None: processed in the EU.');
  // The agreement is left out: the error names it, and nothing is saved.
  await page.getByRole('button', { name: `Save as version ${version + 1}` }).click();
  const error = fresh.getByRole('alert');
  await error.waitFor();
  expect(await error.textContent()).toContain('The agreement is required');
  expect(await axeViolations(page), 'record-edit-error').toEqual([]);
  await screenshot(page, 'record-of-processing-error');

  await fresh.getByLabel('Agreement').fill('DPA signed 2026-11-30');
  await page.getByRole('button', { name: `Save as version ${version + 1}` }).click();
  await page.waitForURL(/saved=/);
  expect(await page.getByRole('status').textContent()).toContain(`Saved as version ${version + 1}`);
  expect(await page.locator('#main').textContent()).toContain(name);
  expect(officer.problems).toEqual([]);
  await officer.context.close();

  const reviewer = await signedIn('auditor@custodian.test');
  await reviewer.page.goto(`${baseUrl}/privacy/record?version=${version}`);
  const text = (await reviewer.page.locator('#main').textContent()) ?? '';
  expect(text).toContain(`the current one is ${version + 1}`);
  expect(text).not.toContain(name);
  expect(await reviewer.page.getByRole('link', { name: 'Edit the record' }).count()).toBe(0);
  expect(await axeViolations(reviewer.page), 'record-older').toEqual([]);
  await screenshot(reviewer.page, 'record-of-processing-older-version');
  expect(reviewer.problems).toEqual([]);
  await reviewer.context.close();
});
