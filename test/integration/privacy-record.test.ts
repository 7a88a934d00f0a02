import { randomBytes } from 'node:crypto';
import yauzl from 'yauzl';
import { job } from '#app/modules/actor.ts';
import { openExportPackage } from '#app/modules/privacy/package.server.ts';
import { art15Now, currentRecord, recordVersion } from '#app/modules/privacy/record.server.ts';
import { informationText, type ProcessingRecord } from '#app/modules/privacy/record.ts';
import { createRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { lastSeq, readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import { ownerConnection, seedUsers } from './users-fixtures.ts';

// The record of processing (issue 15, ADR 036): versioned in the database, edited by privacy
// officers on /privacy/record (field-named errors, nothing half-written, each edit audited), read by
// them and security reviewers; the access package's Art. 15 section is drawn from its current
// version, so after an edit the next package says what the record says.

useTestDatabase();
const PRODUCT = job('api: product');
let server: TestServer;
let officer: string;
let reviewer: string;
let agent: string;
let userId: string;

beforeAll(async () => {
  await seedUsers();
  const owner = ownerConnection();
  const [u] = await owner<{ id: string }[]>`
    select id from product.users order by created_at, id limit 1`;
  userId = u!.id;
  await owner.end();
  server = await startTestServer();
  const sign = async (role: 'privacy_officer' | 'security_auditor' | 'support_agent') => {
    const who = await createStaffWithRoles([role]);
    return signInAs(server.baseUrl, who.email, who.password);
  };
  officer = await sign('privacy_officer');
  reviewer = await sign('security_auditor');
  agent = await sign('support_agent');
}, 240_000);

afterAll(async () => {
  await server?.close();
});

/** The edit form's fields for a record, as the page sends them. */
function formOf(record: ProcessingRecord, baseVersion: number): Record<string, string> {
  const fields: Record<string, string> = { baseVersion: String(baseVersion) };
  for (const section of ['purposes', 'categories', 'recipients'] as const) {
    record[section].forEach((row, i) => {
      for (const [k, v] of Object.entries(row)) fields[`${section}.${i}.${k}`] = String(v);
    });
  }
  fields.sources = record.sources.join('\n');
  fields.rights = record.rights.join('\n');
  return fields;
}

const url = (path: string) => `${server.baseUrl}${path}`;
const post = (cookie: string, fields: Record<string, string>) =>
  postForm(cookie, url('/privacy/record?edit=1'), fields);
/** The fields a page's errors name (each error is `<p id="<field>-error" role="alert">`). */
const errorsOn = (html: string) =>
  [...html.matchAll(/id="([^"]+)-error" role="alert"/g)].map((m) => m[1]).sort();
const unique = () => randomBytes(4).toString('hex');

async function packageFiles(): Promise<Map<string, string>> {
  const created = await createRequest({ userId, type: 'access' }, PRODUCT);
  await moveRequest(created.id, { kind: 'start' }, PRODUCT);
  expect(await runWork(created.id)).toBe('done');
  const { stream } = await openExportPackage(created.id, PRODUCT);
  const parts: Buffer[] = [];
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
    parts.push(Buffer.from(part));
  }
  const zip = await yauzl.fromBufferPromise(Buffer.concat(parts), { lazyEntries: true });
  const files = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (error, s) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        s.on('data', (d: Buffer) => chunks.push(d));
        s.on('error', reject);
        s.on('end', () => {
          files.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
          zip.readEntry();
        });
      });
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return files;
}

describe('the record of processing', () => {
  test('a first version is seeded: the AI chat service’s processors, purposes and bases', async () => {
    const first = await recordVersion(1);
    expect(first.editedBy).toBeNull();
    expect(first.record.recipients.map((r) => r.kind)).toEqual(
      expect.arrayContaining(['payment_provider', 'cloud_hosting', 'analytics_provider']),
    );
    expect(first.record.purposes.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'Providing the service',
        'Billing',
        'Security',
        'Analytics on aggregates',
        'AI training',
      ]),
    );
  });

  test('privacy officers and security reviewers read it; only officers get the form', async () => {
    for (const cookie of [officer, reviewer]) {
      const page = await fetchAs(cookie, url('/privacy/record'));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Stripe');
    }
    expect((await fetchAs(agent, url('/privacy/record'))).status).toBe(403);
    expect((await fetchAs(reviewer, url('/privacy/record?edit=1'))).status).toBe(403);
    const form = await fetchAs(officer, url('/privacy/record?edit=1'));
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="recipients.0.agreement"');
  });

  test('a reviewer cannot edit it: 403 and no new version', async () => {
    const before = await currentRecord();
    const response = await post(reviewer, formOf(before.record, before.version));
    expect(response.status).toBe(403);
    expect((await currentRecord()).version).toBe(before.version);
  });

  test('an edit makes a new version, audited without its text; the older one stays readable', async () => {
    const before = await currentRecord();
    const name = `Acme Metrics ${unique()}`;
    const retention = `Kept ${unique()} months, then deleted.`;
    const edited: ProcessingRecord = {
      ...before.record,
      categories: before.record.categories.map((c, i) => (i === 0 ? { ...c, retention } : c)),
      recipients: [
        ...before.record.recipients,
        {
          name,
          kind: 'analytics_provider',
          agreement: 'DPA signed 2026-01-01',
          receives: 'Released aggregate figures only.',
          transfers: 'United States, under the EU Standard Contractual Clauses.',
        },
      ],
    };
    const seq = await lastSeq();
    const response = await post(officer, formOf(edited, before.version));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`/privacy/record?saved=${before.version + 1}`);
    const after = await currentRecord();
    expect(after.version).toBe(before.version + 1);
    expect(after.record).toEqual(edited);
    expect(after.editorName).toMatch(/^Test privacy_officer/);
    // The older version is unchanged and readable, on its own address too.
    expect((await recordVersion(before.version)).record).toEqual(before.record);
    const old = await (
      await fetchAs(reviewer, url(`/privacy/record?version=${before.version}`))
    ).text();
    expect(old).toContain('an older version');
    expect(old).not.toContain(name);
    const audit = (await readAudit(seq)).filter((e) => e.action === 'privacy.record_edit');
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toEqual({
      version: after.version,
      from: before.version,
      changed: ['categories', 'recipients'],
    });
    expect(audit[0]!.raw).not.toContain(name);
    expect(audit[0]!.raw).not.toContain(retention);
  });

  test('bad input names its field and writes nothing', async () => {
    const before = await currentRecord();
    const seq = await lastSeq();
    const bad = formOf(before.record, before.version);
    bad['purposes.1.legalBasis'] = 'because';
    bad['recipients.0.agreement'] = '   ';
    bad['categories.0.name'] = before.record.categories[1]!.name;
    let response = await post(officer, bad);
    expect(response.status).toBe(400);
    expect(errorsOn(await response.text())).toEqual(
      ['categories.1.name', 'purposes.1.legalBasis', 'recipients.0.agreement'].sort(),
    );
    // No purposes at all; no rights.
    const empty = formOf({ ...before.record, purposes: [], rights: [] }, before.version);
    response = await post(officer, empty);
    expect(response.status).toBe(400);
    expect(errorsOn(await response.text())).toEqual(['purposes', 'rights']);
    // Nothing changed: no empty version.
    response = await post(officer, formOf(before.record, before.version));
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(errorsOn(html)).toEqual(['form']);
    expect(html).toContain('Nothing changed');
    expect((await currentRecord()).version).toBe(before.version);
    expect((await readAudit(seq)).filter((e) => e.action === 'privacy.record_edit')).toEqual([]);
  });

  test('an edit from a stale version is refused (409), so it cannot undo another', async () => {
    const before = await currentRecord();
    const first = formOf(
      { ...before.record, sources: [...before.record.sources, `First ${unique()}`] },
      before.version,
    );
    const second = formOf(
      { ...before.record, sources: [...before.record.sources, `Second ${unique()}`] },
      before.version,
    );
    expect((await post(officer, first)).status).toBe(302);
    const response = await post(officer, second);
    expect(response.status).toBe(409);
    const html = await response.text();
    expect(errorsOn(html)).toEqual(['baseVersion']);
    expect(html).toContain('The record changed since you opened it');
    const after = await currentRecord();
    expect(after.version).toBe(before.version + 1);
    expect(after.record.sources.at(-1)).toBe(first.sources!.split('\n').at(-1));
  });

  test('a row can be removed, and the removal is a version of its own', async () => {
    const before = await currentRecord();
    const fields = formOf(before.record, before.version);
    const last = before.record.purposes.length - 1;
    fields[`purposes.${last}.remove`] = 'on';
    expect((await post(officer, fields)).status).toBe(302);
    const after = await currentRecord();
    expect(after.record.purposes).toEqual(before.record.purposes.slice(0, last));
  });
});

describe('the access package’s Art. 15 section', () => {
  test('is drawn from the current version: after an edit the next package says the same', async () => {
    let files = await packageFiles();
    expect(files.get('information.txt')).toBe(informationText(await art15Now()));

    const before = await currentRecord();
    const name = `Northwind Hosting ${unique()}`;
    const retention = `Kept for ${unique()} days after the account closes.`;
    const basis = before.record.purposes[0]!;
    const edited: ProcessingRecord = {
      ...before.record,
      purposes: [{ ...basis, legalBasis: 'consent' }, ...before.record.purposes.slice(1)],
      categories: before.record.categories.map((c, i) => (i === 1 ? { ...c, retention } : c)),
      recipients: [
        ...before.record.recipients,
        {
          name,
          kind: 'cloud_hosting',
          agreement: 'DPA signed 2026-02-02',
          receives: 'Encrypted backups.',
          transfers: 'Switzerland, under an adequacy decision.',
        },
      ],
    };
    expect((await post(officer, formOf(edited, before.version))).status).toBe(302);

    files = await packageFiles();
    const text = files.get('information.txt')!;
    expect(text).toBe(informationText(await art15Now()));
    expect(text).toContain(`- ${name} (cloud hosting): Encrypted backups.`);
    expect(text).toContain(`- ${before.record.categories[1]!.name}: ${retention}`);
    expect(text).toContain(`- ${name}: Switzerland, under an adequacy decision.`);
    expect(text).toContain(
      `${basis.name}: ${basis.description} Legal basis: consent (Art. 6(1)(a)).`,
    );
    // index.html carries the same section.
    expect(files.get('index.html')).toContain(name);
    expect(files.get('index.html')).toContain(retention);
  }, 120_000);

  test('a category that names a retention policy tells the policy’s live period', async () => {
    const { record } = await currentRecord();
    const index = record.categories.findIndex((c) => c.policy === 'usage_events');
    expect(index).toBeGreaterThanOrEqual(0);
    const usage = record.categories[index]!;
    const owner = ownerConnection();
    const [row] = await owner<{ period_days: number }[]>`
      select period_days from console.retention_policies where category = 'usage_events'`;
    const before = row!.period_days;
    try {
      await owner`update console.retention_policies set period_days = 1234
        where category = 'usage_events'`;
      const text = informationText(await art15Now());
      expect(text).toContain(
        `- ${usage.name}: ${usage.retention} Our retention policy removes it after 1,234 days at the latest.`,
      );
      const page = await (await fetchAs(officer, url('/privacy/record'))).text();
      expect(page).toContain('Our retention policy removes it after 1,234 days at the latest.');
    } finally {
      await owner`update console.retention_policies set period_days = ${before}
        where category = 'usage_events'`;
      await owner.end();
    }
  });

  test('naming a retention policy that does not exist is refused by its field, nothing saved', async () => {
    const before = await currentRecord();
    const fields = formOf(before.record, before.version);
    fields['categories.0.policy'] = 'no_such_policy';
    const response = await post(officer, fields);
    expect(response.status).toBe(400);
    expect(errorsOn(await response.text())).toEqual(['categories.0.policy']);
    expect((await currentRecord()).version).toBe(before.version);
  });
});
