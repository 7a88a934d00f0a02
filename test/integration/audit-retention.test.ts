import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { APP_ROLE } from '#app/db/client.server.ts';
import { canonicalBytes } from '#app/modules/audit/canonical.ts';
import { exportBundle } from '#app/modules/audit/export.server.ts';
import { verifierKeyFor, type Signer } from '#app/modules/audit/note.ts';
import {
  countAuditContentsBefore,
  purgeAuditContents,
} from '#app/modules/audit/retention.server.ts';
import {
  checkpointIfDue,
  sequenceBatch,
  sequencerConnection,
} from '#app/modules/audit/sequencer.server.ts';
import { verifyAuditLog } from '#app/modules/audit/verify.server.ts';
import { buildEntry } from '#app/modules/audit/writer.server.ts';
import { ownerUrl, sequencerUrl, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  madeUpStaff,
  signInAs,
  startTestServer,
} from '../support/http.ts';

// The audit trail's contents under the retention policy (issue 14, ADR 033): one function owned by
// custodian_retention may empty an entry's contents, only once the first checkpoint that covered
// the entry is older than six years by the database's clock and older than the policy's cutoff;
// every other path is refused for everyone, and both verifiers count purged entries apart from
// contents missing without a recorded purge.

useTestDatabase();

const ORIGIN = 'custodian.local/audit';
const signer: Signer = { name: ORIGIN, privateKey: generateKeyPairSync('ed25519').privateKey };
const trusted = [{ key: verifierKeyFor(signer) }];
const YEAR = 365.25 * 24 * 3600 * 1000;
const yearsAgo = (n: number) => new Date(Date.now() - n * YEAR);

let owner: postgres.Sql;
let seqSql: postgres.Sql;
let app: postgres.Sql;

beforeAll(() => {
  owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
  seqSql = sequencerConnection(sequencerUrl(), 1);
  app = postgres(process.env.DATABASE_URL!, {
    max: 1,
    onnotice: () => {},
    connection: { role: APP_ROLE },
  });
});
afterAll(async () => {
  await app.end();
  await seqSql.end();
  await owner.end();
});

/** Queues `n` valid entries, as the app would, each claiming to have happened at `at`. */
async function queue(n: number, at = new Date()) {
  for (let i = 0; i < n; i++) {
    const body = canonicalBytes(
      buildEntry(
        madeUpStaff(),
        { action: 'user.lookup', outcome: 'allowed', details: { by: 'id', found: true } },
        at,
      ),
    );
    await app`insert into console.audit_intake (body, enqueued_at) values (${body}, ${at})`;
  }
}

async function flush() {
  for (;;) {
    const { appended } = await sequenceBatch(seqSql);
    if (appended === 0) return;
  }
}

const checkpoint = () =>
  checkpointIfDue(seqSql, { signer, origin: ORIGIN, minIntervalMs: 0, force: true });

async function size() {
  const [row] = await owner<{ n: string }[]>`
    select coalesce(max(seq) + 1, 0)::text as n from console.audit_leaves`;
  return Number(row!.n);
}

/** As the owner: the positions below `treeSize` count as first covered at `at` (the fixture). */
async function coveredAt(treeSize: number, at: Date) {
  await owner`insert into console.trail_coverage (tree_size, covered_at) values (${treeSize}, ${at})`;
}

function verify() {
  return verifyAuditLog({ sql: app, trusted, origin: ORIGIN });
}

function verifyBundle() {
  return exportAndVerify(async () => {});
}

async function exportAndVerify(edit: (dir: string) => Promise<void>) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-purge-bundle-'));
  try {
    await exportBundle({ sql: app, out, origin: ORIGIN, trusted });
    await edit(out);
    const lines = fs.readFileSync(path.join(out, 'entries.jsonl'), 'utf8').split('\n');
    const run = spawnSync(
      process.execPath,
      [path.join(out, 'verify.mjs'), '--json', '--key', trusted[0]!.key, out],
      { encoding: 'utf8' },
    );
    return {
      status: run.status,
      result: JSON.parse(run.stdout) as {
        ok: boolean;
        purged: number;
        entries: number;
        problems: { seq: number | null; kind: string; message: string }[];
      },
      lines,
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Whether `query` fails with a refusal (privilege or the append-only trigger). */
async function refused(query: Promise<unknown>) {
  try {
    await query;
    return false;
  } catch (error) {
    return (error as { code?: string }).code === '42501';
  }
}

async function contents(from: number, to: number) {
  return owner<{ seq: string; body: string | null; purged_by: string | null; leaf: Buffer }[]>`
    select e.seq, e.body, e.purged_by, l.leaf_hash as leaf from console.audit_entries e
    join console.audit_leaves l using (seq) where e.seq >= ${from} and e.seq < ${to} order by seq`;
}

describe('the one path', () => {
  it("the app's role cannot call the function, become its owner, or write what dates entries", async () => {
    await queue(2);
    await flush();
    await checkpoint();
    expect(await refused(app`select * from console.purge_audit_contents(now(), 10)`)).toBe(true);
    expect(await refused(app`set role custodian_retention`)).toBe(true);
    expect(
      await refused(
        app`insert into console.trail_coverage (tree_size, covered_at) values (1, now() - interval '10 years')`,
      ),
    ).toBe(true);
    expect(
      await refused(
        app`insert into console.trail_purges (id, cutoff, covered_before, from_seq, to_seq, emptied, purged_at)
            values (999, now(), now(), 0, 0, 1, now())`,
      ),
    ).toBe(true);
    // Nor the sequencer: it calls the function, but dates nothing and empties nothing itself.
    expect(
      await refused(
        seqSql`insert into console.trail_coverage (tree_size, covered_at) values (1, now() - interval '10 years')`,
      ),
    ).toBe(true);
    expect(await refused(seqSql`update console.audit_entries set body = null`)).toBe(true);
    const [{ can }] = (await owner<{ can: boolean }[]>`
      select has_function_privilege('custodian_app', 'console.purge_audit_contents(timestamptz, integer)', 'EXECUTE') as can`) as unknown as [
      { can: boolean },
    ];
    expect(can).toBe(false);
    // The function's owner: no login, no login (but a superuser) a member of it.
    const roles = await owner<{ login: boolean; members: number }[]>`
      select r.rolcanlogin as login,
             (select count(*)::int from pg_auth_members m join pg_roles l on l.oid = m.member
               where m.roleid = r.oid and not l.rolsuper) as members
      from pg_roles r where r.rolname = 'custodian_retention'`;
    expect(roles).toEqual([{ login: false, members: 0 }]);
  });

  it('no other path empties an entry: UPDATE, DELETE, TRUNCATE as the app and as the owner', async () => {
    await queue(1);
    await flush();
    await checkpoint();
    // A run row to name and to delete (a row trigger fires only on rows), covering no position.
    await owner`insert into console.trail_purges (id, cutoff, covered_before, from_seq, to_seq, emptied, purged_at)
                values (1000, now(), now(), -1, -1, 1, now())`;
    const attempts = (sql: postgres.Sql) => [
      sql`update console.audit_entries set body = null, action = null, occurred_at = null,
            outcome = null, actor_staff_id = null, subject_staff_id = null, user_id = null,
            grant_id = null, privacy_request_id = null, session_id = null,
            purged_by = 1000
          where seq = 0`,
      sql`update console.audit_entries set body = '{}' where seq = 0`,
      sql`delete from console.audit_entries where seq = 0`,
      sql`truncate console.audit_entries`,
      sql`update console.trail_coverage set covered_at = now() - interval '10 years'`,
      sql`delete from console.trail_purges`,
      sql`truncate console.trail_coverage`,
    ];
    for (const attempt of attempts(app)) expect(await refused(attempt)).toBe(true);
    // The owner bypasses privileges, not the triggers (ENABLE ALWAYS, even as a replica).
    await owner`set session_replication_role = replica`;
    try {
      for (const attempt of attempts(owner)) expect(await refused(attempt)).toBe(true);
    } finally {
      await owner`set session_replication_role = default`;
    }
    const [row] = await contents(0, 1);
    expect(row!.body).not.toBeNull();
  });
});

describe('what is old enough', () => {
  it('refuses an entry covered less than six years ago, however old its occurred_at', async () => {
    const start = await size();
    await queue(3, yearsAgo(10));
    await flush();
    await checkpoint();
    // Even a cutoff in the future changes nothing: the minimum is the database's.
    expect(await countAuditContentsBefore(new Date(Date.now() + YEAR))).toBe(0);
    expect(await purgeAuditContents(new Date(Date.now() + YEAR))).toEqual({
      emptied: 0,
      fromSeq: null,
      toSeq: null,
    });
    // Covered five years ago is still too young, whatever the cutoff.
    await coveredAt(await size(), yearsAgo(5));
    expect(await purgeAuditContents(new Date())).toEqual({
      emptied: 0,
      fromSeq: null,
      toSeq: null,
    });
    const [{ n }] = (await seqSql<{ n: number }[]>`
      select count(*)::int as n from console.purge_audit_contents('infinity', 100)`) as unknown as [
      { n: number },
    ];
    expect(n).toBe(0);
    for (const row of await contents(start, await size())) expect(row.body).not.toBeNull();
  });

  it('empties entries covered more than six years ago and before the cutoff; the tree still verifies', async () => {
    // A log of its own: the entries of earlier tests are old by now too.
    const start = await size();
    await queue(5);
    await flush();
    await checkpoint();
    const old = await size();
    // Covered seven years ago (the fixture dates them as the owner), then younger entries.
    await coveredAt(old, yearsAgo(7));
    await queue(3, yearsAgo(20));
    await flush();
    await checkpoint();
    const before = await contents(0, await size());

    // A cutoff eight years back keeps everything: the cutoff binds too.
    expect(await countAuditContentsBefore(yearsAgo(8))).toBe(0);
    expect(await countAuditContentsBefore(yearsAgo(1))).toBe(old);
    expect(await purgeAuditContents(yearsAgo(1))).toEqual({
      emptied: old,
      fromSeq: 0,
      toSeq: old - 1,
    });
    // Idempotent: nothing left to empty.
    expect(await purgeAuditContents(yearsAgo(1))).toEqual({
      emptied: 0,
      fromSeq: null,
      toSeq: null,
    });
    const after = await contents(0, before.length);
    for (const [i, row] of after.entries()) {
      expect(row.leaf.equals(before[i]!.leaf)).toBe(true);
      if (i < old) {
        expect(row.body).toBeNull();
        expect(row.purged_by).not.toBeNull();
      } else {
        expect(row.body).toBe(before[i]!.body);
      }
    }
    expect(start).toBeLessThan(old);

    // The run's entry names its range.
    await flush();
    await checkpoint();
    const [record] = await owner<{ seq: string; body: string }[]>`
      select seq, body from console.audit_entries where action = 'audit.contents_purged'`;
    expect(JSON.parse(record!.body).details).toMatchObject({
      fromSeq: 0,
      toSeq: old - 1,
      emptied: old,
    });

    const verified = await verify();
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(verified.purged).toBe(old);
    expect(verified.entries).toBe(await size());

    const bundle = await verifyBundle();
    expect(bundle.result.problems).toEqual([]);
    expect(bundle.status).toBe(0);
    expect(bundle.result.purged).toBe(old);
    expect(JSON.parse(bundle.lines[0]!)).toEqual({
      purged: { leaf: before[0]!.leaf.toString('base64'), run: Number(after[0]!.purged_by) },
      seq: 0,
    });

    // A bundle whose holder marks a kept entry as purged, with its genuine leaf hash: no purge
    // record covers it, so it is reported.
    const keptSeq = old;
    const forged = await exportAndVerify(async (dir) => {
      const file = path.join(dir, 'entries.jsonl');
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines[keptSeq] = JSON.stringify({
        purged: { leaf: before[keptSeq]!.leaf.toString('base64'), run: 1 },
        seq: keptSeq,
      });
      fs.writeFileSync(file, lines.join('\n'));
    });
    expect(forged.status).toBe(1);
    expect(forged.result.problems).toContainEqual(
      expect.objectContaining({ seq: keptSeq, kind: 'missing' }),
    );
  });
});

describe('contents removed without the purge', () => {
  /** As the owner with the trigger switched off: the content of `seq` nulled, naming `run`. */
  async function tamper(seq: number, run: number) {
    await owner.begin(async (tx) => {
      await tx`alter table console.audit_entries disable trigger audit_entries_append_only`;
      await tx`update console.audit_entries set body = null, action = null, occurred_at = null,
                 outcome = null, actor_staff_id = null, subject_staff_id = null, user_id = null,
                 grant_id = null, privacy_request_id = null, session_id = null, purged_by = ${run}
               where seq = ${seq}`;
      await tx`alter table console.audit_entries enable always trigger audit_entries_append_only`;
    });
  }

  it('is tampering to both verifiers, even under a real run id or a forged run row', async () => {
    // Entries old enough, purged properly; then two younger ones emptied behind the function's back.
    await queue(4);
    await flush();
    await checkpoint();
    await coveredAt(await size(), yearsAgo(7));
    // In bounded batches: each call of the function is a run of its own, recorded on its own.
    const batches = await seqSql<{ emptied: number; from_seq: string; to_seq: string }[]>`
      select * from console.purge_audit_contents(${yearsAgo(1).toISOString()}::timestamptz, 2)`;
    expect(batches).toHaveLength(1);
    expect(batches[0]!.emptied).toBe(2);
    const { emptied, fromSeq } = await purgeAuditContents(yearsAgo(1));
    expect(emptied).toBeGreaterThan(0);
    expect(fromSeq).toBe(Number(batches[0]!.to_seq) + 1);
    await queue(3);
    await flush();
    await checkpoint();
    expect((await verify()).ok).toBe(true);
    const [{ run, purged }] = (await owner<{ run: number; purged: number }[]>`
      select (select purged_by::int from console.audit_entries where purged_by is not null
               order by seq desc limit 1) as run,
             (select count(*)::int from console.audit_entries where purged_by is not null) as purged`) as unknown as [
      { run: number; purged: number },
    ];
    const outside = (await size()) - 2;
    // 1. Nulled under the real run's id, outside the run's range.
    await tamper(outside, run);
    // 2. A forged run row covering it, which no entry in the log records.
    const forgedRun = run + 100;
    await owner`insert into console.trail_purges (id, cutoff, covered_before, from_seq, to_seq, emptied, purged_at)
                values (${forgedRun}, now(), now(), ${outside + 1}, ${outside + 1}, 1, now())`;
    await tamper(outside + 1, forgedRun);

    const verified = await verify();
    expect(verified.ok).toBe(false);
    expect(verified.problems).toContainEqual(
      expect.objectContaining({ seq: outside, kind: 'missing' }),
    );
    expect(verified.problems).toContainEqual(
      expect.objectContaining({ seq: outside + 1, kind: 'purge' }),
    );
    expect(verified.purged).toBe(purged + 1);

    const bundle = await verifyBundle();
    expect(bundle.status).toBe(1);
    expect(bundle.result.problems).toContainEqual(
      expect.objectContaining({ seq: outside, kind: 'missing' }),
    );
    expect(bundle.result.problems).toContainEqual(
      expect.objectContaining({ seq: outside + 1, kind: 'missing' }),
    );
    expect(bundle.result.purged).toBe(purged);
  });
});

describe('the trail page', () => {
  it("shows an emptied entry as 'contents removed by retention policy', its proof still verifying", async () => {
    const server = await startTestServer();
    try {
      const auditor = await createStaffWithRoles(['security_auditor']);
      const cookie = await signInAs(server.baseUrl, auditor.email, auditor.password);
      await queue(2);
      await flush();
      await checkpoint();
      await coveredAt(await size(), yearsAgo(7));
      await purgeAuditContents(yearsAgo(1));
      await flush();
      await checkpoint();
      const [row] = await owner<{ seq: string }[]>`
        select seq from console.audit_entries where purged_by is not null order by seq desc limit 1`;
      const entry = await fetchAs(cookie, `/audit/${row!.seq}`);
      const html = await entry.text();
      expect(entry.status).toBe(200);
      expect(html).toContain('data-testid="entry-purged"');
      expect(html).toContain('Contents removed by retention policy');
      expect(html).toMatch(/data-testid="leaf-matches"[^>]*>yes</);
      expect(html).toMatch(/data-testid="proof-verifies"[^>]*>yes</);
      // Who acted is no longer kept: the page says so, not that Custodian did.
      expect(html).not.toMatch(/Custodian \(custodian itself/);
      const list = await fetchAs(cookie, `/audit?dir=asc`);
      expect(list.status).toBe(200);
      const listed = await list.text();
      expect(listed).toContain('Contents removed by retention policy');
      expect(listed).toMatch(
        /title="Contents removed by retention: who acted is no longer kept" data-testid="actor-unnamed">—</,
      );
      const csv = await fetchAs(cookie, `/audit/csv?dir=asc`);
      expect(csv.status).toBe(200);
      expect(await csv.text()).toContain('Contents removed by retention policy');
    } finally {
      await server.close();
    }
  });
});
