import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { commandLine } from '#app/modules/actor.ts';
import { ConfigError } from '#app/config.server.ts';
import { MigrationPrivilegeError } from '#app/db/migrate.server.ts';
import { EmbeddedStartError } from '#app/db/embedded.server.ts';
import { MissingKeyError } from '#app/modules/crypto/keys.server.ts';
import {
  log,
  PortUnavailableError,
  prepareRuntime,
  writeMeta,
  type Runtime,
} from '#app/server/runtime.server.ts';
import { ResetRefusedError } from '#app/server/reset.server.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const HELP = `Usage: npx custodian <command> [options]

Commands:
  start                 build the console if needed, then serve it (the demo default)
  serve                 serve the console (expects a build: npm run build)
  worker                run background jobs only (give CUSTODIAN_WORKERS=0 to the web process)
  migrate               apply the database migrations
  seed [options]        load generated end users into the product tables
      --users N               how many users (default 2000)
      --messages-per-user M   mean messages per user (default 10)
      --events-per-user E     mean usage events per user (default 30)
      --seed S                random seed; the same seed gives the same data (default 1)
      --append                add to a database that already holds users
      --demo-staff            also create the demo staff accounts and write
                              <data dir>/demo-credentials.txt
  staff add --email E --name N --role R [--role R2] [--password P]
                        create a staff account (a temporary password is generated when
                        --password is not given; it must be changed at first sign-in)
  staff list            list staff accounts
  staff disable --email E
                        disable an account and end its sessions at once
  token create --name NAME --scope SCOPE [SCOPE…]
                        create a service-API token (several scopes after one --scope, or
                        --scope repeated: privacy-requests:write, privacy-requests:read,
                        access-history:read); the token is printed once, as the last line,
                        and only its hash is kept
  token list            list service-API tokens: name, scopes, created, last used, revoked
                        (never the token)
  token revoke --name NAME
                        revoke a token at once: its next call is refused (401)
  audit key [--json]    the log's verifier key and its fingerprint, to hand to auditors by a
                        channel of their own (with the rotated keys still trusted)
  audit verify [--json] recompute the audit tree from every entry and check every stored and
                        published checkpoint; exit 0 only when all holds
      --max-intake-age S      also fail when an entry has waited in the intake longer than S
                              seconds (the sequencer is stuck); without it the intake's depth
                              and age are only reported
  audit prove --seq N   inclusion proof of entry N against the latest checkpoint (JSON)
  audit prove --from SIZE1 --to SIZE2
                        consistency proof between two tree sizes (JSON)
  audit export --out DIR [--from TIME] [--to TIME]
                        write a bundle that \`node DIR/verify.mjs --key KEY DIR\` verifies with
                        Node.js alone, against the key \`audit key\` prints
  audit checkpoint      sequence what is queued and sign a checkpoint now
  retention plan [--json]
                        what the next retention run would remove, per category, with its
                        cut-off (a dry run: nothing is deleted); with --json the last line is
                        {"categories":[{"category","cutoff","count"},…]}
  retention run         run the retention purge now (continues a run a crash interrupted)
  training-export --out FILE
                        write the conversations the service may train on as JSONL, one
                        conversation a line: users who opted out of or objected to training,
                        asked for erasure, or were erased are left out (audited)
  reset [--yes]         stop the console and workers running on this data folder, then remove
                        the folder and its PostgreSQL cluster (asks first; --yes does not)

The database is DATABASE_URL, else the embedded server that is running for this data folder
(CUSTODIAN_DATA_DIR, default .data/), else a new embedded server started for the command. The
audit sequencer connects with CUSTODIAN_SEQUENCER_DATABASE_URL (DATABASE_URL when absent).
`;

function fail(message: string): never {
  process.stderr.write(`custodian: ${message}\n`);
  process.exit(2);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const t = entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs;
    newest = Math.max(newest, t);
  }
  return newest;
}

function buildIfNeeded() {
  const output = path.join(root, 'build', 'index.js');
  const sources = Math.max(
    newestMtime(path.join(root, 'app')),
    fs.statSync(path.join(root, 'remix.config.js')).mtimeMs,
    fs.statSync(path.join(root, 'package.json')).mtimeMs,
  );
  if (fs.existsSync(output) && fs.statSync(output).mtimeMs >= sources) return;
  log('Building the console (remix build)…');
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'remix'), ['build'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) fail('the build failed');
}

async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await prepareRuntime({ reuseRunning: true });
  try {
    return await fn(rt);
  } finally {
    // What the command recorded goes into the log now, not whenever a server next runs.
    const { sequenceBatch, sequencerConnection } =
      await import('#app/modules/audit/sequencer.server.ts');
    const seq = sequencerConnection(rt.sequencerUrl, 1);
    try {
      while ((await sequenceBatch(seq)).appended > 0);
    } finally {
      await seq.end();
    }
    await rt.close();
  }
}

/** The log's key needs no database: it comes from the environment or the data folder. */
async function auditKey(json: boolean) {
  const { dataDir, env } = await import('#app/config.server.ts');
  const { loadAuditKeys } = await import('#app/modules/audit/keys.server.ts');
  const { logKeyOf } = await import('#app/modules/audit/publishing.server.ts');
  const { keyFingerprint } = await import('#app/modules/audit/note.ts');
  const config = env();
  const keys = loadAuditKeys({
    dataDir: dataDir(),
    production: config.NODE_ENV === 'production',
    origin: config.CUSTODIAN_AUDIT_ORIGIN,
    trustedFile: config.CUSTODIAN_AUDIT_TRUSTED_KEYS,
    log,
  });
  const current = logKeyOf(keys);
  // The first trusted key is the current one; the others are rotated keys, with their periods.
  const rotated = keys.trusted.slice(1).map((k) => ({
    key: k.key,
    fingerprint: keyFingerprint(k.key),
    ...(k.notBefore ? { notBefore: k.notBefore.toISOString() } : {}),
    ...(k.notAfter ? { notAfter: k.notAfter.toISOString() } : {}),
  }));
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...current, trusted: rotated })}\n`);
    return;
  }
  const lines = [`key          ${current.key}`, `fingerprint  ${current.fingerprint}`];
  for (const k of rotated) {
    const period = `${k.notBefore ?? '…'} to ${k.notAfter ?? '…'}`;
    lines.push(`rotated      ${k.key} ${k.fingerprint} (${period})`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function auditCommand(args: string[]) {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      json: { type: 'boolean', default: false },
      seq: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string' },
      'max-intake-age': { type: 'string' },
    },
    strict: true,
  });
  if (sub === 'key') return auditKey(values.json ?? false);
  const { getSql } = await import('#app/db/client.server.ts');
  const seqMod = await import('#app/modules/audit/sequencer.server.ts');
  const flushAndCheckpoint = async (rt: Runtime) => {
    const sql = seqMod.sequencerConnection(rt.sequencerUrl, 1);
    try {
      while ((await seqMod.sequenceBatch(sql)).appended > 0);
      await seqMod.checkpointIfDue(sql, {
        signer: rt.audit.signer,
        origin: rt.audit.origin,
        minIntervalMs: 0,
        force: true,
        publish: { dir: rt.publishing.dir, command: rt.publishing.command, log },
      });
    } finally {
      await sql.end();
    }
  };
  if (sub === 'verify') {
    const { verifyAuditLog, readPublishedCheckpoints } =
      await import('#app/modules/audit/verify.server.ts');
    const { recordAudit } = await import('#app/modules/audit/writer.server.ts');
    const { describePublishing, publishesNowhere } =
      await import('#app/modules/audit/publishing.server.ts');
    const maxAge = values['max-intake-age'];
    if (maxAge !== undefined && !/^\d+$/.test(maxAge)) {
      fail('--max-intake-age must be a whole number of seconds');
    }
    let ok = false;
    await withRuntime(async (rt) => {
      if (publishesNowhere(rt.publishing)) log(describePublishing(rt.publishing));
      const result = await verifyAuditLog({
        sql: getSql(),
        trusted: rt.audit.trusted,
        origin: rt.audit.origin,
        published: readPublishedCheckpoints(rt.publishing.dir),
        maxIntakeAgeSeconds: maxAge === undefined ? undefined : Number(maxAge),
      });
      await recordAudit(commandLine('audit verify'), {
        action: 'audit.verify',
        outcome: result.ok ? 'allowed' : 'failed',
        details: {
          entries: result.entries,
          checkpoints: result.checkpoints,
          ok: result.ok,
          firstBadSeq: result.firstBadSeq,
        },
      });
      ok = result.ok;
      const waiting = `intake: ${result.intake.depth} queued${result.intake.oldestSeconds === null ? '' : `, the oldest for ${result.intake.oldestSeconds} s`}\n`;
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) {
        const purged = result.purged
          ? ` (${result.purged} with contents removed by retention policy)`
          : '';
        process.stdout.write(
          `OK: ${result.entries} entries${purged}, ${result.checkpoints} checkpoints\n`,
        );
        process.stdout.write(waiting);
      } else {
        process.stdout.write(waiting);
        process.stdout.write(`FAIL: first bad entry ${result.firstBadSeq ?? '(none located)'}\n`);
        for (const p of result.problems)
          process.stdout.write(`  ${p.seq ?? '-'}\t${p.kind}\t${p.message}\n`);
      }
    });
    process.exitCode = ok ? 0 : 1;
  } else if (sub === 'prove') {
    const proofs = await import('#app/modules/audit/proofs.server.ts');
    const whole = (name: string, v: string | undefined) => {
      if (v === undefined || !/^\d+$/.test(v)) fail(`--${name} must be a whole number`);
      return Number(v);
    };
    await withRuntime(async () => {
      if (values.seq !== undefined) {
        const seq = whole('seq', values.seq);
        const cp = await proofs.latestCheckpoint(getSql());
        if (!cp || cp.treeSize <= seq)
          fail(`--seq: no checkpoint covers entry ${seq} yet (run \`audit checkpoint\`)`);
        const [leaf] = await getSql()<
          { leaf_hash: Buffer }[]
        >`select leaf_hash from console.audit_leaves where seq = ${seq}`;
        const proof = await proofs.inclusionProofFor(getSql(), seq, cp.treeSize);
        process.stdout.write(
          `${JSON.stringify({ leafIdx: seq, treeSize: cp.treeSize, root: cp.root.toString('base64'), leafHash: leaf!.leaf_hash.toString('base64'), proof: proof.map((h) => h.toString('base64')), checkpoint: cp.note }, null, 2)}\n`,
        );
      } else {
        const size1 = whole('from', values.from);
        const size2 = whole('to', values.to);
        if (size1 < 1 || size1 > size2) fail('--from must be at least 1 and at most --to');
        const [count] = await getSql()<
          { n: string }[]
        >`select count(*) as n from console.audit_leaves`;
        const held = Number(count?.n ?? 0);
        if (size2 > held) fail(`--to: the log holds ${held} entries`);
        const root1 = { root: await proofs.rootAt(getSql(), size1) };
        const root2 = { root: await proofs.rootAt(getSql(), size2) };
        const proof = await proofs.consistencyProofFor(getSql(), size1, size2);
        process.stdout.write(
          `${JSON.stringify({ size1, size2, root1: root1.root.toString('base64'), root2: root2.root.toString('base64'), proof: proof.map((h) => h.toString('base64')) }, null, 2)}\n`,
        );
      }
    });
  } else if (sub === 'export') {
    if (!values.out) fail('--out: give the folder to write the bundle to');
    const time = (name: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      const d = new Date(v);
      if (Number.isNaN(d.getTime()))
        fail(`--${name} must be a date and time, e.g. 2026-11-29T10:00:00Z`);
      return d;
    };
    const from = time('from', values.from);
    const to = time('to', values.to);
    const { exportBundle } = await import('#app/modules/audit/export.server.ts');
    const { logKeyOf } = await import('#app/modules/audit/publishing.server.ts');
    const { recordAudit } = await import('#app/modules/audit/writer.server.ts');
    await withRuntime(async (rt) => {
      await flushAndCheckpoint(rt);
      const result = await exportBundle({
        sql: getSql(),
        out: path.resolve(values.out!),
        origin: rt.audit.origin,
        trusted: rt.audit.trusted,
        from,
        to,
      });
      await recordAudit(commandLine('audit export'), {
        action: 'audit.export',
        outcome: 'allowed',
        details: { format: 'bundle', entries: result.entries },
      });
      process.stdout.write(
        `Wrote ${result.entries} entries from ${result.firstSeq} and ${result.checkpoints} checkpoints to ${result.dir}\nVerify with: node ${path.join(result.dir, 'verify.mjs')} --key '${logKeyOf(rt.audit).key}' ${result.dir}\n`,
      );
    });
  } else if (sub === 'checkpoint') {
    await withRuntime(async (rt) => {
      await flushAndCheckpoint(rt);
      const { latestCheckpoint } = await import('#app/modules/audit/proofs.server.ts');
      const cp = await latestCheckpoint(getSql());
      process.stdout.write(cp ? cp.note : 'The log is empty.\n');
    });
  } else {
    fail('audit takes key, verify, prove, export or checkpoint (see --help)');
  }
}

async function serve() {
  const { startWebConsole } = await import('#app/server/console.server.ts');
  await startWebConsole({ root });
}

async function worker() {
  const rt = await prepareRuntime({ reuseRunning: true });
  const { startQueue } = await import('#app/modules/jobs/queue.server.ts');
  const { JOBS } = await import('#app/server/jobs.server.ts');
  const { startAuditSequencer } = await import('#app/server/runtime.server.ts');
  const { describePublishing } = await import('#app/modules/audit/publishing.server.ts');
  log(describePublishing(rt.publishing));
  const sequencer = startAuditSequencer(rt);
  if (rt.isEmbedded) {
    const { registerProcess } = await import('#app/server/reset.server.ts');
    registerProcess(rt.dataDir, 'a worker');
  }
  const queue = await startQueue({
    url: rt.url,
    jobs: JOBS,
    concurrency: Math.max(1, rt.env.CUSTODIAN_WORKERS),
    log,
  });
  const stop = async () => {
    await queue.stop();
    await sequencer.stop();
    await rt.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

const intOption = (name: string, value: string | undefined, fallback: number, max: number) => {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max)
    fail(`--${name} must be a whole number from 0 to ${max}`);
  return Number(value);
};

async function seed(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      users: { type: 'string' },
      'messages-per-user': { type: 'string' },
      'events-per-user': { type: 'string' },
      seed: { type: 'string' },
      append: { type: 'boolean', default: false },
      'demo-staff': { type: 'boolean', default: false },
    },
    strict: true,
  });
  await withRuntime(async (rt) => {
    const { seedProductData, SeedRefusedError } = await import('#app/modules/seed/seed.server.ts');
    const options = {
      users: intOption('users', values.users, 2000, 100_000_000),
      messagesPerUser: intOption('messages-per-user', values['messages-per-user'], 10, 10_000),
      eventsPerUser: intOption('events-per-user', values['events-per-user'], 30, 10_000),
      seed: intOption('seed', values.seed, 1, 2 ** 31),
      append: values.append ?? false,
      log,
    };
    try {
      const result = await seedProductData(rt.ownerUrl, rt.ring, options);
      await writeMeta('seeded', { at: new Date().toISOString(), ...result });
      log(`Seeded ${JSON.stringify(result)}`);
    } catch (error) {
      if (error instanceof SeedRefusedError) fail(error.message);
      throw error;
    }
    if (values['demo-staff']) {
      const { ensureDemoStaff } = await import('#app/modules/auth/demo-staff.server.ts');
      await ensureDemoStaff({ dataDir: rt.dataDir, password: rt.env.CUSTODIAN_DEMO_PASSWORD });
      const { ensureDemoRoleRequest } = await import('#app/modules/access/role-requests.server.ts');
      await ensureDemoRoleRequest();
      const { ensureDemoPrivacyRequests } = await import('#app/modules/privacy/demo.server.ts');
      const { appendDemoUser } = await import('#app/modules/seed/demo-user.server.ts');
      await ensureDemoPrivacyRequests({ makeUser: () => appendDemoUser(rt.ownerUrl, rt.ring) });
      log(`Demo staff logins written to ${path.join(rt.dataDir, 'demo-credentials.txt')}`);
    }
  });
}

async function staffCommand(args: string[]) {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      password: { type: 'string' },
    },
    strict: true,
  });
  const { isRole, ROLES } = await import('#app/modules/auth/permissions.ts');
  const staffModule = await import('#app/modules/auth/staff.server.ts');
  if (sub === 'add') {
    if (!values.email || !/^[^\s@]+@[^\s@]+$/.test(values.email))
      fail('--email: give a valid email');
    if (!values.name?.trim()) fail('--name: give the person’s name');
    const roles = values.role ?? [];
    const unknown = roles.find((r) => !isRole(r));
    if (unknown) fail(`--role: unknown role "${unknown}" (one of ${ROLES.join(', ')})`);
    const { randomBytes } = await import('node:crypto');
    const password = values.password ?? randomBytes(12).toString('base64url');
    await withRuntime(async () => {
      try {
        const { id } = await staffModule.createStaff(
          {
            email: values.email!,
            displayName: values.name!,
            password,
            roles: roles.filter(isRole),
            mustChangePassword: true,
          },
          commandLine('staff add'),
        );
        process.stdout.write(`Created ${values.email} (${id}); temporary password: ${password}\n`);
      } catch (error) {
        if (error instanceof staffModule.StaffError) fail(`--${error.field}: ${error.message}`);
        throw error;
      }
    });
  } else if (sub === 'list') {
    await withRuntime(async () => {
      let after: { value: string; id: string } | undefined;
      for (;;) {
        const page = await staffModule.listStaff({ sort: 'email', dir: 'asc', limit: 500, after });
        for (const r of page.rows) {
          process.stdout.write(
            `${r.email}\t${r.status}\t${r.roles.join(',') || '-'}\t${r.displayName}\n`,
          );
        }
        if (!page.next) break;
        after = page.next;
      }
    });
  } else if (sub === 'disable') {
    if (!values.email) fail('--email: give the account’s email');
    await withRuntime(async () => {
      const account = await staffModule.findStaffForSignIn(values.email!);
      if (!account) fail(`--email: no staff account has the email ${values.email}`);
      // The command line acts as itself, not as a staff member; the account's grants end too.
      const { disableStaff } = await import('#app/modules/access/grants.server.ts');
      await disableStaff(account.id, commandLine('staff disable'));
      process.stdout.write(`Disabled ${values.email}; its sessions have ended.\n`);
    });
  } else {
    fail('staff takes add, list or disable (see --help)');
  }
}

/**
 * `--scope a b --scope c`: the values after each --scope up to the next option. Any other bare
 * word is an error naming it.
 */
function tokenArgs(args: string[]): { name?: string; scopes: string[] } {
  const { tokens } = parseArgs({
    args,
    options: { name: { type: 'string' }, scope: { type: 'string', multiple: true } },
    strict: true,
    allowPositionals: true,
    tokens: true,
  });
  let name: string | undefined;
  const scopes: string[] = [];
  let inScopes = false;
  for (const t of tokens) {
    if (t.kind === 'option') {
      inScopes = t.name === 'scope';
      if (t.name === 'name') name = t.value;
      if (t.name === 'scope' && t.value !== undefined) scopes.push(t.value);
    } else if (t.kind === 'positional') {
      if (!inScopes) fail(`unexpected "${t.value}" (see --help)`);
      scopes.push(t.value);
    } else {
      inScopes = false;
    }
  }
  return { name, scopes };
}

async function tokenCommand(args: string[]) {
  const [sub, ...rest] = args;
  const { checkTokenInput, createToken, listTokens, revokeToken } =
    await import('#app/modules/api/tokens.server.ts');
  const { InputError, ConflictError, NotFoundError } = await import('#app/utils/errors.ts');
  const failOn = (error: unknown): never => {
    if (error instanceof InputError) fail(`--${error.field}: ${error.message}`);
    if (error instanceof ConflictError || error instanceof NotFoundError) fail(error.message);
    throw error;
  };
  if (sub === 'create') {
    const { name, scopes } = tokenArgs(rest);
    if (name === undefined) fail('--name: give the token a name (e.g. chat-app)');
    // Checked before any database is reached: a typo costs no start-up.
    try {
      checkTokenInput({ name, scopes });
    } catch (error) {
      failOn(error);
    }
    await withRuntime(async () => {
      try {
        const made = await createToken({ name, scopes }, commandLine('token create'));
        process.stdout.write(
          `Created the token "${made.name}" (${made.scopes.join(', ')}). It is shown once, now; only its hash is kept:\n${made.token}\n`,
        );
      } catch (error) {
        failOn(error);
      }
    });
  } else if (sub === 'list') {
    parseArgs({ args: rest, options: {}, strict: true });
    await withRuntime(async () => {
      const rows = await listTokens();
      const when = (d: Date | null) => (d ? d.toISOString() : '-');
      process.stdout.write('name\tscopes\tcreated\tlast used\trevoked\n');
      for (const r of rows) {
        process.stdout.write(
          `${r.name}\t${r.scopes.join(',')}\t${when(r.createdAt)}\t${when(r.lastUsedAt)}\t${when(r.revokedAt)}\n`,
        );
      }
    });
  } else if (sub === 'revoke') {
    const { values } = parseArgs({
      args: rest,
      options: { name: { type: 'string' } },
      strict: true,
    });
    if (!values.name) fail('--name: give the name of the token to revoke');
    await withRuntime(async () => {
      try {
        await revokeToken(values.name!, commandLine('token revoke'));
        process.stdout.write(`Revoked the token "${values.name}".\n`);
      } catch (error) {
        failOn(error);
      }
    });
  } else {
    fail('token takes create, list or revoke (see --help)');
  }
}

async function retentionCommand(args: string[]) {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { json: { type: 'boolean', default: false } },
    strict: true,
  });
  const { planRetention, runRetention } = await import('#app/modules/retention/engine.server.ts');
  if (sub === 'plan') {
    await withRuntime(async () => {
      const plan = await planRetention();
      if (!values.json) {
        for (const line of plan) {
          process.stdout.write(
            `${line.category.padEnd(24)} ${String(line.count).padStart(10)}  older than ${line.cutoff} (${line.periodDays === 1 ? '1 day' : `${line.periodDays} days`})\n`,
          );
        }
        return;
      }
      const categories = plan.map(({ category, cutoff, count }) => ({ category, cutoff, count }));
      process.stdout.write(`${JSON.stringify({ categories })}\n`);
    });
    return;
  }
  if (sub === 'run') {
    if (values.json) fail('--json goes with retention plan');
    await withRuntime(async () => {
      const result = await runRetention({
        trigger: 'command',
        actor: commandLine('retention run'),
        log,
      });
      if (result.status === 'busy') {
        fail('another retention run is in progress: nothing done');
      }
      for (const line of result.categories) {
        process.stdout.write(
          `${line.category.padEnd(24)} ${String(line.removed).padStart(10)} removed in ${line.batches} batch(es), ${line.durationMs} ms\n`,
        );
      }
    });
    return;
  }
  fail('retention takes plan or run (see --help)');
}

async function trainingExport(args: string[]) {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  if (!values.out) fail('--out: give the file to write the conversations to');
  const out = path.resolve(values.out);
  if (!fs.existsSync(path.dirname(out)))
    fail(`--out: the folder ${path.dirname(out)} does not exist`);
  const { writeTrainingExport } = await import('#app/modules/privacy/training.server.ts');
  await withRuntime(async () => {
    const result = await writeTrainingExport(out, commandLine('training-export'));
    process.stdout.write(
      `Wrote ${result.conversations} conversations (${result.messages} messages) of ${result.users} users to ${result.file}; left out ${result.excludedUsers} users who opted out, objected or asked for erasure.\n`,
    );
  });
}

/** Removes the embedded default's data folder and cluster, after stopping what uses them. */
async function reset(args: string[]) {
  const { values } = parseArgs({ args, options: { yes: { type: 'boolean', default: false } } });
  if (process.env.DATABASE_URL) {
    fail('reset removes the embedded database, and DATABASE_URL points elsewhere: nothing done');
  }
  const { dataDir } = await import('#app/config.server.ts');
  const { resetDataFolder, resetPlan } = await import('#app/server/reset.server.ts');
  const plan = resetPlan(dataDir());
  if (!values.yes) {
    if (!process.stdin.isTTY) {
      process.stderr.write(
        'custodian: reset asks before it removes anything; give --yes to confirm without a terminal\n',
      );
      process.exit(1);
    }
    const { createInterface } = await import('node:readline/promises');
    const prompt = createInterface({ input: process.stdin, output: process.stdout });
    const what = plan.cluster ? `${plan.dataDir} and the cluster ${plan.cluster}` : plan.dataDir;
    const answer = await prompt.question(`Stop Custodian and remove ${what}? Type "yes": `);
    prompt.close();
    if (answer.trim().toLowerCase() !== 'yes') {
      log('Nothing removed.');
      process.exit(1);
    }
  }
  await resetDataFolder(plan.dataDir, log);
}

async function main(argv: string[]) {
  const [command, ...args] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return;
    case 'start':
      buildIfNeeded();
      return serve();
    case 'serve':
      return serve();
    case 'worker':
      return worker();
    case 'migrate':
      return withRuntime(async () => log('Migrations applied.'));
    case 'seed':
      return seed(args);
    case 'staff':
      return staffCommand(args);
    case 'audit':
      return auditCommand(args);
    case 'token':
      return tokenCommand(args);
    case 'retention':
      return retentionCommand(args);
    case 'training-export':
      return trainingExport(args);
    case 'reset':
      return reset(args);
    default:
      fail(`unknown command "${command}" (see --help)`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof ConfigError ||
    error instanceof MissingKeyError ||
    error instanceof MigrationPrivilegeError ||
    error instanceof EmbeddedStartError ||
    error instanceof ResetRefusedError ||
    error instanceof PortUnavailableError
  ) {
    fail(error.message);
  }
  if (
    error instanceof Error &&
    'code' in error &&
    String(error.code).startsWith('ERR_PARSE_ARGS')
  ) {
    fail(error.message);
  }
  console.error(error);
  process.exit(1);
});
