import { createHash, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { addDays, dayOf } from '#app/modules/analytics/periods.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { currentRecord } from '#app/modules/privacy/record.server.ts';
import { lastSeq, readAudit } from '../support/audit.ts';
import { ownerUrl, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';

// Sharing analytics (issue 15, ADR 037): a holder of analytics:share hands chosen stored releases
// to an analytics provider of the record of processing. Only released figures leave (an unknown
// or unreleased release is refused and nothing is logged); each share is in the sharing log and
// the audit trail; its CSV holds exactly the cells of the chosen releases; privacy officers and
// security reviewers read the log, and everyone else is refused (audited by the guard).

const { sql } = useTestDatabase();
const PROVIDER = 'Plausible Insights';
const NEW = '/analytics/shares/new';

let server: TestServer;
let officer: string;
let reviewer: string;
let lead: string;
let officerId: string;
let leadId: string;
let reviewerId: string;

const today = dayOf(now());
const dayA = addDays(today, -5);
const dayB = addDays(today, -4);
const dayC = addDays(today, -3);
const releaseA = randomUUID();
const releaseB = randomUUID();
const releaseC = randomUUID();
const emptyRelease = randomUUID();

// metric → [category, drawn value, half-width, low precision]
type Cell = [metric: string, category: string, value: number, halfWidth: number, low: boolean];
const CELLS: Record<string, Cell[]> = {
  [releaseA]: [
    ['dau', '', 812, 3, false],
    ['messages', '', 4100, 21, false],
    ['tokens', '', -20, 9000, true],
  ],
  [releaseB]: [
    ['dau', '', 790, 3, false],
    // A category that a spreadsheet would run as a formula: the one CSV writer neutralises it.
    ['country', '=HYPERLINK("http://x")', 120, 5, false],
  ],
  [releaseC]: [['dau', '', 777, 3, false]],
};

const countShares = async () =>
  Number((await sql()`select count(*)::int as n from console.analytics_shares`)[0]!.n);

beforeAll(async () => {
  server = await startTestServer();
  const o = await createStaffWithRoles(['privacy_officer'], { displayName: 'Share Officer' });
  const r = await createStaffWithRoles(['security_auditor']);
  const l = await createStaffWithRoles(['support_lead']);
  officerId = o.id;
  reviewerId = r.id;
  leadId = l.id;
  officer = await signInAs(server.baseUrl, o.email, o.password);
  reviewer = await signInAs(server.baseUrl, r.email, r.password);
  lead = await signInAs(server.baseUrl, l.email, l.password);
  const owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
  try {
    for (const [id, day] of [
      [releaseA, dayA],
      [releaseB, dayB],
      [releaseC, dayC],
      [emptyRelease, addDays(today, -2)],
    ] as const) {
      await owner`
        insert into console.analytics_releases
          (id, kind, dataset, period_start, period_end, epsilon_micros, min_cohort, params, released_at)
        values (${id}, 'daily', 'usage', ${day}, ${addDays(day, 1)}, 1000000, 50, '{}'::jsonb,
                ${now().toISOString()})`;
      for (const [metric, category, value, halfWidth, low] of CELLS[id] ?? []) {
        await owner`
          insert into console.analytics_cells
            (release_id, metric, category, value, half_width, low_precision, cohort)
          values (${id}, ${metric}, ${category}, ${value}, ${halfWidth}, ${low}, 800)`;
      }
    }
    // A period whose release was refused for lack of budget: it has no release to share.
    await owner`
      insert into console.analytics_ledger
        (kind, dataset, period_start, month, epsilon_micros, spent_before_micros, budget_micros,
         outcome, at)
      values ('daily', 'usage', ${addDays(today, -1)}, ${today.slice(0, 7)}, 1000000, 36000000,
              36000000, 'refused', ${now().toISOString()})`;
  } finally {
    await owner.end();
  }
});

afterAll(async () => {
  await server?.close();
});

describe('only released figures can be shared', () => {
  it('the log says so while nothing has been shared', async () => {
    const response = await fetchAs(officer, '/analytics/shares');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('No released figures have been shared yet.');
  });

  it.each([
    ['an unknown release', () => [randomUUID()]],
    ['a released and an unknown one', () => [releaseA, randomUUID()]],
  ])('%s: refused naming the field, nothing logged or audited', async (_name, releases) => {
    const before = await lastSeq();
    const response = await postForm(officer, `${NEW}?_data=routes%2Fanalytics.shares.new`, {
      recipient: PROVIDER,
      release: releases(),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fieldErrors: Record<string, string> };
    expect(Object.keys(body.fieldErrors)).toEqual(['release']);
    expect(body.fieldErrors.release).toMatch(/do(es)? not exist: only stored releases/);
    expect(await countShares()).toBe(0);
    expect((await readAudit(before)).map((e) => e.action)).not.toContain('analytics.share');
  });

  it('the form offers stored releases only, never the refused period', async () => {
    const response = await fetchAs(officer, `${NEW}?_data=routes%2Fanalytics.shares.new`);
    expect(response.status).toBe(200);
    const data = (await response.json()) as {
      releases: { id: string; periodStart: string; cells: number }[];
      recipients: string[];
    };
    expect(data.releases.map((r) => r.id).sort()).toEqual(
      [releaseA, releaseB, releaseC, emptyRelease].sort(),
    );
    expect(data.releases.map((r) => r.periodStart)).not.toContain(addDays(today, -1));
    // Only the record's analytics providers: never the payment provider or the hosts.
    expect(data.recipients).toEqual([PROVIDER]);
  });

  it.each([
    ['missing', {}, 'release'],
    ['not a release id', { release: 'daily:2025-01-01' }, 'release'],
    ['no recipient', { recipient: '', release: releaseA }, 'recipient'],
    [
      'a recipient not in the record',
      { recipient: 'Data Broker Ltd', release: releaseA },
      'recipient',
    ],
    [
      'a recipient that is no analytics provider',
      { recipient: 'Stripe', release: releaseA },
      'recipient',
    ],
  ] as const)('%s: 400 naming the field, nothing written', async (_name, fields, field) => {
    const before = await lastSeq();
    const response = await postForm(officer, `${NEW}?_data=routes%2Fanalytics.shares.new`, {
      recipient: PROVIDER,
      ...fields,
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { fieldErrors: Record<string, string> };
    expect(body.fieldErrors[field]).toBeTruthy();
    expect(await countShares()).toBe(0);
    expect((await readAudit(before)).map((e) => e.action)).not.toContain('analytics.share');
  });
});

describe('a share', () => {
  let shareId: string;
  let before: number;

  beforeAll(async () => {
    before = await lastSeq();
    const response = await postForm(officer, NEW, {
      recipient: PROVIDER,
      release: [releaseB, releaseA, releaseA, emptyRelease],
    });
    expect(response.status).toBe(302);
    const location = response.headers.get('location') ?? '';
    expect(location).toMatch(/^\/analytics\/shares\/new\?shared=[0-9a-f-]{36}$/);
    shareId = location.split('=')[1]!;
  });

  it('is in the sharing log: recipient as the record names it, record version, releases, rows, hash', async () => {
    const [row] = await sql()`
      select recipient_name, recipient_kind, record_version, release_ids, periods, datasets, rows,
             sha256, shared_by
        from console.analytics_shares where id = ${shareId}`;
    const record = await currentRecord();
    expect(row).toMatchObject({
      recipient_name: PROVIDER,
      recipient_kind: 'analytics_provider',
      record_version: record.version,
      periods: [`daily:${dayA}`, `daily:${dayB}`, `daily:${addDays(today, -2)}`],
      datasets: ['usage'],
      rows: 5,
      shared_by: officerId,
    });
    expect([...(row!.release_ids as string[])].sort()).toEqual(
      [releaseA, releaseB, emptyRelease].sort(),
    );

    // The log page, to a security reviewer: the share with its hash.
    const page = await fetchAs(
      reviewer,
      '/analytics/shares?_data=routes%2Fanalytics.shares._index',
    );
    expect(page.status).toBe(200);
    const data = (await page.json()) as {
      rows: { id: string; recipientName: string; rows: number; sha256: string; releases: number }[];
      canShare: boolean;
    };
    expect(data.canShare).toBe(false);
    expect(data.rows.find((r) => r.id === shareId)).toMatchObject({
      recipientName: PROVIDER,
      rows: 5,
      releases: 3,
      sha256: row!.sha256,
    });
  });

  it('is in the audit trail: recipient, releases, rows and hash, never a figure', async () => {
    const entries = (await readAudit(before)).filter((e) => e.action === 'analytics.share');
    expect(entries).toHaveLength(1);
    const [row] = await sql()`select sha256 from console.analytics_shares where id = ${shareId}`;
    expect(entries[0]!.actor?.staffId).toBe(officerId);
    expect(entries[0]!.details).toEqual({
      share: shareId,
      recipient: PROVIDER,
      recordVersion: (await currentRecord()).version,
      releases: [`daily:${dayA}`, `daily:${dayB}`, `daily:${addDays(today, -2)}`],
      datasets: ['usage'],
      rows: 5,
      sha256: row!.sha256,
    });
    // Nowhere else in the entry either. Its random parts (ids, hashes, the time) are masked first:
    // a share id such as 6b4e6679-19be-4a48-812b-… once held '812'.
    const masked = entries[0]!.raw
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
      .replace(/"(sha256|prev|time)":"[^"]*"/g, '"$1":"<random>"');
    expect(masked).not.toMatch(/[0-9a-f]{8}-|"sha256":"[0-9a-f]/);
    for (const figure of ['812', '4100', '790', '120']) {
      expect(masked).not.toContain(figure);
    }
  });

  it('its CSV holds exactly the released cells of the chosen releases, hashed as logged', async () => {
    const seq = await lastSeq();
    const response = await fetchAs(officer, `/analytics/shares/${shareId}/csv`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await response.text();
    const [row] = await sql()`select sha256 from console.analytics_shares where id = ${shareId}`;
    // fetch's text() drops the byte order mark; the hash covers the bytes as sent.
    expect(createHash('sha256').update(`\uFEFF${text}`, 'utf8').digest('hex')).toBe(row!.sha256);
    expect(response.headers.get('x-custodian-sha256')).toBe(row!.sha256);
    const lines = text
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(
      'release,period_start,period_end,figure,category,value,ci95_low,ci95_high,low_precision,release_epsilon,min_cohort_k,released_at',
    );
    const shown = lines.slice(1).map((l) => l.split(',').slice(0, 9).join(','));
    expect(shown).toEqual([
      `daily,${dayA},${dayB},dau,,812,809,815,false`,
      `daily,${dayA},${dayB},messages,,4100,4079,4121,false`,
      // Clamped at zero as the page shows it (ADR 029).
      `daily,${dayA},${dayB},tokens,,0,0,8980,true`,
      // The formula is neutralised by the one CSV writer (quoted, with a leading apostrophe).
      `daily,${dayB},${dayC},country,"'=HYPERLINK(""http://x"")",120,115,125,false`,
      `daily,${dayB},${dayC},dau,,790,787,793,false`,
    ]);
    // Release C was not chosen: none of its cells left.
    expect(text).not.toContain(dayC + ',' + addDays(dayC, 1));
    const downloads = (await readAudit(seq)).filter((e) => e.action === 'analytics.share_download');
    expect(downloads.map((e) => e.details)).toEqual([
      { share: shareId, rows: 5, sha256: row!.sha256 },
    ]);
  });
});

describe('who may share and read the log', () => {
  it('a lead (analytics:read, not analytics:share) is refused the form and the share, audited', async () => {
    const before = await lastSeq();
    const form = await fetchAs(lead, NEW);
    expect(form.status).toBe(403);
    const share = await postForm(lead, NEW, { recipient: PROVIDER, release: releaseC });
    expect(share.status).toBe(403);
    const log = await fetchAs(lead, '/analytics/shares');
    expect(log.status).toBe(403);
    const denied = (await readAudit(before)).filter((e) => e.action === 'access.denied');
    expect(denied.map((e) => [e.actor?.staffId, e.details])).toEqual([
      [leadId, { reason: 'missing_permission', permission: 'analytics:share', route: NEW }],
      [leadId, { reason: 'missing_permission', permission: 'analytics:share', route: NEW }],
      [
        leadId,
        {
          reason: 'missing_permission',
          permissions: ['privacy:process', 'security:review'],
          route: '/analytics/shares',
        },
      ],
    ]);
    expect(
      Number(
        (
          await sql()`select count(*)::int as n from console.analytics_shares
                      where ${releaseC}::uuid = any(release_ids)`
        )[0]!.n,
      ),
    ).toBe(0);
  });

  it('a security reviewer reads the log but may not share or download a share', async () => {
    expect((await fetchAs(reviewer, '/analytics/shares')).status).toBe(200);
    const before = await lastSeq();
    expect((await postForm(reviewer, NEW, { recipient: PROVIDER, release: releaseC })).status).toBe(
      403,
    );
    const [share] = await sql()`select id from console.analytics_shares limit 1`;
    expect((await fetchAs(reviewer, `/analytics/shares/${share!.id}/csv`)).status).toBe(403);
    const denied = (await readAudit(before)).filter((e) => e.action === 'access.denied');
    expect(denied.map((e) => e.actor?.staffId)).toEqual([reviewerId, reviewerId]);
  });

  it('the analytics page links the form and the log to those who may use them', async () => {
    const asOfficer = await (await fetchAs(officer, '/analytics')).text();
    expect(asOfficer).toContain('href="/analytics/shares/new"');
    expect(asOfficer).toContain('href="/analytics/shares"');
    const asLead = await (await fetchAs(lead, '/analytics')).text();
    expect(asLead).not.toContain('href="/analytics/shares');
  });

  it('a bad share id is a 400 naming it, an unknown one a 404', async () => {
    const bad = await fetchAs(officer, '/analytics/shares/not-a-share/csv');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Invalid shareId');
    expect((await fetchAs(officer, `/analytics/shares/${randomUUID()}/csv`)).status).toBe(404);
  });
});

describe('the sharing log', () => {
  it('is append-only for the app role', async () => {
    await expect(sql()`update console.analytics_shares set rows = 0`).rejects.toThrow(
      /permission denied/,
    );
    await expect(sql()`delete from console.analytics_shares`).rejects.toThrow(/permission denied/);
  });

  it('sorts and pages', async () => {
    const owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
    const version = (await currentRecord()).version;
    try {
      for (let i = 0; i < 27; i++) {
        await owner`
          insert into console.analytics_shares
            (id, recipient_name, recipient_kind, record_version, release_ids, periods, datasets,
             rows, sha256, shared_by, shared_at)
          values (${randomUUID()}, ${`Provider ${String(i).padStart(2, '0')}`},
                  'analytics_provider', ${version}, ${[releaseC]}, ${[`daily:${dayC}`]},
                  ${['usage']}, 1, ${'a'.repeat(64)}, ${officerId},
                  ${new Date(Date.UTC(2030, 0, 1, 0, i)).toISOString()})`;
      }
    } finally {
      await owner.end();
    }
    const data = async (query: string) => {
      const r = await fetchAs(
        reviewer,
        `/analytics/shares?${query}${query ? '&' : ''}_data=routes%2Fanalytics.shares._index`,
      );
      expect(r.status).toBe(200);
      return (await r.json()) as { rows: { recipientName: string }[]; next: string | null };
    };
    const first = await data('sort=recipient&dir=asc');
    expect(first.rows).toHaveLength(25);
    expect(first.rows[0]!.recipientName).toBe(PROVIDER);
    expect(first.rows[1]!.recipientName).toBe('Provider 00');
    expect(first.next).toBeTruthy();
    const second = await data(`sort=recipient&dir=asc&after=${first.next}`);
    expect(second.rows.map((r) => r.recipientName)).toEqual([
      'Provider 24',
      'Provider 25',
      'Provider 26',
    ]);
    expect(second.next).toBeNull();
    const newest = await data('');
    expect(newest.rows[0]!.recipientName).toBe('Provider 26');
    // A cursor of the other order is bad input, named.
    const wrong = await fetchAs(reviewer, `/analytics/shares?sort=shared&after=${first.next}`);
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('Invalid after');
  });
});
