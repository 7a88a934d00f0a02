import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openNote } from '#app/modules/audit/note.ts';
import { axeViolations, cli, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// Issue 12's story in a real browser against `custodian serve`: the product files an erasure
// through the service API with a token made by the CLI; the privacy officer finds it in the
// queue, takes it and proposes the erasure; the second officer approves; the console's own worker
// carries it out; the user is gone (410 on their page and on the API), the certificate downloads
// from the request page and verifies with the log's key, and the security auditor finds every
// step on /audit. Screenshots at 1366 wide: the queue, a request with its progress bar, metrics.

const baseUrl = inject('baseUrl');
const dataDir = inject('dataDir');
let browser: Browser;
let sql: postgres.Sql;
let token: string;
let logKey: string;
/** The user the product asks to erase, and the one whose export the test holds mid-way. */
let erased: string;
let exported: string;

beforeAll(async () => {
  browser = await launch();
  // The database's owner: to pick users and to hold an export mid-way (below).
  sql = postgres(fs.readFileSync(path.join(dataDir, 'database-url'), 'utf8').trim(), {
    max: 1,
    onnotice: () => {},
  });
  // Users with conversations and no privacy request yet, away from those other tests pick (the
  // first and the newest).
  const picked = await sql<{ id: string }[]>`
    select u.id from product.users u
    where exists (select 1 from product.conversations c where c.user_id = u.id)
      and not exists (select 1 from console.privacy_requests r where r.user_id = u.id)
    order by u.created_at, u.id offset 100 limit 2`;
  [erased, exported] = picked.map((r) => r.id) as [string, string];
  // As a newcomer does: the token from `npx custodian token create` (its last line), and the
  // log's key, obtained apart from the console, from `npx custodian audit key`.
  const [made, key] = await Promise.all([
    cli(dataDir, [
      'token',
      'create',
      '--name',
      'browser-privacy',
      '--scope',
      'privacy-requests:write',
      'privacy-requests:read',
      'access-history:read',
    ]),
    cli(dataDir, ['audit', 'key', '--json']),
  ]);
  token = made.trim().split('\n').at(-1)!;
  expect(token).toMatch(/^cst_/);
  logKey = (JSON.parse(key) as { key: string }).key;
});
afterAll(async () => {
  await sql?.end();
  await browser?.close();
});

/** Runs `npx custodian …` against the suite's console; its standard output. */

function api(method: 'GET' | 'POST', address: string, body?: unknown) {
  return fetch(`${baseUrl}${address}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined
        ? {}
        : { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function signedIn(email: string) {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const problems = watch(page);
  await signIn(page, baseUrl, email, DEMO_PASSWORD);
  return { context, page, problems };
}

async function checked(page: Page, name: string) {
  expect(await axeViolations(page), name).toEqual([]);
  await screenshot(page, name);
}

/** Clicks a button of the request page and waits for the page to say what it did. */
async function submit(page: Page, name: string, said: string) {
  await page.getByRole('button', { name }).click();
  await expect.poll(() => page.locator('p.notice, p.form-error').allTextContents()).toContain(said);
}

const state = (page: Page) => page.locator('.facts dd').first().textContent();

describe('a privacy request from the API to the certificate', () => {
  it('is filed by API, worked by two officers, carried out, certified and on the audit trail', async () => {
    const filed = await api('POST', '/api/v1/privacy-requests', {
      userId: erased,
      type: 'erasure',
    });
    expect(filed.status).toBe(201);
    const { id } = (await filed.json()) as { id: string };
    const requestPath = `/privacy/${id}`;

    // The privacy officer finds it in the queue, opens it, takes it and proposes the erasure.
    const one = await signedIn('privacy@custodian.test');
    await one.page.goto(`${baseUrl}/privacy?type=erasure`);
    await checked(one.page, 'privacy-queue');
    await Promise.all([
      one.page.waitForURL((u) => u.pathname === requestPath),
      one.page.locator(`a[href="${requestPath}"]`).click(),
    ]);
    await expect.poll(() => state(one.page)).toContain('Received');
    await submit(one.page, 'Assign to me', 'Assigned to you.');
    await one.page.getByLabel('Propose').selectOption('erasure');
    await one.page.getByLabel(/^Why \(the second officer/).fill('Verified in the product; no hold');
    await submit(one.page, 'Propose for approval', 'Received → Awaiting approval.');
    await expect.poll(() => state(one.page)).toContain('Awaiting approval');
    // Four eyes: the proposer is offered no approval.
    expect(await one.page.getByRole('button', { name: /^Approve/ }).count()).toBe(0);

    // The second officer approves.
    const two = await signedIn('privacy2@custodian.test');
    await two.page.goto(`${baseUrl}${requestPath}`);
    await submit(two.page, 'Approve the erasure', 'Awaiting approval → Approved.');
    await expect.poll(() => state(two.page)).toContain('Approved');

    // The first officer starts it; the console's worker (CUSTODIAN_WORKERS=1) carries it out.
    await one.page.goto(`${baseUrl}${requestPath}`);
    await submit(one.page, 'Start processing', 'Approved → Processing.');
    await expect
      .poll(
        async () => {
          await one.page.goto(`${baseUrl}${requestPath}`);
          return state(one.page);
        },
        { timeout: 30_000, interval: 500 },
      )
      .toContain('Completed');
    // The bar stands full, and the manifest counts what went.
    const bar = one.page.locator('.facts progress');
    expect(await bar.getAttribute('value')).toBe(await bar.getAttribute('max'));
    expect(Number(await bar.getAttribute('max'))).toBeGreaterThan(0);
    expect(await one.page.getByTestId('erasure-tallies').textContent()).toContain(
      'product.messages',
    );
    await checked(one.page, 'privacy-erasure-completed');

    // The certificate downloads from the request page and verifies with the log's key.
    const [download] = await Promise.all([
      one.page.waitForEvent('download'),
      one.page.getByRole('link', { name: 'Download the signed erasure certificate' }).click(),
    ]);
    const note = fs.readFileSync(await download.path(), 'utf8');
    const opened = openNote(note, [logKey]);
    const certificate = JSON.parse(opened.text.slice(opened.text.indexOf('\n') + 1)) as {
      requestId: string;
      userId: string;
      key: { destroyed: boolean };
      check: { found: unknown[] };
    };
    expect(certificate.requestId).toBe(id);
    expect(certificate.userId).toBe(erased);
    expect(certificate.key.destroyed).toBe(true);
    expect(certificate.check.found).toEqual([]);
    // A byte changed and it no longer verifies.
    expect(() => openNote(note.replace(erased, randomUUID()), [logKey])).toThrow();

    // The user is gone: their page and the API answer 410, and no new request is taken.
    const userPage = await one.page.goto(`${baseUrl}/users/${erased}`);
    expect(userPage?.status()).toBe(410);
    expect(await one.page.locator('main').textContent()).toContain('erased');
    expect((await api('GET', `/api/v1/users/${erased}/access-history`)).status).toBe(410);
    expect(
      (await api('POST', '/api/v1/privacy-requests', { userId: erased, type: 'access' })).status,
    ).toBe(410);

    // Every step on the audit trail, found by the security auditor.
    const auditor = await signedIn('auditor@custodian.test');
    const wanted = [
      'privacy.request',
      'privacy.assign',
      'privacy.transition',
      'privacy.erasure_certificate',
      'privacy.download',
    ];
    await expect
      .poll(
        async () => {
          await auditor.page.goto(`${baseUrl}/audit?request=${id}&dir=asc`);
          const text = (await auditor.page.locator('table.data tbody').textContent()) ?? '';
          return wanted.filter((action) => !text.includes(action));
        },
        { timeout: 20_000, interval: 500 },
      )
      .toEqual([]);
    const rows = await auditor.page.locator('table.data tbody tr').allTextContents();
    // received → awaiting approval → approved → processing → completed
    expect(rows.filter((r) => r.includes('privacy.transition'))).toHaveLength(4);
    await checked(auditor.page, 'privacy-audit');

    expect([...one.problems, ...two.problems, ...auditor.problems]).toEqual([]);
    for (const c of [one, two, auditor]) await c.context.close();
  });

  it('shows the progress bar of a request mid-way, and the metrics', async () => {
    // An erasure of a demo-sized user is over within a second, too fast to catch on screen. So
    // the test holds an export mid-way, deterministically: it takes the work's lease first (as a
    // worker would, through the owner connection), so the console's worker skips the request,
    // then writes the progress a worker reports part-way through.
    const filed = await api('POST', '/api/v1/privacy-requests', {
      userId: exported,
      type: 'access',
    });
    expect(filed.status).toBe(201);
    const { id } = (await filed.json()) as { id: string };
    await sql`update console.privacy_requests
              set work_lease_until = now() + interval '10 minutes' where id = ${id}`;
    const one = await signedIn('privacy@custodian.test');
    await one.page.goto(`${baseUrl}/privacy/${id}`);
    await submit(one.page, 'Start processing', 'Received → Processing.');
    await sql`update console.privacy_requests
              set progress_step = 'conversations.json', progress_done = 46, progress_total = 120
              where id = ${id} and state = 'processing'`;
    await one.page.goto(`${baseUrl}/privacy/${id}`);
    expect(await state(one.page)).toContain('Processing');
    const bar = one.page.locator('.facts progress');
    expect(await bar.getAttribute('value')).toBe('46');
    expect(await bar.getAttribute('max')).toBe('120');
    expect(await one.page.getByTestId('progress-text').textContent()).toBe(
      '46 of 120 (38%) · conversations.json',
    );
    expect(await one.page.locator('#package-heading + p').textContent()).toContain(
      'conversations.json',
    );
    await checked(one.page, 'privacy-request-progress');

    await one.page.goto(`${baseUrl}/privacy/metrics`);
    await checked(one.page, 'privacy-metrics');

    // Let go of the lease: privacy.resume hands the export to a worker within the minute.
    await sql`update console.privacy_requests set work_lease_until = null where id = ${id}`;
    expect(one.problems).toEqual([]);
    await one.context.close();
  });
});
