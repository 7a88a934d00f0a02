import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { canonicalBytes } from '#app/modules/audit/canonical.ts';
import { leafHash, rootOf } from '#app/modules/audit/merkle.ts';
import { verifierKeyFor, type Signer } from '#app/modules/audit/note.ts';
import {
  checkpointIfDue,
  sequenceBatch,
  sequencerConnection,
} from '#app/modules/audit/sequencer.server.ts';
import { verifyAuditLog } from '#app/modules/audit/verify.server.ts';
import { buildEntry, recordAudit } from '#app/modules/audit/writer.server.ts';
import { createTestDatabase, ownerUrl, sequencerUrl, useTestDatabase } from '../support/db.ts';
import { APP_ROLE } from '#app/db/client.server.ts';
import {
  createStaffWithRoles,
  fetchAs,
  madeUpStaff,
  signInAs,
  startTestServer,
  TEST_JOB,
} from '../support/http.ts';

// The sequencer keeps the log moving whatever is queued or stored beside it (ADR 018): an intake
// row that is not a valid entry is logged as its bytes and reported, a stored checkpoint or tree
// head it cannot verify is refused, not built on, and verification names each of them.

useTestDatabase();

const ORIGIN = 'custodian.local/audit';
const signer: Signer = { name: ORIGIN, privateKey: generateKeyPairSync('ed25519').privateKey };
const trusted = [{ key: verifierKeyFor(signer) }];

/** A database of its own (or `url`), its owner's connection (a superuser) and the sequencer's. */
async function freshLog(url?: string) {
  url ??= await createTestDatabase();
  const owner = postgres(ownerUrl(url), { max: 1, onnotice: () => {} });
  const seq = sequencerConnection(sequencerUrl(url), 1);
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  return {
    url,
    owner,
    seq,
    lines,
    log,
    async queue(body: Buffer | string, at = new Date()) {
      await owner`insert into console.audit_intake (body, enqueued_at)
                  values (${typeof body === 'string' ? Buffer.from(body) : body}, ${at})`;
    },
    async queueValid(n = 1) {
      for (let i = 0; i < n; i++) {
        await this.queue(
          canonicalBytes(
            buildEntry(
              madeUpStaff(),
              { action: 'user.lookup', outcome: 'allowed', details: { by: 'id', found: true } },
              new Date(),
            ),
          ),
        );
      }
    },
    async flush() {
      let total = 0;
      for (;;) {
        const { appended } = await sequenceBatch(seq, { log });
        if (appended === 0) return total;
        total += appended;
      }
    },
    checkpoint(force = true) {
      return checkpointIfDue(seq, { signer, origin: ORIGIN, minIntervalMs: 0, force, log });
    },
    async verify(extra: { maxIntakeAgeSeconds?: number } = {}) {
      const reader = postgres(url, {
        max: 2,
        onnotice: () => {},
        connection: { role: APP_ROLE },
      });
      try {
        return await verifyAuditLog({ sql: reader, trusted, origin: ORIGIN, ...extra });
      } finally {
        await reader.end();
      }
    },
    async close() {
      await seq.end();
      await owner.end();
    },
  };
}

type Log = Awaited<ReturnType<typeof freshLog>>;
let log: Log | undefined;
afterEach(async () => {
  await log?.close();
  log = undefined;
});

describe('one bad intake row does not stop the log', () => {
  it('a row that is not JSON, or not even UTF-8, is logged as its bytes; later entries follow', async () => {
    log = await freshLog();
    await log.queueValid(2);
    const notJson = Buffer.from('this is not JSON {');
    const notUtf8 = Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x41]);
    await log.queue(notJson);
    await log.queueValid(1);
    await log.queue(notUtf8);
    await log.queueValid(2);
    expect(await log.flush()).toBe(7);
    await log.checkpoint();

    const rows = await log.owner<
      {
        seq: string;
        body: string | null;
        raw: Buffer | null;
        invalid: string | null;
        action: string | null;
        occurred_at: Date | null;
        outcome: string | null;
        leaf_hash: Buffer;
      }[]
    >`select e.seq, e.body, e.raw, e.invalid, e.action, e.occurred_at, e.outcome, l.leaf_hash
      from console.audit_entries e join console.audit_leaves l using (seq) order by seq`;
    expect(rows.map((r) => Number(r.seq))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const [i, bytes, reason] of [
      [2, notJson, 'not JSON'],
      [4, notUtf8, 'not UTF-8'],
    ] as const) {
      const row = rows[i]!;
      expect(row.raw?.equals(bytes)).toBe(true);
      expect(row.invalid).toBe(reason);
      expect([row.body, row.action, row.occurred_at, row.outcome]).toEqual([
        null,
        null,
        null,
        null,
      ]);
      // The leaf is the committed bytes, and the next entry is chained to it.
      expect(row.leaf_hash.equals(leafHash(bytes))).toBe(true);
      const next = JSON.parse(rows[i + 1]!.body!) as { prev: string };
      expect(next.prev).toBe(row.leaf_hash.toString('base64'));
    }
    const root = rootOf(rows.map((r) => r.leaf_hash));
    const [cp] = await log.owner<{ root: Buffer; tree_size: string }[]>`
      select root, tree_size from console.audit_checkpoints order by tree_size desc limit 1`;
    expect(Number(cp!.tree_size)).toBe(7);
    expect(cp!.root.equals(root)).toBe(true);
    expect(log.lines.join('\n')).toMatch(/entry 2 is not a valid audit entry \(not JSON\)/);

    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(7);
    expect(result.firstBadSeq).toBe(2);
    expect(result.problems.map((p) => [p.seq, p.kind])).toEqual([
      [2, 'invalid_entry'],
      [4, 'invalid_entry'],
    ]);
  });

  it('an entry that bypassed the writer, with an undeclared details.email, is logged invalid and reviewers are alerted', async () => {
    // The file's database, where the staff accounts are.
    log = await freshLog(process.env.DATABASE_URL);
    const reviewer = await createStaffWithRoles(['security_auditor']);
    const bystander = await createStaffWithRoles(['support_agent']);
    // As the app's role would: someone else's name on it, and a field the catalogue forbids.
    const forged = buildEntry(
      madeUpStaff({ staffId: bystander.id }),
      { action: 'user.lookup', outcome: 'allowed', details: { by: 'email', found: true } },
      new Date(),
    );
    const bytes = canonicalBytes({
      ...forged,
      details: { ...forged.details, email: 'jane@example.com' },
    });
    const app = postgres(log.url, {
      max: 1,
      onnotice: () => {},
      connection: { role: 'custodian_app' },
    });
    try {
      await app`insert into console.audit_intake (body, enqueued_at) values (${bytes}, now())`;
    } finally {
      await app.end();
    }
    await log.queueValid(1);
    await log.flush();

    const [entry] = await log.owner<
      { seq: string; invalid: string | null; actor_staff_id: string | null; raw: Buffer | null }[]
    >`select seq, invalid, actor_staff_id, raw from console.audit_entries where raw = ${bytes}`;
    const seq = Number(entry!.seq);
    expect(entry!.invalid).toMatch(/^details/);
    expect(entry!.invalid).toContain('email');
    // Not attributed to the bystander in any searchable column.
    expect(entry!.actor_staff_id).toBeNull();

    const alerts = await log.owner<{ recipient_id: string; audit_seq: string }[]>`
      select recipient_id, audit_seq from console.notifications where kind = 'audit.invalid_entry'`;
    expect(alerts.map((a) => [a.recipient_id, Number(a.audit_seq)])).toContainEqual([
      reviewer.id,
      seq,
    ]);
    expect(alerts.map((a) => a.recipient_id)).not.toContain(bystander.id);

    await log.checkpoint();
    const result = await log.verify();
    expect(result.problems).toEqual([expect.objectContaining({ seq, kind: 'invalid_entry' })]);
    expect(result.problems[0]!.message).toContain('details');
  });
});

describe('the intake as verification sees it', () => {
  it('reports its depth and age; only --max-intake-age makes a stuck intake a failure', async () => {
    log = await freshLog();
    await log.queueValid(3);
    await log.flush();
    await log.checkpoint();
    const hourAgo = new Date(Date.now() - 3_600_000);
    await log.queue(
      canonicalBytes(
        buildEntry(
          madeUpStaff(),
          { action: 'auth.sign_out', outcome: 'allowed', details: {} },
          hourAgo,
        ),
      ),
      hourAgo,
    );
    await log.queueValid(1);

    const lagging = await log.verify();
    expect(lagging.ok).toBe(true);
    expect(lagging.intake.depth).toBe(2);
    expect(lagging.intake.oldestSeconds).toBeGreaterThanOrEqual(3_599);

    const strict = await log.verify({ maxIntakeAgeSeconds: 600 });
    expect(strict.ok).toBe(false);
    expect(strict.problems).toEqual([expect.objectContaining({ seq: null, kind: 'intake' })]);
    expect(await log.verify({ maxIntakeAgeSeconds: 7_200 })).toMatchObject({ ok: true });

    await log.flush();
    expect((await log.verify()).intake).toEqual({ depth: 0, oldestSeconds: null });
  });

  it('`audit verify --json --max-intake-age` fails naming the intake; without it, ok', async () => {
    log = await freshLog();
    await log.queueValid(1);
    await log.flush();
    const hourAgo = new Date(Date.now() - 3_600_000);
    await log.queue(
      canonicalBytes(
        buildEntry(
          madeUpStaff(),
          { action: 'auth.sign_out', outcome: 'allowed', details: {} },
          hourAgo,
        ),
      ),
      hourAgo,
    );
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-intake-'));
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['bin/custodian.mjs', 'audit', 'verify', '--json', ...args], {
        encoding: 'utf8',
        env: {
          ...process.env,
          DATABASE_URL: log!.url,
          CUSTODIAN_SEQUENCER_DATABASE_URL: sequencerUrl(log!.url),
          CUSTODIAN_DATA_DIR: dataDir,
          CUSTODIAN_MASTER_KEY: Buffer.alloc(32, 5).toString('base64'),
          CUSTODIAN_INDEX_KEY: Buffer.alloc(32, 6).toString('base64'),
        },
        timeout: 300_000,
      });
    try {
      const strict = cli(['--max-intake-age', '60']);
      expect(strict.status, strict.stderr).toBe(1);
      const failed = JSON.parse(strict.stdout) as {
        ok: boolean;
        intake: { depth: number; oldestSeconds: number };
        problems: { kind: string; message: string }[];
      };
      expect(failed.ok).toBe(false);
      expect(failed.intake.depth).toBe(1);
      expect(failed.intake.oldestSeconds).toBeGreaterThanOrEqual(3_599);
      expect(failed.problems.map((p) => p.kind)).toEqual(['intake']);
      // The command sequenced what it found on its way out; queue an old one again.
      await log.queue(
        canonicalBytes(
          buildEntry(
            madeUpStaff(),
            { action: 'auth.sign_out', outcome: 'allowed', details: {} },
            hourAgo,
          ),
        ),
        hourAgo,
      );
      const lenient = cli([]);
      expect(lenient.status, lenient.stderr).toBe(0);
      expect(JSON.parse(lenient.stdout)).toMatchObject({ ok: true, intake: { depth: 1 } });
      expect(cli(['--max-intake-age', 'soon']).status).toBe(2);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('stored checkpoints and tree heads the sequencer cannot verify', () => {
  it('an inserted checkpoint row with a huge tree size does not stop the signing, and verify names it', async () => {
    log = await freshLog();
    await log.queueValid(4);
    await log.flush();
    const first = await log.checkpoint();
    expect(first?.treeSize).toBe(4);
    // A superuser (or, before migration 0015, the app's role) copies the note into a row that
    // claims a tree far larger than the log.
    const [forged] = await log.owner<{ id: string }[]>`
      insert into console.audit_checkpoints (tree_size, root, note, key_name, created_at)
      select 1000000000000, root, note, key_name, created_at from console.audit_checkpoints
      returning id`;
    await log.queueValid(3);
    await log.flush();
    const next = await log.checkpoint(false);
    expect(next?.treeSize).toBe(7);
    expect(log.lines.join('\n')).toContain(`REFUSING stored checkpoint ${forged!.id}`);

    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.objectContaining({
        seq: null,
        kind: 'checkpoint',
        message: expect.stringContaining(`stored checkpoint ${forged!.id}`),
      }),
    ]);
  });

  it('a checkpoint row whose signature does not verify is not built on: the sequencer signs past it', async () => {
    log = await freshLog();
    await log.queueValid(2);
    await log.flush();
    await log.checkpoint();
    await log.queueValid(2);
    await log.flush();
    // A row for the current size, signed by a stranger: it would make the log look checkpointed.
    const stranger: Signer = {
      name: ORIGIN,
      privateKey: generateKeyPairSync('ed25519').privateKey,
    };
    await checkpointIfDue(log.seq, {
      signer: stranger,
      origin: ORIGIN,
      minIntervalMs: 0,
      force: true,
    });
    const made = await log.checkpoint(false);
    expect(made?.treeSize).toBe(4);
    expect(log.lines.join('\n')).toMatch(/REFUSING stored checkpoint \d+ \(tree size 4\)/);
  });

  it('an inserted tree head of size + 1 does not fail every batch, and verify names it', async () => {
    log = await freshLog();
    await log.queueValid(3);
    await log.flush();
    await log.checkpoint();
    await log.owner`
      insert into console.audit_tree_heads (tree_size, root, frontier, created_at)
      select tree_size + 1, root, frontier, now() from console.audit_tree_heads
      order by tree_size desc limit 1`;
    await log.queueValid(1);
    expect(await log.flush()).toBe(1);
    await log.queueValid(2);
    expect(await log.flush()).toBe(2);
    await log.checkpoint();
    expect(log.lines.join('\n')).toContain('REFUSING stored tree head 4');

    const [count] = await log.owner<{ n: string }[]>`
      select count(*) as n from console.audit_entries`;
    expect(Number(count!.n)).toBe(6);
    const result = await log.verify();
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(6);
    expect(result.problems).toEqual([
      expect.objectContaining({
        seq: null,
        kind: 'tree_head',
        message: expect.stringContaining('stored tree head 4'),
      }),
    ]);
  });

  it('a tree head beyond the log is refused and reported', async () => {
    log = await freshLog();
    await log.queueValid(2);
    await log.flush();
    await log.owner`
      insert into console.audit_tree_heads (tree_size, root, frontier, created_at)
      values (50, ${Buffer.alloc(32)}, ${log.owner.json({ size: 50, hashes: [] })}, now())`;
    await log.queueValid(2);
    expect(await log.flush()).toBe(2);
    await log.checkpoint();
    expect(log.lines.join('\n')).toContain('REFUSING stored tree head 50');
    const result = await log.verify();
    expect(result.problems).toEqual([
      expect.objectContaining({ kind: 'tree_head', message: expect.stringContaining('50') }),
    ]);
  });
});

describe('/audit/verify', () => {
  it('shows how many entries wait for the sequencer and for how long', async () => {
    const server = await startTestServer();
    try {
      const auditor = await createStaffWithRoles(['security_auditor']);
      const cookie = await signInAs(server.baseUrl, auditor.email, auditor.password);
      // The sign-in's own entry waits too: nothing sequences in this test's database.
      await recordAudit(TEST_JOB, {
        action: 'user.lookup',
        outcome: 'allowed',
        userId: randomUUID(),
        details: { by: 'id', found: false },
      });
      const html = await (await fetchAs(cookie, '/audit/verify')).text();
      expect(html).toMatch(/data-testid="intake"[^>]*>Waiting for the sequencer: <!-- -->\d+/);
      expect(html).toMatch(/the oldest for <!-- -->\d+<!-- --> s/);
    } finally {
      await server.close();
    }
  });
});
