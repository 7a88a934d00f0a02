import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { verifyConsistency, verifyInclusion } from '#app/modules/audit/merkle.ts';
import { keyFingerprint } from '#app/modules/audit/note.ts';
import { createTestDatabase, ownerUrl, sequencerUrl } from '../support/db.ts';

// The operators' tool, run as operators run it: `node bin/custodian.mjs …` in a child process.
// Each test gets its own database and data folder, whatever the others did. Every command is a
// new Node process loading TypeScript through tsx: seconds each, tens of seconds on an overloaded
// machine (the audit test runs a dozen: 29 s quiet, over 180 s at a load of 20 on 2 cores).
// The commands connect as production does with an external database whose roles are separated:
// DATABASE_URL is the app's login, CUSTODIAN_SEQUENCER_DATABASE_URL the sequencer's (ADR 019).

let url: string;
let dataDir: string;
const keys = {
  CUSTODIAN_MASTER_KEY: Buffer.alloc(32, 5).toString('base64'),
  CUSTODIAN_INDEX_KEY: Buffer.alloc(32, 6).toString('base64'),
};

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const result = spawnSync(process.execPath, ['bin/custodian.mjs', ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      DATABASE_URL: url,
      CUSTODIAN_SEQUENCER_DATABASE_URL: sequencerUrl(url),
      CUSTODIAN_DATA_DIR: dataDir,
      ...keys,
      ...env,
    },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const SLOW = { timeout: 600_000 };

/** The seed's bulk load runs as the database owner (it drops and rebuilds indexes). */
const asOwner = () => ({ DATABASE_URL: ownerUrl(url), CUSTODIAN_SEQUENCER_DATABASE_URL: '' });

beforeEach(async () => {
  url = await createTestDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-cli-'));
});
afterEach(() => {
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npx custodian', SLOW, () => {
  it('explains itself with --help', () => {
    const { status, stdout } = cli(['--help']);
    expect(status).toBe(0);
    for (const command of [
      'start',
      'serve',
      'worker',
      'migrate',
      'seed',
      'staff add',
      'staff list',
      'staff disable',
      'token create',
      'token list',
      'token revoke',
    ]) {
      expect(stdout).toContain(command);
    }
  });

  it('stops with one line naming a wrongly set variable', () => {
    const bad = cli(['migrate'], { PORT: 'eighty' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('PORT');
    const key = cli(['migrate'], { CUSTODIAN_MASTER_KEY: 'c2hvcnQ=' });
    expect(key.stderr.trim().split('\n')).toHaveLength(1);
    expect(key.stderr).toContain('CUSTODIAN_MASTER_KEY');
    expect(key.stderr).toContain('32 bytes');
  });

  it('generates missing keys once into the data folder, 0600, and says so; production refuses', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-keys-'));
    try {
      const env = { CUSTODIAN_DATA_DIR: dir, CUSTODIAN_MASTER_KEY: '', CUSTODIAN_INDEX_KEY: '' };
      const prod = cli(['migrate'], { ...env, NODE_ENV: 'production' });
      expect(prod.status).not.toBe(0);
      expect(prod.stderr).toContain('CUSTODIAN_MASTER_KEY');
      expect(fs.existsSync(path.join(dir, 'keys', 'master.key'))).toBe(false);

      const first = cli(['migrate'], env);
      expect(first.status).toBe(0);
      expect(first.stderr).toContain('CUSTODIAN_MASTER_KEY is not set: generated one into');
      const file = path.join(dir, 'keys', 'master.key');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const key = fs.readFileSync(file, 'utf8');
      expect(Buffer.from(key.trim(), 'base64')).toHaveLength(32);
      const second = cli(['migrate'], env);
      expect(second.stderr).not.toContain('generated');
      expect(fs.readFileSync(file, 'utf8')).toBe(key);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says when the roles are not separated, and asks for the owner when migrations are pending', async () => {
    expect(cli(['migrate']).stderr).not.toContain('roles are not separated');
    const one = cli(['migrate'], asOwner());
    expect(one.status).toBe(0);
    expect(one.stderr).toContain('Database roles are not separated');
    // Two URLs are not two roles: a sequencer login that is a superuser is named.
    const superuser = cli(['migrate'], { CUSTODIAN_SEQUENCER_DATABASE_URL: ownerUrl(url) });
    expect(superuser.stderr).toMatch(
      /Database roles are not separated: CUSTODIAN_SEQUENCER_DATABASE_URL's login postgres is a superuser/,
    );
    // The app's login may not migrate: on a database that needs migrating it says who must.
    const owner = postgres(ownerUrl(url), { max: 1, onnotice: () => {} });
    const empty = `custodian_test_empty_${Date.now()}`;
    await owner.unsafe(`create database ${empty}`);
    await owner.end();
    const emptyUrl = new URL(url);
    emptyUrl.pathname = `/${empty}`;
    const refused = cli(['migrate'], {
      DATABASE_URL: emptyUrl.toString(),
      CUSTODIAN_SEQUENCER_DATABASE_URL: '',
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split('\n').at(-1)).toMatch(
      /needs migrating and this login may not do it.*DATABASE_URL set to the database owner/,
    );
  });

  it('adds, lists and disables staff, naming the bad field', () => {
    const add = cli([
      'staff',
      'add',
      '--email',
      'ops@custodian.test',
      '--name',
      'Ops <b>Person</b>',
      '--role',
      'support_agent',
      '--role',
      'support_lead',
    ]);
    expect(add.status).toBe(0);
    expect(add.stdout).toMatch(/temporary password: \S{12,}/);
    const dup = cli([
      'staff',
      'add',
      '--email',
      'OPS@custodian.test',
      '--name',
      'Again',
      '--role',
      'admin',
    ]);
    expect(dup.status).toBe(2);
    expect(dup.stderr).toContain('--email');
    expect(
      cli(['staff', 'add', '--email', 'x@y.z', '--name', 'X', '--role', 'root']).stderr,
    ).toContain('--role');
    const list = cli(['staff', 'list']);
    expect(list.stdout).toContain(
      'ops@custodian.test\tactive\tsupport_agent,support_lead\tOps <b>Person</b>',
    );
    expect(cli(['staff', 'disable', '--email', 'ops@custodian.test']).status).toBe(0);
    expect(cli(['staff', 'list']).stdout).toContain('ops@custodian.test\tdisabled');
    expect(cli(['staff', 'disable', '--email', 'nobody@custodian.test']).stderr).toContain(
      '--email',
    );
  });

  it('creates, lists and revokes service tokens: shown once, stored hashed, audited', async () => {
    const made = cli([
      'token',
      'create',
      '--name',
      'chat-app',
      '--scope',
      'privacy-requests:write',
      'privacy-requests:read',
      '--scope',
      'access-history:read',
    ]);
    expect(made.status, made.stderr).toBe(0);
    const token = made.stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^cst_[A-Za-z0-9_-]{43}$/);
    const unknown = cli([
      'token',
      'create',
      '--name',
      'other',
      '--scope',
      'privacy-requests:delete',
    ]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('--scope');
    expect(unknown.stderr).toContain('privacy-requests:delete');
    expect(
      cli(['token', 'create', '--name', 'Bad Name', '--scope', 'access-history:read']).stderr,
    ).toContain('--name');
    expect(cli(['token', 'create', '--name', 'none']).stderr).toContain('--scope');
    const again = cli(['token', 'create', '--name', 'chat-app', '--scope', 'access-history:read']);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('chat-app');

    const list = cli(['token', 'list']);
    expect(list.status).toBe(0);
    expect(list.stdout).not.toContain(token);
    const line = list.stdout.split('\n').find((l) => l.startsWith('chat-app\t'))!;
    expect(line.split('\t').slice(0, 2)).toEqual([
      'chat-app',
      'access-history:read,privacy-requests:read,privacy-requests:write',
    ]);
    expect(line.split('\t')[4]).toBe('-');

    expect(cli(['token', 'revoke', '--name', 'chat-app']).status).toBe(0);
    const revokedLine = cli(['token', 'list'])
      .stdout.split('\n')
      .find((l) => l.startsWith('chat-app\t'))!;
    expect(revokedLine.split('\t')[4]).toMatch(/^\d{4}-/);
    expect(cli(['token', 'revoke', '--name', 'nobody']).status).toBe(2);

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ token_hash: Buffer }[]>`
        select token_hash from console.service_tokens where name = 'chat-app'`;
      const { createHash } = await import('node:crypto');
      expect(row!.token_hash.equals(createHash('sha256').update(token).digest())).toBe(true);
      const entries = await sql<{ body: string }[]>`
        select body from console.audit_entries where action like 'api.token_%' order by seq`;
      const bodies = entries.map((e) => JSON.parse(e.body) as Record<string, unknown>);
      expect(bodies.map((b) => [b.action, b.actor, (b.details as { name: string }).name])).toEqual([
        ['api.token_create', null, 'chat-app'],
        ['api.token_revoke', null, 'chat-app'],
      ]);
      for (const e of entries) expect(e.body).not.toContain(token);
    } finally {
      await sql.end();
    }
  });

  it('seeds, refuses a second seed without --append, and writes demo logins with --demo-staff', async () => {
    const seeded = cli(
      [
        'seed',
        '--users',
        '40',
        '--messages-per-user',
        '2',
        '--events-per-user',
        '2',
        '--demo-staff',
      ],
      { ...asOwner(), CUSTODIAN_DEMO_PASSWORD: 'cli-demo-password-1' },
    );
    expect(seeded.status).toBe(0);
    const again = cli(['seed', '--users', '10'], asOwner());
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already holds 40 users.*append/);
    expect(cli(['seed', '--users', '10', '--append', '--seed', '2'], asOwner()).status).toBe(0);
    const sql = postgres(url, { max: 1 });
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from product.users`;
    await sql.end();
    expect(row!.n).toBe(50);
    const file = path.join(dataDir, 'demo-credentials.txt');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toContain(
      'admin admin@custodian.test cli-demo-password-1',
    );
    expect(cli(['seed', '--users', 'many']).stderr).toContain('--users');
  });

  it('serves with DATABASE_URL, answers /healthz and never seeds by itself', async () => {
    const fresh = await createTestDatabase();
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const child = spawn(process.execPath, ['bin/custodian.mjs', 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: fresh,
        CUSTODIAN_SEQUENCER_DATABASE_URL: sequencerUrl(fresh),
        CUSTODIAN_DATA_DIR: dataDir,
        PORT: String(port),
        CUSTODIAN_WORKERS: '0',
        ...keys,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await expect
        .poll(
          async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status,
          { timeout: 60_000, interval: 250 },
        )
        .toBe(200);
      expect(output).toContain(`Custodian is running at http://127.0.0.1:${port}`);
      expect(output).not.toContain('Demo staff logins');
      const sql = postgres(fresh, { max: 1 });
      const [users] = await sql<{ n: number }[]>`select count(*)::int as n from product.users`;
      const [staff] = await sql<{ n: number }[]>`select count(*)::int as n from console.staff`;
      await sql.end();
      expect(users!.n).toBe(0);
      expect(staff!.n).toBe(0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

describe('npx custodian audit', SLOW, () => {
  it('checkpoints (publishing to a folder and a command), verifies, proves and exports', async () => {
    const published = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-published-'));
    const witness = path.join(published, 'witness.txt');
    const env = {
      CUSTODIAN_AUDIT_CHECKPOINT_DIR: path.join(published, 'dir'),
      CUSTODIAN_AUDIT_CHECKPOINT_COMMAND: `cat >> '${witness}'`,
    };
    try {
      expect(
        cli([
          'staff',
          'add',
          '--email',
          'audit-cli@custodian.test',
          '--name',
          'A',
          '--role',
          'admin',
        ]).status,
      ).toBe(0);
      const cp = cli(['audit', 'checkpoint'], env);
      expect(cp.status).toBe(0);
      expect(cp.stdout).toMatch(/^custodian\.local\/audit\n\d+\n[A-Za-z0-9+/]{43}=\n/);
      expect(fs.readdirSync(env.CUSTODIAN_AUDIT_CHECKPOINT_DIR)).toHaveLength(1);
      expect(fs.readFileSync(witness, 'utf8')).toBe(cp.stdout);

      const verified = cli(['audit', 'verify', '--json'], env);
      expect(verified.status).toBe(0);
      const result = JSON.parse(verified.stdout) as Record<string, unknown>;
      expect(Object.keys(result).sort()).toEqual([
        'checkpoints',
        'entries',
        'firstBadSeq',
        'intake',
        'ok',
        'problems',
        'purged',
      ]);
      expect(result).toMatchObject({ ok: true, firstBadSeq: null, problems: [], purged: 0 });

      const inclusion = JSON.parse(cli(['audit', 'prove', '--seq', '0']).stdout) as {
        leafIdx: number;
        treeSize: number;
        root: string;
        leafHash: string;
        proof: string[];
      };
      const b = (x: string) => Buffer.from(x, 'base64');
      expect(
        verifyInclusion(
          inclusion.leafIdx,
          inclusion.treeSize,
          b(inclusion.leafHash),
          inclusion.proof.map(b),
          b(inclusion.root),
        ),
      ).toBe(true);
      const size = inclusion.treeSize;
      const consistency = JSON.parse(
        cli(['audit', 'prove', '--from', '1', '--to', String(size)]).stdout,
      ) as {
        size1: number;
        size2: number;
        root1: string;
        root2: string;
        proof: string[];
      };
      expect(
        verifyConsistency(
          consistency.size1,
          consistency.size2,
          consistency.proof.map(b),
          b(consistency.root1),
          b(consistency.root2),
        ),
      ).toBe(true);
      expect(consistency.root2).toBe(inclusion.root);
      expect(cli(['audit', 'prove', '--seq', 'x']).stderr).toContain('--seq');

      // The log's key, as an auditor gets it from the operator: the bundle verifies against it,
      // and without it is never reported OK.
      const key = cli(['audit', 'key', '--json']);
      expect(key.status).toBe(0);
      const logKey = JSON.parse(key.stdout) as { key: string; fingerprint: string };
      expect(logKey.key).toMatch(/^custodian\.local\/audit\+[0-9a-f]{8}\+/);
      expect(logKey.fingerprint).toBe(keyFingerprint(logKey.key));
      expect(cli(['audit', 'key']).stdout).toBe(
        `key          ${logKey.key}\nfingerprint  ${logKey.fingerprint}\n`,
      );
      const out = path.join(published, 'bundle');
      expect(cli(['audit', 'export', '--out', out], env).status).toBe(0);
      const verifyBundle = (...args: string[]) =>
        spawnSync(process.execPath, [path.join(out, 'verify.mjs'), ...args, out], {
          encoding: 'utf8',
        });
      const bundle = verifyBundle('--key', logKey.key);
      expect(bundle.stdout).toMatch(/^OK: \d+ entries/);
      expect(bundle.stdout).toContain(logKey.fingerprint);
      expect(bundle.status).toBe(0);
      expect(
        verifyBundle('--checkpoint', env.CUSTODIAN_AUDIT_CHECKPOINT_DIR, '--key', logKey.key)
          .status,
      ).toBe(0);
      // The bundle explains where its trust must come from.
      const readme = fs.readFileSync(path.join(out, 'README.txt'), 'utf8');
      expect(readme).toContain("node verify.mjs --key '<the log's verifier key>' .");
      expect(readme).toMatch(/key must reach you by\s+another channel/);
      const unkeyed = verifyBundle();
      expect(unkeyed.status).toBe(3);
      expect(unkeyed.stdout).toMatch(/^NOT VERIFIED/);
      expect(cli(['audit', 'export', '--out', out, '--from', 'yesterday']).stderr).toContain(
        '--from',
      );

      // A superuser edits an entry behind the triggers' back: verify fails and names it.
      const owner = postgres(ownerUrl(url), { max: 1 });
      await owner`alter table console.audit_entries disable trigger user`;
      await owner`update console.audit_entries set body = replace(body, '"outcome":"allowed"', '"outcome":"failed"') where seq = 1`;
      await owner`alter table console.audit_entries enable always trigger audit_entries_append_only`;
      await owner`alter table console.audit_entries enable always trigger audit_entries_no_truncate`;
      await owner.end();
      const bad = cli(['audit', 'verify', '--json'], env);
      expect(bad.status).toBe(1);
      expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, firstBadSeq: 1 });
    } finally {
      fs.rmSync(published, { recursive: true, force: true });
    }
  });
});
