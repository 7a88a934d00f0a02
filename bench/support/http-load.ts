import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ServerBuild } from '@remix-run/node';
import { commandLine } from '#app/modules/actor.ts';
import type { Role } from '#app/modules/auth/permissions.ts';
import { createStaff } from '#app/modules/auth/staff.server.ts';
import { log } from './database.ts';

// What the HTTP benches share: the load generator on a thread of its own, the server build, and
// bench staff. The clients run apart from the server's event loop, as a separate load generator
// would: parsing responses there would bill the server for the clients' work.

const CLIENT_THREAD = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function get(url, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { cookie, 'accept-encoding': 'gzip' } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
let stop = false;
parentPort.on('message', async (m) => {
  if (m === 'stop') { stop = true; return; }
  stop = false;
  const { baseUrl, clients, seconds } = m;
  const latencies = [];
  let failure = null;
  const deadline = seconds ? performance.now() + seconds * 1000 : Infinity;
  const started = performance.now();
  await Promise.all(clients.map(async ({ cookie, paths }, c) => {
    for (let i = c; !stop && performance.now() < deadline && !failure; i++) {
      const t = performance.now();
      const status = await get(baseUrl + paths[i % paths.length], cookie);
      latencies.push(performance.now() - t);
      if (status !== 200) failure = status + ' for ' + paths[i % paths.length];
    }
  }));
  parentPort.postMessage({ latencies, seconds: (performance.now() - started) / 1000, failure });
});
`;

export interface Tally {
  latencies: number[];
  seconds: number;
}

export interface LoadClient {
  cookie: string;
  paths: string[];
}

/** The load generator's thread; `terminate()` it at the end. */
export function loadThread(): Worker {
  return new Worker(CLIENT_THREAD, { eval: true });
}

/**
 * The clients load their paths for `seconds`, or until `stopLoad(worker)` when null; any answer
 * but 200 fails the phase.
 */
export function httpPhase(
  worker: Worker,
  baseUrl: string,
  clients: LoadClient[],
  seconds: number | null,
): Promise<Tally> {
  return new Promise((resolve, reject) => {
    worker.once('message', (m: Tally & { failure: string | null }) =>
      m.failure ? reject(new Error(`HTTP ${m.failure}`)) : resolve(m),
    );
    worker.postMessage({ baseUrl, clients, seconds });
  });
}

/** Ends a phase started with no time limit. */
export function stopLoad(worker: Worker) {
  worker.postMessage('stop');
}

/** The server build, built first when it is missing. */
export async function loadBuild(bench: string): Promise<ServerBuild> {
  const file = path.resolve('build/index.js');
  if (!fs.existsSync(file)) {
    log(`bench ${bench}: build/index.js is missing, running \`npx remix build\`…`);
    execFileSync('npx', ['remix', 'build'], { stdio: ['ignore', 2, 2] });
  }
  return (await import(pathToFileURL(file).href)) as ServerBuild;
}

/** A bench staff member of one role, with a fresh password. */
export async function newStaff(role: Role) {
  const tag = randomBytes(5).toString('hex');
  const email = `bench-${role}-${tag}@staff.test`;
  const password = `pw-${tag}-${randomBytes(8).toString('hex')}`;
  const { id } = await createStaff(
    {
      email,
      displayName: `Bench ${role} ${tag}`,
      password,
      roles: [role],
      mustChangePassword: false,
    },
    commandLine('bench'),
  );
  return { id, email, password };
}
