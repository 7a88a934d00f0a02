import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

// Runs the console as `npm start` does, on a data folder of the test's own (the embedded default).

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** The environment of a start on this data folder: no DATABASE_URL, no keys from outside. */
export function embeddedEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    ...process.env,
    CUSTODIAN_DATA_DIR: dataDir,
    CUSTODIAN_DEMO_USERS: '25',
    CUSTODIAN_WORKERS: '0',
  };
  delete env.DATABASE_URL;
  delete env.CUSTODIAN_MASTER_KEY;
  delete env.CUSTODIAN_INDEX_KEY;
  delete env.CUSTODIAN_DEMO_PASSWORD;
  return env as NodeJS.ProcessEnv;
}

export interface Served {
  child: ChildProcess;
  output: () => string;
  port: number;
}

/** `custodian serve` on the folder, once it says it is running (or has exited: then `exited`). */
export async function serveOn(dataDir: string): Promise<Served & { exited: boolean }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/custodian.mjs', 'serve'], {
    env: { ...embeddedEnv(dataDir), PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await expect
    .poll(() => output.includes('Custodian is running') || child.exitCode !== null, {
      timeout: 120_000,
      interval: 200,
    })
    .toBe(true);
  return { child, output: () => output, port, exited: child.exitCode !== null };
}

export async function stopServed(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
