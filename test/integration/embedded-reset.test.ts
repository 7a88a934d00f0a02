import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLUSTER_ROOT, runningPid } from '#app/db/embedded.server.ts';
import { embeddedEnv, serveOn, stopServed } from '../support/embedded.ts';

// How anyone resets a demo: `rm -rf .data && npm start`, or `npx custodian reset`. A new folder at
// the same path gets a new cluster (the old one is set aside, never deleted), a refused password
// fails at once in one line and leaves no server behind, and reset stops what runs before it
// removes the folder and its cluster.

const made: string[] = [];

function newDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-reset-'));
  made.push(dir);
  return dir;
}

const clusterOf = (dataDir: string) =>
  fs.readFileSync(path.join(dataDir, 'cluster-path'), 'utf8').trim();

function cli(dataDir: string, args: string[], env: NodeJS.ProcessEnv = embeddedEnv(dataDir)) {
  return spawnSync(process.execPath, ['bin/custodian.mjs', ...args], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const asRoot = process.getuid?.() === 0;
const setAside: string[] = [];

afterAll(() => {
  for (const dir of made) {
    const pointer = path.join(dir, 'cluster-path');
    if (fs.existsSync(pointer)) fs.rmSync(clusterOf(dir), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const dir of setAside) fs.rmSync(dir, { recursive: true, force: true });
});

describe('start, stop and reset', { timeout: 600_000 }, () => {
  it('a new data folder at the same path starts on a new cluster; the old one is set aside', async () => {
    const dataDir = newDataDir();
    const first = await serveOn(dataDir);
    expect(first.exited, first.output()).toBe(false);
    await stopServed(first.child);
    const oldCluster = clusterOf(dataDir);

    fs.rmSync(dataDir, { recursive: true });
    fs.mkdirSync(dataDir, { mode: 0o700 });
    const second = await serveOn(dataDir);
    try {
      expect(second.exited, second.output()).toBe(false);
      expect(second.output()).toContain('First start: seeding');
      expect(clusterOf(dataDir)).not.toBe(oldCluster);
      if (asRoot) {
        // The old cluster is kept, moved aside, and the start says where.
        const moved = /was moved to (\S+);/.exec(second.output())?.[1];
        expect(moved, second.output()).toBeDefined();
        setAside.push(moved!);
        expect(path.dirname(moved!)).toBe(path.join(CLUSTER_ROOT, 'set-aside'));
        expect(fs.existsSync(path.join(moved!, 'data', 'PG_VERSION'))).toBe(true);
        expect(fs.existsSync(oldCluster)).toBe(false);
      }
    } finally {
      await stopServed(second.child);
    }
  });

  it('a password the cluster refuses fails at once, in one line, and leaves no server running', async () => {
    const dataDir = newDataDir();
    const first = await serveOn(dataDir);
    expect(first.exited, first.output()).toBe(false);
    await stopServed(first.child);
    const passwordFile = path.join(dataDir, 'keys', 'postgres-password');
    const password = fs.readFileSync(passwordFile, 'utf8');
    fs.writeFileSync(passwordFile, 'not-the-password');
    try {
      const failed = await serveOn(dataDir);
      expect(failed.exited).toBe(true);
      expect(failed.child.exitCode).not.toBe(0);
      expect(failed.output()).toContain("refuses this data folder's password");
      expect(failed.output()).not.toMatch(/^\s+at /m); // no stack trace
      expect(runningPid(path.join(clusterOf(dataDir), 'data'))).toBeUndefined();
    } finally {
      fs.writeFileSync(passwordFile, password);
    }
  });

  it('reset asks first, refuses DATABASE_URL, and with --yes stops the console and removes folder and cluster', async () => {
    const dataDir = newDataDir();
    const served = await serveOn(dataDir);
    expect(served.exited, served.output()).toBe(false);
    const cluster = clusterOf(dataDir);
    try {
      const unasked = cli(dataDir, ['reset']);
      expect(unasked.status).toBe(1);
      expect(unasked.stderr).toContain('--yes');
      expect(fs.existsSync(dataDir)).toBe(true);

      const elsewhere = cli(dataDir, ['reset', '--yes'], {
        ...embeddedEnv(dataDir),
        DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none',
      });
      expect(elsewhere.status).not.toBe(0);
      expect(elsewhere.stderr).toContain('DATABASE_URL');
      expect(fs.existsSync(dataDir)).toBe(true);

      const done = cli(dataDir, ['reset', '--yes']);
      expect(done.status, done.stderr + done.stdout).toBe(0);
      await expect.poll(() => served.child.exitCode, { timeout: 60_000 }).not.toBeNull();
      expect(fs.existsSync(dataDir)).toBe(false);
      expect(fs.existsSync(cluster)).toBe(false);
    } finally {
      await stopServed(served.child);
    }
  });

  it('a port in use fails in one line and leaves no server running', async () => {
    const dataDir = newDataDir();
    const first = await serveOn(dataDir);
    expect(first.exited, first.output()).toBe(false);
    await stopServed(first.child);
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const child = spawn(process.execPath, ['bin/custodian.mjs', 'serve'], {
        env: { ...embeddedEnv(dataDir), HOST: '127.0.0.1', PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, output).not.toBe(0);
      expect(output).toContain(`PORT ${port} on 127.0.0.1 is in use`);
      expect(output).not.toMatch(/^\s+at /m); // no stack trace
      expect(runningPid(path.join(clusterOf(dataDir), 'data'))).toBeUndefined();
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('reset refuses a folder that is not a data folder', () => {
    const dir = newDataDir();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const refused = cli(dir, ['reset', '--yes']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('does not look like a Custodian data folder');
    expect(fs.existsSync(path.join(dir, 'notes.txt'))).toBe(true);
  });
});
