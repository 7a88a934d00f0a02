import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

// The embedded default publishes its checkpoints outside the database, to <data dir>/checkpoints,
// and `audit verify` reads that folder: a superuser who cuts the log together with its stored
// checkpoints is caught by the published ones. Start-up names the folder and the log key's
// fingerprint. (One real embedded start, seeding, and a few CLI runs: a minute or more.)

let dataDir: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    ...process.env,
    CUSTODIAN_DATA_DIR: dataDir,
    CUSTODIAN_DEMO_USERS: '5',
    CUSTODIAN_WORKERS: '0',
    ...extra,
  };
  for (const name of [
    'DATABASE_URL',
    'CUSTODIAN_MASTER_KEY',
    'CUSTODIAN_INDEX_KEY',
    'CUSTODIAN_DEMO_PASSWORD',
    'CUSTODIAN_AUDIT_CHECKPOINT_DIR',
    'CUSTODIAN_AUDIT_CHECKPOINT_COMMAND',
  ]) {
    if (!(name in extra)) delete env[name];
  }
  return env as NodeJS.ProcessEnv;
}

function cli(args: string[], extra: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['bin/custodian.mjs', ...args], {
    env: baseEnv(extra),
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The cluster's superuser, as someone who controls the database would connect. */
function superuser(): postgres.Sql {
  const url = new URL(fs.readFileSync(path.join(dataDir, 'database-url'), 'utf8').trim());
  url.username = 'postgres';
  url.password = fs.readFileSync(path.join(dataDir, 'keys', 'postgres-password'), 'utf8').trim();
  return postgres(url.toString(), { max: 1, onnotice: () => {} });
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-publishing-'));
});

afterAll(() => {
  const pointer = path.join(dataDir, 'cluster-path');
  if (fs.existsSync(pointer))
    fs.rmSync(fs.readFileSync(pointer, 'utf8').trim(), { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the embedded default publishes checkpoints', { timeout: 900_000 }, () => {
  it('to <data dir>/checkpoints, where verify catches a log cut with its stored checkpoints', async () => {
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ['bin/custodian.mjs', 'serve'], {
      env: { ...baseEnv(), PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const published = path.join(dataDir, 'checkpoints');
    const publishedFiles = () =>
      fs.existsSync(published) ? fs.readdirSync(published).filter((f) => f.endsWith('.txt')) : [];
    try {
      await expect
        .poll(() => output.includes('Custodian is running') || child.exitCode !== null, {
          timeout: 300_000,
          interval: 200,
        })
        .toBe(true);
      expect(child.exitCode, output).toBeNull();
      expect(output).toContain(
        `Audit checkpoints are published to ${published} (the default for the embedded database)`,
      );
      expect(output).not.toContain('published nowhere');
      const key = cli(['audit', 'key', '--json']);
      expect(key.status, key.stderr).toBe(0);
      const { fingerprint } = JSON.parse(key.stdout) as { fingerprint: string };
      expect(output).toContain(`Audit log key fingerprint: ${fingerprint}`);

      // The demo staff's entries are sequenced and checkpointed by the server: published there.
      await expect.poll(() => publishedFiles().length, { timeout: 120_000 }).toBeGreaterThan(0);

      // Two more batches, the last one checkpointed (and published) by the command line.
      for (const email of ['pub-1@custodian.test', 'pub-2@custodian.test']) {
        const add = cli(['staff', 'add', '--email', email, '--name', 'P', '--role', 'admin']);
        expect(add.status, add.stderr).toBe(0);
      }
      const checkpoint = cli(['audit', 'checkpoint']);
      expect(checkpoint.status, checkpoint.stderr).toBe(0);
      const size = Number(checkpoint.stdout.split('\n')[1]);
      expect(publishedFiles()).toContain(`checkpoint-${String(size).padStart(12, '0')}.txt`);

      // Someone who controls the database cuts the log back to an earlier tree head, and every
      // stored checkpoint beyond it.
      const owner = superuser();
      try {
        const [head] = await owner<{ size: string }[]>`
          select max(tree_size)::bigint as size from console.audit_tree_heads
          where tree_size < ${size}`;
        const cut = Number(head!.size);
        expect(cut).toBeGreaterThan(0);
        const tables = ['entries', 'leaves', 'nodes', 'tree_heads', 'checkpoints'];
        for (const t of tables)
          await owner.unsafe(`alter table console.audit_${t} disable trigger user`);
        await owner`delete from console.audit_entries where seq >= ${cut}`;
        await owner`delete from console.audit_leaves where seq >= ${cut}`;
        await owner`delete from console.audit_nodes where (idx + 1) * (1::bigint << level) > ${cut}`;
        await owner`delete from console.audit_tree_heads where tree_size > ${cut}`;
        await owner`delete from console.audit_checkpoints where tree_size > ${cut}`;
        for (const t of tables)
          await owner.unsafe(`alter table console.audit_${t} enable trigger user`);
      } finally {
        await owner.end();
      }

      // What the database holds is consistent: against an empty folder, verification passes ...
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-elsewhere-'));
      try {
        const blind = cli(['audit', 'verify', '--json'], {
          CUSTODIAN_AUDIT_CHECKPOINT_DIR: elsewhere,
        });
        expect(blind.status, blind.stdout + blind.stderr).toBe(0);
      } finally {
        fs.rmSync(elsewhere, { recursive: true, force: true });
      }
      // ... and by default it reads the published folder, which shows the cut.
      const verified = cli(['audit', 'verify', '--json']);
      expect(verified.status, verified.stderr).toBe(1);
      const result = JSON.parse(verified.stdout) as {
        ok: boolean;
        problems: { kind: string; message: string }[];
      };
      expect(result.ok).toBe(false);
      expect(
        result.problems.some(
          (p) => ['truncated', 'root', 'fork'].includes(p.kind) && p.message.includes('published'),
        ),
        JSON.stringify(result.problems),
      ).toBe(true);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    }
  });
});
