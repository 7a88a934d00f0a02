import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { flushAudit, readAudit } from '../support/audit.ts';
import { ownerUrl, sequencerUrl, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  decodeEntities,
  fetchAs,
  postForm,
  sessionCookieOf,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
  actorOf,
  TEST_JOB,
} from '../support/http.ts';
import { resetEnvForTests } from '#app/config.server.ts';
import { loadAuditKeys, type AuditKeys } from '#app/modules/audit/keys.server.ts';
import { leafHash, verifyInclusion } from '#app/modules/audit/merkle.ts';
import { checkpointIfDue, sequencerConnection } from '#app/modules/audit/sequencer.server.ts';
import { accessHistoryForUser } from '#app/modules/audit/trail.server.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { JOBS } from '#app/server/jobs.server.ts';
import { startQueue, type Queue } from '#app/modules/jobs/queue.server.ts';

// The audit console over HTTP: the trail, its filters and keyset pages, the CSV download, one
// entry with its inclusion proof, and verification runs. The route's trusted keys come from the
// data folder, so the folder is set before anything reads the configuration, and the test signs
// its checkpoints with the key generated there.

const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-audit-console-'));
process.env.CUSTODIAN_DATA_DIR = DATA_DIR;
resetEnvForTests();

const ORIGIN = 'custodian.local/audit';
const FORMULA = '=HYPERLINK("x")';

const { sql } = useTestDatabase();

let server: TestServer;
let auditor: TestStaff;
let agent: TestStaff;
let formulaStaff: TestStaff;
let auditorCookie: string;
let agentCookie: string;
let keys: AuditKeys;
const startedAt = new Date();

beforeAll(async () => {
  keys = loadAuditKeys({ dataDir: DATA_DIR, production: false, origin: ORIGIN });
  server = await startTestServer();
  auditor = await createStaffWithRoles(['security_auditor'], { displayName: 'Audrey Auditor' });
  agent = await createStaffWithRoles(['support_agent']);
  formulaStaff = await createStaffWithRoles(['support_agent'], { displayName: FORMULA });
  auditorCookie = await signInAs(server.baseUrl, auditor.email, auditor.password);
  agentCookie = await signInAs(server.baseUrl, agent.email, agent.password);
  const formulaSignIn = await postForm(
    null,
    '/login',
    { email: formulaStaff.email, password: formulaStaff.password },
    { headers: { 'user-agent': FORMULA } },
  );
  expect(formulaSignIn.status).toBe(302);
  expect(sessionCookieOf(formulaSignIn)).toBeDefined();
  // One refused sign-in, for the outcome filter.
  const refused = await postForm(null, '/login', { email: agent.email, password: 'wrong-one-123' });
  expect(refused.status).toBe(401);
  await flushAudit();
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

const asAuditor = (p: string) => fetchAs(auditorCookie, p);

/** The entries of a trail page, in the order shown (each row links to its entry page). */
function seqsOf(html: string): number[] {
  return [...html.matchAll(/href="\/audit\/(\d+)"/g)].map((m) => Number(m[1]));
}

/** The `after` cursor of the page's "Next page" link, if any. */
function nextCursor(html: string): string | undefined {
  const tag = /<a [^>]*rel="next"[^>]*>/.exec(html)?.[0];
  const href = tag && /href="([^"]*)"/.exec(tag)?.[1];
  if (!href) return undefined;
  return new URL(decodeEntities(href), 'http://x').searchParams.get('after') ?? undefined;
}

async function page(query: string) {
  const response = await asAuditor(`/audit${query}`);
  const html = await response.text();
  expect(response.status, html.slice(0, 300)).toBe(200);
  return { html, seqs: seqsOf(html), next: nextCursor(html) };
}

async function dbSeqs(where: string, params: (string | number)[] = [], order = 'desc', limit = 50) {
  const rows = await sql().unsafe<{ seq: string }[]>(
    `select seq from console.audit_entries where ${where} order by seq ${order} limit ${limit}`,
    params,
  );
  return rows.map((r) => Number(r.seq));
}

async function signCheckpoint() {
  const seqSql = sequencerConnection(sequencerUrl(), 1);
  try {
    await flushAudit();
    return await checkpointIfDue(seqSql, {
      signer: keys.signer,
      origin: ORIGIN,
      minIntervalMs: 0,
      force: true,
    });
  } finally {
    await seqSql.end();
  }
}

describe('the trail (/audit)', () => {
  it('lists the sign-ins, newest first, with their catalogue descriptions', async () => {
    const { html, seqs } = await page('');
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual(await dbSeqs('true'));
    expect(html).toContain('Staff sign-in attempt');
    expect(html).toContain('auth.sign_in');
    expect(html).toContain('Audrey Auditor');
    expect(html).toContain('href="/audit/csv"');
  });

  it('filters by action', async () => {
    const { html, seqs } = await page('?action=staff.create');
    expect(seqs.length).toBe(3);
    expect(seqs).toEqual(await dbSeqs(`action = 'staff.create'`));
    expect(html).not.toContain('<code class="muted">auth.sign_in</code>');
  });

  it('filters by actor', async () => {
    const { seqs } = await page(`?actor=${auditor.id}`);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual(await dbSeqs('actor_staff_id = $1', [auditor.id]));
  });

  it('filters by the staff member an entry is about', async () => {
    const { seqs } = await page(`?subject=${agent.id}`);
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs).toEqual(await dbSeqs('subject_staff_id = $1', [agent.id]));
  });

  it('filters by outcome, and combines filters', async () => {
    const denied = await page('?outcome=denied');
    expect(denied.seqs.length).toBeGreaterThan(0);
    expect(denied.seqs).toEqual(await dbSeqs(`outcome = 'denied'`));
    const both = await page(`?action=auth.sign_in&outcome=allowed&actor=${agent.id}`);
    expect(both.seqs).toEqual(
      await dbSeqs(`action = 'auth.sign_in' and outcome = 'allowed' and actor_staff_id = $1`, [
        agent.id,
      ]),
    );
    expect(both.seqs.length).toBe(1);
  });

  it('filters by time range (UTC, from inclusive, to exclusive)', async () => {
    const before = new Date(startedAt.getTime() - 60_000).toISOString().slice(0, 19);
    const later = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19);
    const all = await page(`?from=${before}`);
    expect(all.seqs).toEqual(await dbSeqs('true'));
    const none = await page(`?from=${later}`);
    expect(none.seqs).toEqual([]);
    expect(none.html).toContain('No audit entry matches these filters.');
    const upTo = await page(`?to=${before}`);
    expect(upTo.seqs).toEqual([]);
  });

  it('pages with the `after` cursor, without overlap or gap, both ways', async () => {
    for (let i = 0; i < 120; i++) {
      await recordAudit(TEST_JOB, {
        action: 'access.denied',
        outcome: 'denied',
        details: { reason: 'paging_test', route: `/page/${i}` },
      });
    }
    await flushAudit();
    const want = await dbSeqs(`action = 'access.denied'`, [], 'desc', 1000);
    expect(want).toHaveLength(120);

    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const p = await page(`?action=access.denied${cursor ? `&after=${cursor}` : ''}`);
      seen.push(...p.seqs);
      cursor = p.next;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(want);
    // A job's entry names Custodian as its actor, not "none".
    const first = await page('?action=access.denied');
    expect(first.html).toMatch(/data-testid="actor-unnamed">Custodian</);
    expect(first.html).not.toMatch(/data-testid="actor-unnamed">none</);

    const ascending: number[] = [];
    cursor = undefined;
    do {
      const p = await page(`?action=access.denied&dir=asc${cursor ? `&after=${cursor}` : ''}`);
      ascending.push(...p.seqs);
      cursor = p.next;
    } while (cursor);
    expect(ascending).toEqual([...want].reverse());
  });

  it('answers a tampered or foreign cursor with 400 naming `after`', async () => {
    const first = await page('?action=access.denied');
    expect(first.next).toBeDefined();
    const bad = [
      'not-a-cursor',
      Buffer.from('{"s":-1,"d":"desc"}').toString('base64url'),
      Buffer.from('[1,"00000000-0000-0000-0000-000000000000"]').toString('base64url'),
      `${first.next}x`,
    ];
    for (const after of bad) {
      const response = await asAuditor(`/audit?after=${encodeURIComponent(after)}`);
      expect(response.status, after).toBe(400);
      expect(await response.text()).toContain('(after)');
    }
    // A cursor is bound to its direction.
    const response = await asAuditor(`/audit?action=access.denied&dir=asc&after=${first.next}`);
    expect(response.status).toBe(400);
  });

  it.each([
    ['subject', 'subject=nope', 'Invalid subject'],
    ['user', 'user=nope', 'Invalid user'],
    ['action', 'action=auth.nothing', 'Invalid action'],
    ['outcome', 'outcome=maybe', 'Invalid outcome'],
    ['from', 'from=2025-13-45T00:00', 'Invalid from'],
    ['to', 'from=2025-02-01T00:00&to=2025-01-01T00:00', 'Invalid to'],
    ['grant', 'grant=123', 'Invalid grant'],
    ['request', 'request=x', 'Invalid request'],
    ['dir', 'dir=sideways', 'Invalid dir'],
  ])('bad %s: 400 naming the parameter', async (_name, query, message) => {
    const response = await asAuditor(`/audit?${query}`);
    expect(response.status).toBe(400);
    expect(decodeEntities(await response.text())).toContain(message);
  });
});

describe('the CSV download (/audit/csv)', () => {
  it('streams the filtered view with formula cells neutralised, and is itself audited', async () => {
    const before = await readAudit();
    const response = await asAuditor(`/audit/csv?actor=${formulaStaff.id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-/);
    const text = (await response.text()).replace(/^\uFEFF/, '');
    const lines = text.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe(
      'seq,time_utc,action,description,outcome,actor_staff_id,actor_name,user_id,grant_id,privacy_request_id,client_address,client_user_agent,actor_service',
    );
    expect(lines).toHaveLength(2);
    const row = lines[1]!;
    // The display name and the user agent, both `=HYPERLINK("x")`, each start with an apostrophe.
    expect(row.split(`"'=HYPERLINK(""x"")"`)).toHaveLength(3);
    expect(row).not.toMatch(/(^|,)"?=/);
    expect(row).toContain(',auth.sign_in,Staff sign-in attempt,allowed,');
    expect(response.headers.get('x-custodian-rows')).toBe('1');

    const after = await readAudit(before[before.length - 1]!.seq);
    const exports = after.filter((e) => e.action === 'audit.export');
    expect(exports).toHaveLength(1);
    expect(exports[0]!.details).toEqual({ format: 'csv', entries: 1 });
    expect(exports[0]!.actor?.staffId).toBe(auditor.id);

    const trail = await page('?action=audit.export');
    expect(trail.seqs).toEqual([exports[0]!.seq]);
  });

  it('holds every entry of an unfiltered view, oldest first on request', async () => {
    await flushAudit();
    const want = await dbSeqs('true', [], 'asc', 100_000);
    const response = await asAuditor('/audit/csv?dir=asc');
    const lines = (await response.text()).split('\r\n').filter(Boolean).slice(1);
    expect(lines.map((l) => Number(l.split(',')[0]))).toEqual(want);
  });

  it('fails closed: when the export cannot be audited, nothing is sent', async () => {
    const owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
    try {
      await owner`revoke insert on console.audit_intake from custodian_app`;
      const response = await asAuditor('/audit/csv');
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('seq,time_utc');
    } finally {
      await owner`grant insert on console.audit_intake to custodian_app`;
      await owner.end();
    }
  });

  it('rejects bad filters and cursors like the trail does', async () => {
    expect((await asAuditor('/audit/csv?user=nope')).status).toBe(400);
    expect((await asAuditor('/audit/csv?after=zzz')).status).toBe(400);
  });
});

describe('one entry (/audit/:seq)', () => {
  it('shows the entry, its leaf hash, and says when no checkpoint covers it yet', async () => {
    await flushAudit();
    const [entry] = await sql()<{ seq: string; body: string }[]>`
      select seq, body from console.audit_entries where actor_staff_id = ${auditor.id}
      and action = 'auth.sign_in' order by seq limit 1`;
    const response = await asAuditor(`/audit/${entry!.seq}`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain(leafHash(Buffer.from(entry!.body, 'utf8')).toString('base64'));
    expect(html).toContain('data-testid="not-covered"');
    expect(html).toContain('Staff sign-in attempt');
  });

  it('shows an inclusion proof that verifies once a checkpoint exists', async () => {
    const made = await signCheckpoint();
    expect(made).not.toBeNull();
    const [entry] = await sql()<{ seq: string; body: string }[]>`
      select seq, body from console.audit_entries where actor_staff_id = ${auditor.id}
      order by seq limit 1`;
    const seq = Number(entry!.seq);
    const response = await asAuditor(`/audit/${seq}`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).not.toContain('data-testid="not-covered"');
    expect(html).toMatch(/data-testid="proof-verifies"[^>]*>yes</);
    expect(html).toMatch(/data-testid="signature-valid"[^>]*>yes</);
    expect(html).toMatch(/data-testid="leaf-matches"[^>]*>yes</);
    const note = /data-testid="checkpoint-note"[^>]*>([\s\S]*?)<\/pre>/.exec(html)![1]!;
    expect(decodeEntities(note)).toBe(made!.note);
    // The hashes shown are a real proof: check them here, independently of the page's verdict.
    const list = /data-testid="proof-hashes">([\s\S]*?)<\/ol>/.exec(html)![1]!;
    const hashes = [...list.matchAll(/<code>([^<]+)<\/code>/g)].map((m) =>
      Buffer.from(m[1]!, 'base64'),
    );
    const root = Buffer.from(decodeEntities(note).split('\n')[2]!, 'base64');
    expect(
      verifyInclusion(
        seq,
        made!.treeSize,
        leafHash(Buffer.from(entry!.body, 'utf8')),
        hashes,
        root,
      ),
    ).toBe(true);
  });

  it('shows what clients sent as text, never as markup', async () => {
    const response = await postForm(
      null,
      '/login',
      { email: agent.email, password: agent.password },
      { headers: { 'user-agent': '<img src=x onerror=alert(1)>' } },
    );
    expect(response.status).toBe(302);
    await flushAudit();
    const [entry] = await dbSeqs(`action = 'auth.sign_in'`, [], 'desc', 1);
    const html = await (await asAuditor(`/audit/${entry}`)).text();
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img src=x');
  });

  it('answers a malformed number with 400 and an unknown one with 404', async () => {
    const bad = await asAuditor('/audit/abc');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Invalid seq');
    expect((await asAuditor('/audit/-1')).status).toBe(400);
    expect((await asAuditor('/audit/99999999')).status).toBe(404);
  });
});

describe('access history of an end user', () => {
  it('lists who viewed, revealed or looked up the user, under which grant and purpose', async () => {
    const userId = randomUUID();
    const grantId = randomUUID();
    const actor = await actorOf(agent);
    await recordAudit(actor, {
      action: 'user.lookup',
      outcome: 'allowed',
      userId,
      details: { by: 'email', found: true },
    });
    await recordAudit(actor, {
      action: 'grant.request',
      outcome: 'allowed',
      userId,
      grantId,
      details: { categories: ['profile'], reasonCode: 'support_inquiry' },
    });
    await recordAudit(actor, {
      action: 'user.view',
      outcome: 'allowed',
      userId,
      grantId,
      purpose: 'support_inquiry',
      details: { category: 'profile', page: 'overview' },
    });
    await recordAudit(actor, {
      action: 'user.reveal',
      outcome: 'allowed',
      userId,
      grantId,
      purpose: 'support_inquiry',
      details: { category: 'profile', field: 'email' },
    });
    await flushAudit();
    const first = await accessHistoryForUser(userId, { limit: 2 });
    expect(
      first.rows.map((r) => [r.action, r.dataCategory, r.detail, r.grantId, r.purpose]),
    ).toEqual([
      ['user.reveal', 'profile', 'email', grantId, 'support_inquiry'],
      ['user.view', 'profile', 'overview', grantId, 'support_inquiry'],
    ]);
    expect(first.rows[0]!.actorName).toBe(agent.displayName);
    expect(first.next).not.toBeNull();
    const rest = await accessHistoryForUser(userId, { cursor: first.next!, limit: 2 });
    expect(rest.rows.map((r) => [r.action, r.detail, r.grantId])).toEqual([
      ['user.lookup', 'email', null],
    ]);
    expect(rest.next).toBeNull();
    // The trail shows all four when filtered by the user.
    expect((await page(`?user=${userId}`)).seqs).toHaveLength(4);
    expect((await page(`?grant=${grantId}`)).seqs).toHaveLength(3);
  });
});

describe('verification runs (/audit/verify)', () => {
  let queue: Queue;
  beforeAll(async () => {
    queue = await startQueue({ url: process.env.DATABASE_URL!, jobs: JOBS, concurrency: 1 });
  });
  afterAll(async () => {
    await queue?.stop();
  });

  async function latestRun() {
    const [run] = await sql()<
      { id: string; finished_at: Date | null; ok: boolean | null; done: string; result: unknown }[]
    >`select id, finished_at, ok, done, result from console.verification_runs
      order by started_at desc limit 1`;
    return run;
  }

  it('starts with no run', async () => {
    const html = await (await asAuditor('/audit/verify')).text();
    expect(html).toContain('No verification has run yet.');
    expect(html).toContain('Verify now');
  });

  it('"Verify now" queues a run that completes ok and is audited', async () => {
    await signCheckpoint();
    const before = await readAudit();
    const response = await postForm(auditorCookie, '/audit/verify', { intent: 'verify' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/audit/verify');
    await expect
      .poll(async () => (await latestRun())?.finished_at ?? null, { timeout: 30_000 })
      .not.toBeNull();
    const run = await latestRun();
    expect(run!.ok).toBe(true);
    const html = await (await asAuditor('/audit/verify')).text();
    expect(html).toContain('ok — the trail is intact');
    expect(html).toContain('Audrey Auditor');

    const after = await readAudit(before[before.length - 1]!.seq);
    const verify = after.filter((e) => e.action === 'audit.verify');
    expect(verify).toHaveLength(1);
    expect(verify[0]!.actor?.staffId).toBe(auditor.id);
    expect(verify[0]!.details).toMatchObject({ ok: true, firstBadSeq: null });
    expect(verify[0]!.details.entries).toBe(Number(run!.done));
    expect(verify[0]!.details.checkpoints).toBeGreaterThanOrEqual(2);
  });

  it('shows a progress bar while a run is in progress', async () => {
    const id = randomUUID();
    await sql()`insert into console.verification_runs (id, staff_id, started_at, total, done)
                values (${id}, ${auditor.id}, ${new Date().toISOString()}, 1000, 250)`;
    try {
      const html = await (await asAuditor('/audit/verify')).text();
      expect(html).toMatch(/<progress[^>]*value="250"[^>]*max="1000"/);
      expect(html).toContain('25%');
      expect(html).toContain('Verification in progress');
      // A second click while one runs starts nothing new.
      const again = await postForm(auditorCookie, '/audit/verify', { intent: 'verify' });
      expect(again.status).toBe(302);
      const [unfinished] = await sql()<{ n: number }[]>`
        select count(*)::int as n from console.verification_runs where finished_at is null`;
      expect(unfinished!.n).toBe(1);
    } finally {
      await sql()`update console.verification_runs set finished_at = ${new Date().toISOString()}, ok = true
                  where id = ${id}`;
    }
  });

  it('reports the problems of a log with a checkpoint signed by an untrusted key', async () => {
    await recordAudit(TEST_JOB, {
      action: 'access.denied',
      outcome: 'denied',
      details: { reason: 'x' },
    });
    await flushAudit();
    const seqSql = sequencerConnection(sequencerUrl(), 1);
    try {
      const stranger = generateKeyPairSync('ed25519').privateKey;
      await checkpointIfDue(seqSql, {
        signer: { name: ORIGIN, privateKey: stranger },
        origin: ORIGIN,
        minIntervalMs: 0,
        force: true,
      });
    } finally {
      await seqSql.end();
    }
    const response = await postForm(auditorCookie, '/audit/verify', { intent: 'verify' });
    expect(response.status).toBe(302);
    await expect
      .poll(async () => (await latestRun())?.finished_at ?? null, { timeout: 30_000 })
      .not.toBeNull();
    expect((await latestRun())!.ok).toBe(false);
    const html = await (await asAuditor('/audit/verify')).text();
    expect(html).toContain('problems found');
    expect(html).toMatch(/data-testid="verify-problems"[\s\S]*signature/);
  });

  it('names the first bad entry when a searchable column was changed behind the log', async () => {
    const [target] = await dbSeqs(`action = 'staff.create'`, [], 'asc', 1);
    const owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
    try {
      await owner.begin(async (tx) => {
        await tx`alter table console.audit_entries disable trigger audit_entries_append_only`;
        await tx`update console.audit_entries set actor_staff_id = ${auditor.id} where seq = ${target!}`;
        await tx`alter table console.audit_entries enable always trigger audit_entries_append_only`;
      });
    } finally {
      await owner.end();
    }
    const response = await postForm(auditorCookie, '/audit/verify', { intent: 'verify' });
    expect(response.status).toBe(302);
    await expect
      .poll(async () => (await latestRun())?.finished_at ?? null, { timeout: 30_000 })
      .not.toBeNull();
    const [run] = await sql()<{ ok: boolean; first_bad_seq: string }[]>`
      select ok, first_bad_seq from console.verification_runs order by started_at desc limit 1`;
    expect(run!.ok).toBe(false);
    expect(Number(run!.first_bad_seq)).toBe(target);
    const html = await (await asAuditor('/audit/verify')).text();
    expect(html).toContain(`href="/audit/${target}"`);
    expect(html).toContain(`entry ${target}: its searchable columns differ from its content`);
  });

  it('answers an unknown intent with 400', async () => {
    const response = await postForm(auditorCookie, '/audit/verify', { intent: 'delete' });
    expect(response.status).toBe(400);
  });
});

describe('who may use the audit console', () => {
  it('a support agent gets 403 everywhere, and nothing is exported or started', async () => {
    const before = await readAudit();
    for (const p of ['/audit', '/audit/csv', '/audit/0', '/audit/verify']) {
      const response = await fetchAs(agentCookie, p);
      expect(response.status, p).toBe(403);
      await response.arrayBuffer();
    }
    const runs = await sql()<
      { n: number }[]
    >`select count(*)::int as n from console.verification_runs`;
    const post = await postForm(agentCookie, '/audit/verify', { intent: 'verify' });
    expect(post.status).toBe(403);
    const runsAfter = await sql()<{ n: number }[]>`
      select count(*)::int as n from console.verification_runs`;
    expect(runsAfter[0]!.n).toBe(runs[0]!.n);
    const after = await readAudit(before[before.length - 1]!.seq);
    expect(after.filter((e) => e.action === 'audit.export')).toEqual([]);
  });

  it('signed out, every page sends to sign-in', async () => {
    for (const p of ['/audit', '/audit/csv', '/audit/0', '/audit/verify']) {
      const response = await fetchAs(null, p);
      expect(response.status, p).toBe(302);
      expect(response.headers.get('location')).toMatch(/^\/login\?redirectTo=/);
    }
  });
});
