import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { embeddedEnv, serveOn, stopServed } from '../support/embedded.ts';

// The embedded default as `npm start` runs it: a 0700 data folder (like a checkout in root's
// home), first start seeds once, the URL file exists while it runs, the CLI reuses the running
// server, and a second start reuses the data without seeding again.

let dataDir: string;

/** The console on this test's data folder, once it says it is running. */
async function serve() {
  const served = await serveOn(dataDir);
  if (served.exited) throw new Error(served.output());
  return served;
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-start-'));
  expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
});

afterAll(() => {
  const pointer = path.join(dataDir, 'cluster-path');
  if (fs.existsSync(pointer))
    fs.rmSync(fs.readFileSync(pointer, 'utf8').trim(), { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// Two starts of a real embedded PostgreSQL, a seed and a CLI run: seconds each, more when loaded.
describe('the embedded default', { timeout: 600_000 }, () => {
  it('seeds once, serves, shares its server with the CLI, and reuses its data on a second start', async () => {
    const first = await serve();
    try {
      expect(first.output()).toContain('First start: seeding 25 demo users');
      expect(first.output()).toContain('Demo staff logins');
      expect(first.output()).toMatch(/cluster in \//);
      const urlFile = path.join(dataDir, 'database-url');
      expect(fs.readFileSync(urlFile, 'utf8')).toMatch(/^postgresql:\/\/postgres:/);
      expect(fs.statSync(urlFile).mode & 0o777).toBe(0o600);
      const health = await fetch(`http://127.0.0.1:${first.port}/healthz`);
      expect(health.status).toBe(200);
      const login = await fetch(`http://127.0.0.1:${first.port}/login`);
      expect(await login.text()).toContain('Sign in to Custodian');

      const list = spawnSync(process.execPath, ['bin/custodian.mjs', 'staff', 'list'], {
        env: embeddedEnv(dataDir),
        encoding: 'utf8',
      });
      expect(list.status).toBe(0);
      expect(list.stdout).toContain('admin@custodian.test\tactive\tadmin');
      expect(list.stderr).not.toContain('Embedded PostgreSQL on');

      // Two logins (ADR 019): the web pool and the job queue as one, a member of custodian_app
      // only; the sequencer as another, a member of custodian_sequencer only; neither a superuser.
      // Their passwords are kept in the data folder like the other secrets.
      for (const file of ['postgres-app-password', 'postgres-sequencer-password']) {
        expect(fs.statSync(path.join(dataDir, 'keys', file)).mode & 0o777).toBe(0o600);
      }
      const owner = postgres(fs.readFileSync(urlFile, 'utf8'), { max: 1, onnotice: () => {} });
      try {
        const logins = await owner<
          { application_name: string; usename: string; rolsuper: boolean; roles: string[] }[]
        >`
          select distinct a.application_name, a.usename::text, r.rolsuper,
                 array(select g.rolname::text from pg_auth_members m
                       join pg_roles g on g.oid = m.roleid where m.member = r.oid) as roles
          from pg_stat_activity a join pg_roles r on r.rolname = a.usename
          where a.datname = current_database() and a.pid <> pg_backend_pid()
            and a.application_name in ('custodian', 'custodian-sequencer', 'custodian-jobs')
          order by 1`;
        expect(logins).toEqual([
          {
            application_name: 'custodian',
            usename: 'custodian_web',
            rolsuper: false,
            roles: ['custodian_app'],
          },
          {
            application_name: 'custodian-jobs',
            usename: 'custodian_web',
            rolsuper: false,
            roles: ['custodian_app'],
          },
          {
            application_name: 'custodian-sequencer',
            usename: 'custodian_sequencer_login',
            rolsuper: false,
            roles: ['custodian_sequencer'],
          },
        ]);
      } finally {
        await owner.end();
      }
    } finally {
      await stopServed(first.child);
    }
    expect(fs.existsSync(path.join(dataDir, 'database-url'))).toBe(false);
    const credentials = fs.readFileSync(path.join(dataDir, 'demo-credentials.txt'), 'utf8');

    const second = await serve();
    try {
      expect(second.output()).not.toContain('First start');
      expect(second.output()).not.toContain('generated one into');
      expect(fs.readFileSync(path.join(dataDir, 'demo-credentials.txt'), 'utf8')).toBe(credentials);
      // The first login that is not a comment: an agent's, which needs no second factor.
      const first = credentials.split('\n').find((l) => l && !l.startsWith('#'))!;
      const [, email, password] = first.split(' ');
      const signIn = await fetch(`http://127.0.0.1:${second.port}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Origin: `http://127.0.0.1:${second.port}`,
        },
        body: new URLSearchParams({ email: email!, password: password! }),
      });
      expect(signIn.status).toBe(302);
      expect(signIn.headers.get('set-cookie')).toContain('custodian_session=');
    } finally {
      await stopServed(second.child);
    }
  });
});
