import fs from 'node:fs';
import path from 'node:path';
import { CLUSTER_ROOT, runningPid } from '#app/db/embedded.server.ts';

// `npx custodian reset`: the embedded default's data folder and its cluster, removed after the
// processes using them have stopped. The processes are those that registered in the folder's
// `pids/` (a console, a worker); the PostgreSQL server is the one on the folder's cluster.

const PIDS = 'pids';

/** Records this process in the data folder, so `reset` can stop it; removed when it exits. */
export function registerProcess(dataDir: string, role: string) {
  const dir = path.join(dataDir, PIDS);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, String(process.pid));
  fs.writeFileSync(file, `${role}\n`, { mode: 0o600 });
  process.once('exit', () => fs.rmSync(file, { force: true }));
}

export class ResetRefusedError extends Error {}

/**
 * Whether the process still runs. A zombie (exited, not yet reaped by its parent) has stopped:
 * signals reach it but it never goes away until its parent waits, so counting it as alive would
 * wait forever (a console started by a parent that is itself busy, e.g. blocked on this command).
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state …: the state follows the last ')' (comm may hold spaces or parentheses).
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: the signal's answer stands
  }
}

async function stopProcess(pid: number, signal: NodeJS.Signals, seconds: number) {
  if (!alive(pid)) return;
  process.kill(pid, signal);
  const deadline = Date.now() + seconds * 1000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await new Promise((r) => setTimeout(r, 100));
  }
}

/** What a reset would remove: the folder and its cluster (null when it has none yet). */
export function resetPlan(dataDir: string): { dataDir: string; cluster: string | null } {
  const dir = path.resolve(dataDir);
  if (!fs.existsSync(dir)) return { dataDir: dir, cluster: null };
  const marks = ['keys', 'cluster-id', 'cluster-path', 'database-url'];
  if (!marks.some((m) => fs.existsSync(path.join(dir, m)))) {
    throw new ResetRefusedError(
      `${dir} does not look like a Custodian data folder (no keys/, cluster-id or cluster-path): left as is`,
    );
  }
  const pointer = path.join(dir, 'cluster-path');
  const cluster = fs.existsSync(pointer) ? fs.readFileSync(pointer, 'utf8').trim() : null;
  // Only a cluster where Custodian puts them: under the system root, or inside the folder.
  const ours =
    cluster !== null &&
    (path.dirname(cluster) === CLUSTER_ROOT || cluster === path.join(dir, 'pg'));
  return { dataDir: dir, cluster: ours ? cluster : null };
}

/** Stops what runs on the data folder, then removes its cluster and the folder. */
export async function resetDataFolder(dataDir: string, log: (line: string) => void) {
  const plan = resetPlan(dataDir);
  if (!fs.existsSync(plan.dataDir)) {
    log(`Nothing to reset: ${plan.dataDir} does not exist.`);
    return plan;
  }
  const pids = path.join(plan.dataDir, PIDS);
  for (const name of fs.existsSync(pids) ? fs.readdirSync(pids) : []) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid || !alive(pid)) continue;
    log(`Stopping ${fs.readFileSync(path.join(pids, name), 'utf8').trim()} (process ${pid})…`);
    await stopProcess(pid, 'SIGTERM', 30);
  }
  if (plan.cluster) {
    const server = runningPid(path.join(plan.cluster, 'data'));
    if (server) {
      log(`Stopping PostgreSQL (process ${server.pid})…`);
      await stopProcess(server.pid, 'SIGINT', 30);
    }
    fs.rmSync(plan.cluster, { recursive: true, force: true });
    log(`Removed the PostgreSQL cluster ${plan.cluster}`);
  }
  fs.rmSync(plan.dataDir, { recursive: true, force: true });
  log(`Removed ${plan.dataDir}`);
  return plan;
}
