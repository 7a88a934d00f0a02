import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { inject } from 'vitest';
import { HOTP, Secret } from 'otpauth';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumPath } from './global-setup.ts';

const axeSource = fs.readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Collects what a page must never do: CSP violations, script dialogs, uncaught errors. */
export function watch(page: Page) {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text()))
      problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`a script opened a ${d.type()} dialog: ${d.message()}`);
    void d.dismiss();
  });
  return problems;
}

/** The authenticator secret of a demo account, from demo-credentials.txt (ADR 035). */
export function demoTotpSecret(email: string): string | undefined {
  const file = path.join(inject('dataDir'), 'demo-credentials.txt');
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#')) continue;
    const [, who, , totp] = line.split(' ');
    if (who === email) return totp;
  }
  return undefined;
}

// The served console runs on the system clock: codes here are computed from it (RFC 6238).
const totpStep = () => Math.floor(Date.now() / 30_000);
const totpCode = (secret: string) =>
  HOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    counter: totpStep(),
  });

/**
 * A code the server has not yet accepted for this account: the served console refuses a code
 * twice, so a second sign-in within one 30-second step polls until the next step begins. The
 * steps used are kept beside the data folder, shared by the suite's files.
 */
async function freshTotpCode(email: string, secret: string): Promise<string> {
  const usedFile = path.join(inject('dataDir'), 'browser-totp-used.json');
  const used = (): Record<string, number> =>
    fs.existsSync(usedFile)
      ? (JSON.parse(fs.readFileSync(usedFile, 'utf8')) as Record<string, number>)
      : {};
  const deadline = Date.now() + 40_000;
  while (totpStep() <= (used()[email] ?? -1)) {
    if (Date.now() > deadline) throw new Error(`No fresh TOTP step for ${email}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  fs.writeFileSync(usedFile, JSON.stringify({ ...used(), [email]: totpStep() }));
  return totpCode(secret);
}

/**
 * Signs in as a browser does: email and password, then, for an account with a second factor, the
 * code its authenticator app shows now (computed from the demo credentials' secret).
 */
export async function signIn(page: Page, baseUrl: string, email: string, password: string) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  const secret = demoTotpSecret(email);
  if (secret) {
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/login/second-factor'),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    await page.getByLabel('Code').fill(await freshTotpCode(email, secret));
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith('/login')),
      page.getByRole('button', { name: 'Finish signing in' }).click(),
    ]);
    return;
  }
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login')),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

/** axe-core's serious and critical violations of the current page. */
export async function axeViolations(page: Page) {
  // page.evaluate runs outside the page's CSP, which (rightly) refuses injected script tags.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(): Promise<{
            violations: {
              id: string;
              impact: string;
              help: string;
              nodes: { target: string[] }[];
            }[];
          }>;
        };
      }
    ).axe;
    return axe.run();
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    );
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/${name}.png`, fullPage: true });
}

/**
 * `npx custodian <args>` on the console's data folder (the console the tests started), as an
 * operator runs it: no DATABASE_URL, so it finds the running embedded PostgreSQL. Its stdout.
 */
export function cli(dataDir: string, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, CUSTODIAN_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/custodian.mjs', ...args], { env }, (error, stdout, stderr) =>
      error ? reject(new Error(`custodian ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
  });
}
