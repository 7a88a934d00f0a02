import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The integration and browser suites run the Remix server build (build/index.js), not the code in
// app/: a test run after an edit would test the old routes. Before a run, and before a test file
// imports the build, a build older than its inputs is rebuilt; a failing build fails the run.

/** What `remix build` reads: everything under app/ but the tests it ignores, and its config. */
const INPUTS = ['app', 'remix.config.js', 'package.json'];

function isTestFile(name: string) {
  return /\.test\.[cm]?[jt]sx?$/.test(name);
}

/** The newest modification among the inputs: files, and folders (a file deleted or renamed). */
function newestInput(root: string): { file: string; mtimeMs: number } | undefined {
  let newest: { file: string; mtimeMs: number } | undefined;
  const visit = (full: string) => {
    const stat = fs.statSync(full);
    if (!newest || stat.mtimeMs > newest.mtimeMs) {
      newest = { file: path.relative(root, full), mtimeMs: stat.mtimeMs };
    }
    if (!stat.isDirectory()) return;
    for (const entry of fs.readdirSync(full, { withFileTypes: true })) {
      if (entry.isDirectory() || !isTestFile(entry.name)) visit(path.join(full, entry.name));
    }
  };
  for (const input of INPUTS) {
    const full = path.join(root, input);
    if (fs.existsSync(full)) visit(full);
  }
  return newest;
}

/** Why `<root>/build/index.js` does not hold the current code, or undefined when it does. */
export function staleBuildReason(root: string): string | undefined {
  const output = path.join(root, 'build', 'index.js');
  if (!fs.existsSync(output)) return 'build/index.js is missing';
  const built = fs.statSync(output).mtimeMs;
  const newest = newestInput(root);
  if (newest && newest.mtimeMs > built) return `${newest.file} changed after build/index.js`;
  return undefined;
}

function sleepSync(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isRunning(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One builder at a time per checkout: a folder made atomically, holding the builder's pid. A lock
 * whose process is gone (a run killed mid-build) is taken over.
 */
function withBuildLock<T>(root: string, fn: () => T, waitMs = 300_000): T {
  const key = createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 16);
  const lock = path.join(os.tmpdir(), `custodian-build-${key}.lock`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // the holder has made the folder but not yet written its pid
      }
      if (Number.isInteger(holder) && !isRunning(holder)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`Waited too long for the build lock ${lock}`);
      sleepSync(200);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Rebuilds (`remix build`) when build/index.js is missing or older than its inputs; throws when
 * the build fails. Cheap when the build is current (`npm test` has just built: no second build).
 */
export function ensureFreshBuild(root = process.cwd(), log = (line: string) => console.log(line)) {
  if (!staleBuildReason(root)) return;
  withBuildLock(root, () => {
    // Another run may have built while this one waited for the lock.
    const reason = staleBuildReason(root);
    if (!reason) return;
    log(`Rebuilding the server build for the tests (${reason}): remix build`);
    const result = spawnSync(path.join(root, 'node_modules', '.bin', 'remix'), ['build'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (result.status !== 0) {
      throw new Error(
        `\`remix build\` failed (${result.error?.message ?? `exit ${result.status}`}): the tests ` +
          `would run an old build/index.js, so they do not run.\n${result.stdout}${result.stderr}`,
      );
    }
    // The build may keep the mtimes of unchanged outputs: mark it as made from today's inputs.
    const now = new Date();
    fs.utimesSync(path.join(root, 'build', 'index.js'), now, now);
  });
}
