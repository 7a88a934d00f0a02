import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServerBuild } from '@remix-run/node';
import { enqueueFirstAnalyticsBuild } from '#app/modules/analytics/build.server.ts';
import { ensureDemoStaff, readDemoCredentials } from '#app/modules/auth/demo-staff.server.ts';
import { ensureDemoRoleRequest } from '#app/modules/access/role-requests.server.ts';
import { ensureDemoPrivacyRequests } from '#app/modules/privacy/demo.server.ts';
import { ensureDemoInquiries } from '#app/modules/inquiries/demo.server.ts';
import { enqueueFirstRetentionRun } from '#app/modules/retention/jobs.server.ts';
import { JOBS } from '#app/server/jobs.server.ts';
import { describePublishing, logKeyOf } from '#app/modules/audit/publishing.server.ts';
import { startQueue, type Queue } from '#app/modules/jobs/queue.server.ts';
import { createHttpApp, listen } from './http.server.ts';
import { registerProcess } from './reset.server.ts';
import {
  log,
  prepareRuntime,
  readMeta,
  startAuditSequencer,
  writeMeta,
  PortUnavailableError,
  type Runtime,
} from './runtime.server.ts';

/** Seeds the embedded default once: the marker lives in the database, not in a folder. */
async function ensureDemoData(rt: Runtime) {
  if (await readMeta('seeded')) return readDemoCredentials(rt.dataDir);
  const { seedProductData, DEMO_EVENTS_PER_USER, DEMO_MESSAGES_PER_USER } =
    await import('#app/modules/seed/seed.server.ts');
  const started = Date.now();
  log(`First start: seeding ${rt.env.CUSTODIAN_DEMO_USERS} demo users…`);
  const result = await seedProductData(rt.ownerUrl, rt.ring, {
    users: rt.env.CUSTODIAN_DEMO_USERS,
    // Enough for the analytics threshold: most daily figures precise (ADR 029).
    messagesPerUser: DEMO_MESSAGES_PER_USER,
    eventsPerUser: DEMO_EVENTS_PER_USER,
    seed: 1,
    append: false,
    log,
  });
  const logins = await ensureDemoStaff({
    dataDir: rt.dataDir,
    password: rt.env.CUSTODIAN_DEMO_PASSWORD,
  });
  await ensureDemoRoleRequest();
  const { appendDemoUser } = await import('#app/modules/seed/demo-user.server.ts');
  await ensureDemoPrivacyRequests({ makeUser: () => appendDemoUser(rt.ownerUrl, rt.ring) });
  await ensureDemoInquiries();
  await writeMeta('seeded', { at: new Date().toISOString(), ...result });
  log(`Seeded demo data in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return logins;
}

export async function startWebConsole(options: { root: string }) {
  const rt = await prepareRuntime({ reuseRunning: false });
  const started: Started = {};
  try {
    await serveConsole(rt, options, started);
  } catch (error) {
    // A failed start stops what it started, the embedded PostgreSQL included: nothing is left
    // running without a parent (a port in use used to leave the database server behind).
    await started.queue?.stop().catch(() => {});
    await started.sequencer?.stop().catch(() => {});
    await rt.close().catch(() => {});
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new PortUnavailableError(
        `PORT ${rt.env.PORT} on ${rt.env.HOST} ${code === 'EADDRINUSE' ? 'is in use' : 'may not be used'}: stop what listens there or set PORT to another`,
      );
    }
    throw error;
  }
}

/** What a start has started so far, for a failed start to stop. */
interface Started {
  sequencer?: ReturnType<typeof startAuditSequencer>;
  queue?: Queue;
}

async function serveConsole(rt: Runtime, options: { root: string }, started: Started) {
  const logins = rt.isEmbedded ? await ensureDemoData(rt) : [];

  const sequencer = startAuditSequencer(rt);
  started.sequencer = sequencer;
  let queue: Queue | undefined;
  queue = await startQueue({ url: rt.url, jobs: JOBS, concurrency: rt.env.CUSTODIAN_WORKERS, log });
  started.queue = queue;
  if (await enqueueFirstAnalyticsBuild(queue)) log('Analytics: no release yet, first build queued');
  if (rt.isEmbedded && (await enqueueFirstRetentionRun(queue)))
    log('Retention: no run yet, first run queued (demo)');

  const buildPath = path.join(options.root, 'build', 'index.js');
  const build = (await import(pathToFileURL(buildPath).href)) as ServerBuild;
  const tls =
    rt.env.TLS_CERT_FILE && rt.env.TLS_KEY_FILE
      ? { cert: rt.env.TLS_CERT_FILE, key: rt.env.TLS_KEY_FILE }
      : undefined;
  const app = createHttpApp({
    build,
    secure: Boolean(tls),
    publicDir: path.join(options.root, 'public'),
  });
  const server = await listen(app, { host: rt.env.HOST, port: rt.env.PORT, tls });
  if (rt.isEmbedded) registerProcess(rt.dataDir, 'the console');

  const url = `${tls ? 'https' : 'http'}://${rt.env.HOST}:${rt.env.PORT}`;
  const lines = [``, `Custodian is running at ${url}`];
  // What auditors compare the key they were given with (`npx custodian audit key` prints the key).
  lines.push(`Audit log key fingerprint: ${logKeyOf(rt.audit).fingerprint}`);
  lines.push(describePublishing(rt.publishing));
  if (logins.length) {
    lines.push(`Demo staff logins (also in ${path.join(rt.dataDir, 'demo-credentials.txt')}):`);
    for (const l of logins)
      lines.push(
        `  ${l.role.padEnd(17)} ${l.email.padEnd(26)} ${l.password}${l.totp ? `  totp ${l.totp}` : ''}`,
      );
  }
  lines.push('Press Ctrl+C to stop.', '');
  process.stdout.write(lines.join('\n'));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('Stopping…');
    server.close();
    server.closeAllConnections();
    await queue?.stop();
    queue = undefined;
    await sequencer.stop();
    await rt.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
