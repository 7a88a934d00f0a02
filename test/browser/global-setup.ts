import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureFreshBuild } from '../support/build.ts';

export const DEMO_PASSWORD = 'browser-suite-demo-password';

export function chromiumPath() {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export default async function setup(project: TestProject) {
  if (!fs.existsSync(chromiumPath())) {
    throw new Error(
      `Chromium is missing at ${chromiumPath()}: install Debian's package with ` +
        '`apt-get update && apt-get install -y chromium`, or set CHROMIUM_PATH.',
    );
  }
  // `custodian serve` serves build/: rebuilt first if app/ changed since.
  ensureFreshBuild();
  fs.mkdirSync('test-results', { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-browser-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CUSTODIAN_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    CUSTODIAN_DEMO_USERS: '300',
    CUSTODIAN_DEMO_PASSWORD: DEMO_PASSWORD,
    CUSTODIAN_WORKERS: '1',
    NODE_ENV: 'development',
    // Passkeys (ADR 038): an IP address cannot be a WebAuthn relying party, so the passkey test
    // reaches this same server as http://localhost:<port>.
    CUSTODIAN_WEBAUTHN_RP_ID: 'localhost',
    CUSTODIAN_WEBAUTHN_ORIGIN: `http://localhost:${port}`,
  };
  delete env.DATABASE_URL; // the embedded default, as a new user meets it
  const server: ChildProcess = spawn(process.execPath, ['bin/custodian.mjs', 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  server.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  server.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`custodian serve exited:\n${output}`);
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      // The demo's first retention run (queued at the first start) removes the seeded rows past
      // their periods: the tests begin once it is done, so that no row a test picked goes under it.
      if (res.ok && output.includes('Custodian is running') && /retention: ran run/.test(output)) {
        break;
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`custodian serve did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  project.provide('baseUrl', baseUrl);
  project.provide('localhostUrl', `http://localhost:${port}`);
  project.provide('dataDir', dataDir);
  project.provide('serverOutput', output);
  return async () => {
    await new Promise<void>((resolve) => {
      if (server.exitCode !== null || server.signalCode !== null) return resolve();
      // Cleared once the server is gone: a pending timer kept vitest from exiting for 10 s.
      const kill = setTimeout(() => {
        server.kill('SIGKILL');
        resolve();
      }, 15_000);
      server.once('exit', () => {
        clearTimeout(kill);
        server.stdout?.destroy();
        server.stderr?.destroy();
        resolve();
      });
      server.kill('SIGTERM');
    });
    const clusterFile = path.join(dataDir, 'cluster-path');
    if (fs.existsSync(clusterFile)) {
      fs.rmSync(fs.readFileSync(clusterFile, 'utf8').trim(), { recursive: true, force: true });
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    /** The same server by the name WebAuthn accepts as a relying party. */
    localhostUrl: string;
    dataDir: string;
    serverOutput: string;
  }
}
