import type postgres from 'postgres';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { flushAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  decodeEntities,
  fetchAs,
  htmlText,
  signInAs,
  startTestServer,
  TEST_JOB,
  type TestServer,
} from '../support/http.ts';
import {
  insertGrant,
  ownerConnection,
  plainUsers,
  revokeGrantRow,
  seedUsers,
} from './users-fixtures.ts';

// The audit trail as an investigation tool (issue 13): each row's details, a text search over
// actions and details, the number of matching entries, a page size, previous as well as next,
// ids that copy in one click, and refusals after a revocation found by filtering on the grant.

const { sql } = useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;
let auditorCookie: string;

beforeAll(async () => {
  await seedUsers();
  owner = ownerConnection();
  server = await startTestServer();
  const auditor = await createStaffWithRoles(['security_auditor']);
  auditorCookie = await signInAs(server.baseUrl, auditor.email, auditor.password);
});
afterAll(async () => {
  await owner?.end();
  await server?.close();
});

/** The entries of a trail page, in the order shown (each row links to its entry page). */
const seqsOf = (html: string) =>
  [...html.matchAll(/href="\/audit\/(\d+)"/g)].map((m) => Number(m[1]));

function cursorOf(html: string, rel: 'next' | 'prev') {
  const tag = new RegExp(`<a [^>]*rel="${rel}"[^>]*>`).exec(html)?.[0];
  const href = tag && /href="([^"]*)"/.exec(tag)?.[1];
  if (!href) return undefined;
  return new URL(decodeEntities(href), 'http://x').searchParams.get('after') ?? undefined;
}

async function trail(query: string) {
  const response = await fetchAs(auditorCookie, `/audit${query}`);
  const html = await response.text();
  expect(response.status, htmlText(html).slice(0, 300)).toBe(200);
  return {
    html,
    text: htmlText(html.replace(/<[^>]+>/g, '')),
    seqs: seqsOf(html),
    next: cursorOf(html, 'next'),
    prev: cursorOf(html, 'prev'),
    matching: htmlText(/data-testid="matching">([^]*?)<\/strong>/.exec(html)?.[1] ?? ''),
  };
}

async function dbSeqs(where: string, params: string[] = []) {
  const rows = await sql().unsafe<{ seq: string }[]>(
    `select seq from console.audit_entries where ${where} order by seq desc`,
    params,
  );
  return rows.map((r) => Number(r.seq));
}

/** `n` refusals recorded by a job, each with `reason` and its own route. */
async function refusals(n: number, reason: string) {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        recordAudit(TEST_JOB, {
          action: 'access.denied',
          outcome: 'denied',
          details: { reason, route: `/probe/${i + j}` },
        }),
      ),
    );
  }
  await flushAudit();
}

describe('a refusal after a revocation', () => {
  it('records the grant it concerned: filtering by the grant finds it, with its reason', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, agent.email, agent.password);
    const [user] = await plainUsers(owner);
    const grantId = await insertGrant(owner, {
      staffId: agent.id,
      userId: user!.id,
      categories: ['preferences'],
    });
    expect((await fetchAs(cookie, `/users/${user!.id}/preferences`)).status).toBe(200);
    await revokeGrantRow(owner, grantId);
    expect((await fetchAs(cookie, `/users/${user!.id}/preferences`)).status).toBe(403);
    await flushAudit();

    const { seqs, html, text } = await trail(`?grant=${grantId}`);
    const denied = await dbSeqs(`action = 'access.denied' and grant_id = $1`, [grantId]);
    expect(denied).toHaveLength(1);
    expect(seqs).toEqual(await dbSeqs('grant_id = $1', [grantId]));
    expect(seqs).toContain(denied[0]);
    // The row says why: the refusal's reason code, as recorded.
    expect(text).toContain('reason grant_revoked:preferences');
    expect(html).toContain(`route</span> <code>/users/${user!.id}/preferences</code>`);
    // The view before the revocation shows its category (named) and its purpose.
    expect(text).toContain('category preferences');
    expect(html).toContain('title="Data-use preferences"');
    expect(text).toContain('purpose support_inquiry');
  });
});

describe('the row', () => {
  it('shows ids whole on one line, copied in one click', async () => {
    const agent = await createStaffWithRoles(['support_agent']);
    const [user] = await plainUsers(owner);
    const grantId = await insertGrant(owner, {
      staffId: agent.id,
      userId: user!.id,
      categories: ['usage'],
    });
    await recordAudit(TEST_JOB, {
      action: 'grant.expire',
      outcome: 'allowed',
      grantId,
      userId: user!.id,
      details: { from: 'approved' },
    });
    await flushAudit();
    const { html } = await trail(`?grant=${grantId}`);
    expect(html).toContain(`data-copy="${grantId}"`);
    expect(html).toContain(`aria-label="Copy grant id ${grantId}"`);
    expect(html).toContain(`data-copy="${user!.id}"`);
    expect(html).toMatch(/<span class="id-cell"><a [^>]*><code class="short-id">/);
    expect(html).toContain('<span class="muted">from</span> <code>approved</code>');
  });
});

describe('the search', () => {
  it('finds entries by a code in their details, literally (_ and % are not wildcards)', async () => {
    await refusals(3, 'probe_needle');
    await refusals(2, 'probe_other');
    const found = await trail('?q=probe_needle');
    expect(found.seqs).toEqual(await dbSeqs(`body::jsonb #>> '{details,reason}' = 'probe_needle'`));
    expect(found.seqs).toHaveLength(3);
    expect(found.matching).toBe('3 matching entries');
    // `_` matches only an underscore, `%` only a percent sign.
    expect((await trail('?q=probe%needle')).seqs).toEqual([]);
    expect((await trail('?q=probe-needle')).seqs).toEqual([]);
    // Case does not matter; a part of a code is enough.
    expect((await trail('?q=PROBE_')).seqs).toHaveLength(5);
    expect((await trail('?q=%2Fprobe%2F1')).seqs.length).toBeGreaterThan(0);
  });

  it('finds entries by an action code or a word of its description, with the other filters', async () => {
    await recordAudit(TEST_JOB, {
      action: 'retention.purge',
      outcome: 'allowed',
      details: {
        category: 'staff_sessions',
        runId: '00000000-0000-4000-8000-000000000001',
        cutoff: '2026-01-01T00:00:00.000Z',
        periodDays: 0,
        removed: 4,
        cascaded: 0,
        batches: 1,
        resumed: false,
      },
    });
    await flushAudit();
    const byCode = await trail('?q=retention.purge');
    expect(byCode.seqs).toEqual(await dbSeqs(`action = 'retention.purge'`));
    const byWords = await trail('?q=purge run');
    expect(byWords.seqs).toEqual(byCode.seqs);
    expect(byWords.matching).toBe('1 matching entry');
    const combined = await trail('?q=probe&outcome=allowed');
    expect(combined.seqs).toEqual([]);
    expect(combined.text).toContain('No audit entry matches these filters.');
  });

  it('applies to the CSV download too', async () => {
    await refusals(2, 'probe_csv');
    const response = await fetchAs(auditorCookie, '/audit/csv?q=probe_csv');
    expect(response.status).toBe(200);
    const lines = (await response.text()).split('\r\n').filter(Boolean).slice(1);
    expect(lines.map((l) => Number(l.split(',')[0])).sort((a, b) => b - a)).toEqual(
      await dbSeqs(`body::jsonb #>> '{details,reason}' = 'probe_csv'`),
    );
  });

  it.each([
    ['q', 'q=xy', 'Search for at least 3 characters'],
    ['q', `q=${'y'.repeat(101)}`, 'Search for at most 100 characters'],
    ['size', 'size=30', 'Choose 25, 50, 100 or 200 entries a page'],
    ['size', 'size=many', 'Choose 25, 50, 100 or 200 entries a page'],
  ])('bad %s: 400 naming the parameter', async (name, query, message) => {
    const response = await fetchAs(auditorCookie, `/audit?${query}`);
    expect(response.status).toBe(400);
    const text = decodeEntities(await response.text());
    expect(text).toContain(`Invalid ${name}`);
    expect(text).toContain(message);
  });
});

describe('counting and paging', () => {
  it('counts the matching entries up to 1,000, then says 1,000+', async () => {
    await refusals(1_001, 'probe_many');
    expect((await trail('?q=probe_many')).matching).toBe('1,000+ matching entries');
    const exact = await trail('?q=probe_many&to=2000-01-01T00:00');
    expect(exact.matching).toBe('0 matching entries');
    const all = await dbSeqs('true');
    expect((await trail('')).matching).toBe(
      all.length > 1_000 ? '1,000+ entries' : `${all.length} entries`,
    );
  });

  it('shows the page size asked for, and pages back as well as forward without gap or overlap', async () => {
    await refusals(60, 'probe_pages');
    const want = await dbSeqs(`body::jsonb #>> '{details,reason}' = 'probe_pages'`);
    const first = await trail('?q=probe_pages&size=25');
    expect(first.seqs).toEqual(want.slice(0, 25));
    expect(first.prev).toBeUndefined();
    expect(first.matching).toBe('60 matching entries');
    expect(first.html).toMatch(/<option value="25" selected="">25<\/option>/);

    const second = await trail(`?q=probe_pages&size=25&after=${first.next}`);
    expect(second.seqs).toEqual(want.slice(25, 50));
    const third = await trail(`?q=probe_pages&size=25&after=${second.next}`);
    expect(third.seqs).toEqual(want.slice(50));
    expect(third.next).toBeUndefined();

    // Back from the last page: the second page again, then the first, which has no previous.
    const backToSecond = await trail(`?q=probe_pages&size=25&after=${third.prev}`);
    expect(backToSecond.seqs).toEqual(second.seqs);
    expect(backToSecond.next).toBeDefined();
    const backToFirst = await trail(`?q=probe_pages&size=25&after=${backToSecond.prev}`);
    expect(backToFirst.seqs).toEqual(first.seqs);
    expect(backToFirst.prev).toBeUndefined();
    // Forward again from a page reached by going back.
    const forward = await trail(`?q=probe_pages&size=25&after=${backToFirst.next}`);
    expect(forward.seqs).toEqual(second.seqs);

    // Oldest first, the same both ways.
    const asc = [...want].reverse();
    const a1 = await trail('?q=probe_pages&size=50&dir=asc');
    expect(a1.seqs).toEqual(asc.slice(0, 50));
    const a2 = await trail(`?q=probe_pages&size=50&dir=asc&after=${a1.next}`);
    expect(a2.seqs).toEqual(asc.slice(50));
    const a1again = await trail(`?q=probe_pages&size=50&dir=asc&after=${a2.prev}`);
    expect(a1again.seqs).toEqual(a1.seqs);
    // A previous-page cursor is bound to its direction like any other.
    expect((await fetchAs(auditorCookie, `/audit?q=probe_pages&after=${a2.prev}`)).status).toBe(
      400,
    );
  });
});
