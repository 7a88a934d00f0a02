import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { getSql } from '#app/db/client.server.ts';
import { canonicalBytes } from '#app/modules/audit/canonical.ts';
import { exportBundle } from '#app/modules/audit/export.server.ts';
import { leafHash, rootOf, verifyInclusion } from '#app/modules/audit/merkle.ts';
import {
  signNote,
  formatCheckpoint,
  verifierKeyFor,
  type Signer,
} from '#app/modules/audit/note.ts';
import { inclusionProofFor, latestCheckpoint } from '#app/modules/audit/proofs.server.ts';
import {
  checkpointIfDue,
  sequenceBatch,
  sequencerConnection,
} from '#app/modules/audit/sequencer.server.ts';
import { readPublishedCheckpoints, verifyAuditLog } from '#app/modules/audit/verify.server.ts';
import { AuditWriteError, buildEntry, recordAudit } from '#app/modules/audit/writer.server.ts';
import { madeUpStaff, TEST_JOB } from '../support/http.ts';
import { createTestDatabase, ownerUrl, sequencerUrl, useTestDatabase } from '../support/db.ts';

const { sql } = useTestDatabase();

const ORIGIN = 'custodian.local/audit';
const signer: Signer = { name: ORIGIN, privateKey: generateKeyPairSync('ed25519').privateKey };
const trusted = [{ key: verifierKeyFor(signer) }];
const AUDIT_TABLES = [
  'audit_leaves',
  'audit_entries',
  'audit_nodes',
  'audit_tree_heads',
  'audit_checkpoints',
];

function entryBody(i: number) {
  return canonicalBytes(
    buildEntry(
      madeUpStaff(),
      {
        action: 'user.view',
        outcome: 'allowed',
        userId: randomUUID(),
        grantId: randomUUID(),
        purpose: `case-${i}`,
        details: { category: 'profile' },
      },
      new Date(Date.UTC(2026, 10, 1, 0, 0, i)),
    ),
  );
}

/** A database whose log holds 40 entries and checkpoints at 10, 20, 30 and 40, published too. */
async function builtLog() {
  const url = await createTestDatabase();
  const publishDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-published-'));
  const owner = postgres(ownerUrl(url), { max: 1, onnotice: () => {} });
  const seq = sequencerConnection(sequencerUrl(url), 1);
  for (let batch = 0; batch < 4; batch++) {
    for (let i = 0; i < 10; i++) {
      await owner`insert into console.audit_intake (body, enqueued_at) values (${entryBody(batch * 10 + i)}, now())`;
    }
    await sequenceBatch(seq);
    await checkpointIfDue(seq, {
      signer,
      origin: ORIGIN,
      minIntervalMs: 0,
      force: true,
      publish: { dir: publishDir },
    });
  }
  await seq.end();
  return { url, owner, publishDir };
}

async function verifyDb(url: string, publishDir: string, chunkSize?: number) {
  const reader = postgres(url, { max: 2, onnotice: () => {} });
  try {
    return await verifyAuditLog({
      sql: reader,
      trusted,
      origin: ORIGIN,
      published: readPublishedCheckpoints(publishDir),
      chunkSize,
    });
  } finally {
    await reader.end();
  }
}

async function verifyBundle(url: string, publishDir: string) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-bundle-'));
  const reader = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await exportBundle({ sql: reader, out, origin: ORIGIN, trusted });
  } finally {
    await reader.end();
  }
  const witnessed = fs
    .readdirSync(publishDir)
    .flatMap((f) => ['--checkpoint', path.join(publishDir, f)]);
  // The log's key comes from outside the bundle, as an auditor's would.
  const key = ['--key', trusted[0]!.key];
  const run = spawnSync(
    process.execPath,
    [path.join(out, 'verify.mjs'), ...key, ...witnessed, out],
    {
      encoding: 'utf8',
    },
  );
  fs.rmSync(out, { recursive: true, force: true });
  return { status: run.status, output: run.stdout + run.stderr };
}

/** Acts as a superuser who switches the append-only triggers off to tamper. */
async function tamper(owner: postgres.Sql, fn: () => Promise<unknown>) {
  for (const t of AUDIT_TABLES) await owner.unsafe(`alter table console.${t} disable trigger user`);
  await fn();
  for (const t of AUDIT_TABLES) {
    await owner.unsafe(`alter table console.${t} enable always trigger ${t}_append_only`);
    await owner.unsafe(`alter table console.${t} enable always trigger ${t}_no_truncate`);
  }
}

const editBody = (seqNo: number) => `
  update console.audit_entries
  set body = replace(body, '"outcome":"allowed"', '"outcome":"denied"')
  where seq = ${seqNo}`;

describe('the audit log', () => {
  it('sequences queued entries contiguously from 0, chained, into an RFC 6962 tree', async () => {
    for (let i = 0; i < 25; i++) {
      await recordAudit(TEST_JOB, {
        action: 'user.lookup',
        outcome: 'allowed',
        userId: randomUUID(),
        details: { by: 'email', found: i % 2 === 0 },
      });
    }
    const seq = sequencerConnection(sequencerUrl(), 1);
    while ((await sequenceBatch(seq, { limit: 7 })).appended > 0);
    await checkpointIfDue(seq, { signer, origin: ORIGIN, minIntervalMs: 0, force: true });
    await seq.end();
    const rows = await sql()<{ seq: string; body: string; leaf_hash: Buffer }[]>`
      select e.seq, e.body, l.leaf_hash from console.audit_entries e join console.audit_leaves l using (seq) order by seq`;
    expect(rows.map((r) => Number(r.seq))).toEqual([...Array(25).keys()]);
    let prev: string | null = null;
    for (const r of rows) {
      const entry = JSON.parse(r.body) as { seq: number; prev: string | null };
      expect(entry.seq).toBe(Number(r.seq));
      expect(entry.prev).toBe(prev);
      expect(leafHash(Buffer.from(r.body, 'utf8')).equals(r.leaf_hash)).toBe(true);
      // Stored as canonical bytes, never re-derived: re-canonicalising gives the same bytes.
      expect(canonicalBytes(JSON.parse(r.body)).toString('utf8')).toBe(r.body);
      prev = r.leaf_hash.toString('base64');
    }
    const cp = (await latestCheckpoint(getSql()))!;
    expect(cp.treeSize).toBe(25);
    expect(cp.root.equals(rootOf(rows.map((r) => r.leaf_hash)))).toBe(true);
    const proof = await inclusionProofFor(getSql(), 13, 25);
    expect(verifyInclusion(13, 25, rows[13]!.leaf_hash, proof, cp.root)).toBe(true);
    expect((await verifyAuditLog({ sql: getSql(), trusted, origin: ORIGIN })).ok).toBe(true);
  });

  it('refuses details that are not in the catalogue (no personal data slips in)', async () => {
    await expect(
      recordAudit(TEST_JOB, {
        action: 'user.lookup',
        outcome: 'allowed',
        details: { by: 'email', found: true, email: 'jane@example.com' } as never,
      }),
    ).rejects.toThrow(AuditWriteError);
    await expect(
      recordAudit(TEST_JOB, {
        action: 'user.view',
        outcome: 'allowed',
        userId: 'not-a-uuid',
        details: { category: 'profile' },
      }),
    ).rejects.toThrow(/userId/);
  });
});

describe('append-only storage', () => {
  it('the app really runs as custodian_app, which may only read and insert the audit tables', async () => {
    const [who] = await sql()<{ current_user: string }[]>`select current_user`;
    expect(who!.current_user).toBe('custodian_app');
    for (const table of AUDIT_TABLES) {
      await expect(
        sql().unsafe(
          `update console.${table} set ${table === 'audit_nodes' ? 'level' : table === 'audit_checkpoints' ? 'note' : table === 'audit_tree_heads' ? 'tree_size' : 'seq'} = ${table === 'audit_checkpoints' ? "''" : '0'}`,
        ),
      ).rejects.toThrow(/permission denied/);
      await expect(sql().unsafe(`delete from console.${table}`)).rejects.toThrow(
        /permission denied/,
      );
      await expect(sql().unsafe(`truncate console.${table}`)).rejects.toThrow(/permission denied/);
    }
    await expect(sql()`select * from console.audit_intake`).rejects.toThrow(/permission denied/);
    await expect(sql()`delete from console.audit_intake`).rejects.toThrow(/permission denied/);
  });

  it('the triggers refuse UPDATE, DELETE and TRUNCATE even for the owner and a superuser', async () => {
    const owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
    // Row triggers fire only for rows: make sure every audit table holds some.
    await recordAudit(TEST_JOB, {
      action: 'user.lookup',
      outcome: 'allowed',
      details: { by: 'id', found: false },
    });
    const seq = sequencerConnection(sequencerUrl(), 1);
    await sequenceBatch(seq);
    await recordAudit(TEST_JOB, {
      action: 'user.lookup',
      outcome: 'allowed',
      details: { by: 'id', found: false },
    });
    await sequenceBatch(seq);
    await checkpointIfDue(seq, { signer, origin: ORIGIN, minIntervalMs: 0, force: true });
    await seq.end();
    try {
      for (const table of [...AUDIT_TABLES, 'audit_intake']) {
        const [row] = await owner.unsafe<{ n: number }[]>(
          `select count(*)::int as n from console.${table}`,
        );
        if (table !== 'audit_intake') expect(row!.n).toBeGreaterThan(0);
      }
      await recordAudit(TEST_JOB, {
        action: 'user.lookup',
        outcome: 'allowed',
        details: { by: 'id', found: false },
      });
      const [su] = await owner<
        { rolsuper: boolean }[]
      >`select rolsuper from pg_roles where rolname = current_user`;
      expect(su!.rolsuper).toBe(true);
      await owner`set session_replication_role = replica`; // ENABLE ALWAYS fires even so
      for (const table of AUDIT_TABLES) {
        await expect(owner.unsafe(`delete from console.${table}`)).rejects.toThrow(/append-only/);
        await expect(owner.unsafe(`truncate console.${table}`)).rejects.toThrow(/append-only/);
      }
      await expect(owner`update console.audit_entries set outcome = 'denied'`).rejects.toThrow(
        /append-only/,
      );
      await expect(owner`delete from console.audit_intake`).rejects.toThrow(
        /reserved to the sequencer/,
      );
    } finally {
      await owner.end();
    }
  });
});

describe('tamper evidence', () => {
  const cases: {
    name: string;
    bad: (n: number) => boolean;
    act: (owner: postgres.Sql) => Promise<unknown>;
  }[] = [
    { name: "a row's details changed", bad: (n) => n === 17, act: (o) => o.unsafe(editBody(17)) },
    {
      name: 'a row and its stored hash changed',
      bad: (n) => n === 17,
      act: async (o) => {
        await o.unsafe(editBody(17));
        await o`update console.audit_leaves l set leaf_hash = sha256('\\x00'::bytea || convert_to(e.body, 'UTF8')) from console.audit_entries e where e.seq = l.seq and l.seq = 17`;
      },
    },
    {
      name: 'a middle row deleted',
      bad: (n) => n === 17,
      act: async (o) => {
        await o`delete from console.audit_entries where seq = 17`;
        await o`delete from console.audit_leaves where seq = 17`;
      },
    },
    {
      name: 'a run of rows longer than a verification chunk deleted',
      bad: (n) => n === 12,
      act: async (o) => {
        await o`delete from console.audit_entries where seq between 12 and 21`;
        await o`delete from console.audit_leaves where seq between 12 and 21`;
      },
    },
    {
      name: 'two rows swapped',
      bad: (n) => n === 17,
      act: async (o) => {
        await o`update console.audit_entries set seq = -1 where seq = 17`;
        await o`update console.audit_entries set seq = 17 where seq = 18`;
        await o`update console.audit_entries set seq = 18 where seq = -1`;
        await o`update console.audit_leaves set seq = -1 where seq = 17`;
        await o`update console.audit_leaves set seq = 17 where seq = 18`;
        await o`update console.audit_leaves set seq = 18 where seq = -1`;
      },
    },
    {
      name: 'the tail cut off',
      bad: (n) => n === 25,
      act: async (o) => {
        for (const t of ['audit_entries', 'audit_leaves'])
          await o.unsafe(`delete from console.${t} where seq >= 25`);
        await o`delete from console.audit_checkpoints where tree_size > 25`;
        await o`delete from console.audit_tree_heads where tree_size > 25`;
      },
    },
    {
      name: 'the tail cut off and re-signed with the key',
      bad: (n) => n === 25,
      act: async (o) => {
        for (const t of ['audit_entries', 'audit_leaves'])
          await o.unsafe(`delete from console.${t} where seq >= 25`);
        await o`delete from console.audit_checkpoints where tree_size > 20`;
        await o`delete from console.audit_tree_heads where tree_size > 20`;
        const leaves = await o<
          { leaf_hash: Buffer }[]
        >`select leaf_hash from console.audit_leaves order by seq`;
        const root = rootOf(leaves.map((l) => l.leaf_hash));
        const note = signNote(
          formatCheckpoint({ origin: ORIGIN, size: 25, rootHash: root, timestamp: new Date() }),
          signer,
        );
        await o`insert into console.audit_checkpoints (tree_size, root, note, key_name, created_at) values (25, ${root}, ${note}, ${ORIGIN}, now())`;
      },
    },
    {
      name: 'an entry changed and every later hash rewritten',
      // Only the signed checkpoints can tell; the first bad position lies after the last good one.
      bad: (n) => n >= 10 && n <= 17,
      act: async (o) => {
        await o.unsafe(editBody(17));
        const rows = await o<
          { seq: string; body: string }[]
        >`select seq, body from console.audit_entries where seq >= 16 order by seq`;
        let prev: Buffer | null = null;
        for (const row of rows) {
          const entry = JSON.parse(row.body) as Record<string, unknown>;
          const body = prev
            ? canonicalBytes({ ...entry, prev: prev.toString('base64') }).toString('utf8')
            : row.body;
          const hash = leafHash(Buffer.from(body, 'utf8'));
          await o`update console.audit_entries set body = ${body} where seq = ${row.seq}`;
          await o`update console.audit_leaves set leaf_hash = ${hash} where seq = ${row.seq}`;
          prev = hash;
        }
      },
    },
  ];

  it.each(cases)(
    '$name: audit verify and the bundle verifier both name the position',
    async ({ bad, act }) => {
      const { url, owner, publishDir } = await builtLog();
      try {
        expect((await verifyDb(url, publishDir)).ok).toBe(true);
        expect((await verifyDb(url, publishDir, 3)).ok).toBe(true);
        await tamper(owner, () => act(owner));
        const result = await verifyDb(url, publishDir);
        expect(result.ok).toBe(false);
        expect(result.firstBadSeq).not.toBeNull();
        expect(bad(result.firstBadSeq!), JSON.stringify(result)).toBe(true);
        // The same in chunks of 3 positions: many chunks in flight, boundaries everywhere, and
        // whole chunks with no rows at all.
        const chunked = await verifyDb(url, publishDir, 3);
        expect(chunked.firstBadSeq, JSON.stringify(chunked)).toBe(result.firstBadSeq);
        expect(chunked.problems).toEqual(result.problems);
        const bundle = await verifyBundle(url, publishDir);
        expect(bundle.status).toBe(1);
        const named = /FAIL seq (\d+)/.exec(bundle.output);
        expect(named, bundle.output).not.toBeNull();
        expect(bad(Number(named![1])), bundle.output).toBe(true);
      } finally {
        await owner.end();
        fs.rmSync(publishDir, { recursive: true, force: true });
      }
    },
  );

  it('an intact log exports a bundle that verifies with Node.js alone', async () => {
    const { url, owner, publishDir } = await builtLog();
    await owner.end();
    const bundle = await verifyBundle(url, publishDir);
    expect(bundle.output).toContain('OK: 40 entries');
    expect(bundle.status).toBe(0);
    fs.rmSync(publishDir, { recursive: true, force: true });
  });
});

// Each child loads TypeScript through tsx: four at once take over 20 s on a loaded 2-core machine.
describe('several writers and sequencers', { timeout: 120_000 }, () => {
  function child(url: string, count: number, label: string) {
    return spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/audit-child.ts', String(count), label],
      {
        env: {
          ...process.env,
          DATABASE_URL: url,
          CUSTODIAN_SEQUENCER_DATABASE_URL: sequencerUrl(url),
          AUDIT_TEST_SIGNING_KEY: signer.privateKey
            .export({ format: 'pem', type: 'pkcs8' })
            .toString(),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  }

  it('concurrent processes end with contiguous positions, one entry per write and a root that recomputes', async () => {
    const url = await createTestDatabase();
    const children = [0, 1, 2, 3].map((i) => child(url, 60, `p${i}`));
    const committed: string[] = [];
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve, reject) => {
            c.stdout.on('data', (d: Buffer) =>
              committed.push(...d.toString().split('\n').filter(Boolean)),
            );
            let err = '';
            c.stderr.on('data', (d: Buffer) => (err += d.toString()));
            c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(err))));
          }),
      ),
    );
    const seq = sequencerConnection(sequencerUrl(url), 1);
    while ((await sequenceBatch(seq)).appended > 0);
    await checkpointIfDue(seq, { signer, origin: ORIGIN, minIntervalMs: 0, force: true });
    await seq.end();
    const reader = postgres(url, { max: 1, onnotice: () => {} });
    const rows = await reader<{ seq: string; purpose: string }[]>`
      select seq, body::jsonb->>'purpose' as purpose from console.audit_entries order by seq`;
    const heads = await reader<
      { n: number }[]
    >`select count(*)::int as n from console.audit_tree_heads`;
    await reader.end();
    expect(committed).toHaveLength(240);
    expect(rows.map((r) => Number(r.seq))).toEqual([...Array(240).keys()]);
    expect(new Set(rows.map((r) => r.purpose))).toEqual(
      new Set(committed.map((c) => c.replace('committed ', ''))),
    );
    expect(heads[0]!.n).toBeGreaterThan(1); // the processes' sequencers really took turns
    expect(await verifyDb(url, fs.mkdtempSync(path.join(os.tmpdir(), 'x-')))).toMatchObject({
      ok: true,
      problems: [],
    });
  });

  it('a process killed while appending and sequencing loses nothing it committed', async () => {
    const url = await createTestDatabase();
    const c = child(url, 100_000, 'crash');
    const committed: string[] = [];
    c.stdout.on('data', (d: Buffer) =>
      committed.push(
        ...d
          .toString()
          .split('\n')
          .filter((l) => l.startsWith('committed')),
      ),
    );
    await expect.poll(() => committed.length, { timeout: 30_000 }).toBeGreaterThan(300);
    c.kill('SIGKILL');
    await new Promise((r) => c.once('exit', r));
    const seq = sequencerConnection(sequencerUrl(url), 1);
    while ((await sequenceBatch(seq)).appended > 0);
    await checkpointIfDue(seq, { signer, origin: ORIGIN, minIntervalMs: 0, force: true });
    await seq.end();
    const reader = postgres(url, { max: 1, onnotice: () => {} });
    const rows = await reader<{ purpose: string }[]>`
      select body::jsonb->>'purpose' as purpose from console.audit_entries order by seq`;
    await reader.end();
    const logged = new Set(rows.map((r) => r.purpose));
    for (const line of committed) expect(logged.has(line.replace('committed ', ''))).toBe(true);
    expect(await verifyDb(url, fs.mkdtempSync(path.join(os.tmpdir(), 'x-')))).toMatchObject({
      ok: true,
      problems: [],
    });
  });
});
