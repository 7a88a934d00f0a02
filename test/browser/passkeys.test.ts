import type { Browser } from 'playwright-core';
import { inject } from 'vitest';
import { axeViolations, launch, screenshot, signIn, watch } from './browser.ts';
import { DEMO_PASSWORD } from './global-setup.ts';

// Passkeys in a real browser (issue 16, ADR 038): Chromium's virtual authenticator (DevTools
// protocol, CTAP2, built in, user verified) enrols a passkey on /account/security, signs in with
// it on /login/second-factor, and once removed is no longer offered. WebAuthn needs a host name,
// so the page is opened as http://localhost:<port> (the relying party the server is set to).

const url = inject('localhostUrl');
// The ceremony runs in the page's script and the browser: give it time.
const POLL = { timeout: 15_000 };
// A demo lead no other browser test signs in as: enrolling ends the account's other sessions.
const EMAIL = 'lead2@custodian.test';
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

describe('a passkey with a virtual authenticator', () => {
  it('is enrolled on /account/security, signs in on the second step, and once removed is not offered', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const problems = watch(page);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    // Signed in with the authenticator app of the demo credentials, then a passkey enrolled.
    await signIn(page, url, EMAIL, DEMO_PASSWORD);
    await page.goto(`${url}/account/security`);
    await page.getByLabel('Name of the passkey or security key').fill('Virtual key');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await expect
      .poll(() => page.getByRole('status').allTextContents(), POLL)
      .toContainEqual(expect.stringContaining('Passkey added'));
    await expect
      .poll(() => page.getByTestId('passkeys').textContent(), POLL)
      .toContain('Virtual key');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.rpId).toBe('localhost');
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'passkey-enrolled');

    // Signed out, then in again: the password, then the passkey.
    await page.getByRole('button', { name: /sign out/i }).click();
    await page.waitForURL((u) => u.pathname === '/login');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/login/second-factor'),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    await expect
      .poll(() => page.getByRole('button', { name: 'Use a passkey' }).count(), POLL)
      .toBe(1);
    expect(await page.textContent('body')).toContain('A passkey or security key you enrolled');
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'passkey-second-factor');
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith('/login')),
      page.getByRole('button', { name: 'Use a passkey' }).click(),
    ]);
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(after.credentials[0]!.signCount).toBeGreaterThan(credentials[0]!.signCount);

    // Removed (the passkey sign-in is fresh, so no step-up is asked): no longer offered.
    await page.goto(`${url}/account/security`);
    await page.getByRole('button', { name: 'Remove passkey Virtual key' }).click();
    await expect
      .poll(async () => (await page.textContent('body')) ?? '', POLL)
      .toContain('No passkey or security key is enrolled.');
    await page.getByRole('button', { name: /sign out/i }).click();
    await page.waitForURL((u) => u.pathname === '/login');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/login/second-factor'),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    expect(await page.textContent('body')).not.toContain('A passkey or security key');
    expect(await page.getByRole('button', { name: 'Use a passkey' }).count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});
