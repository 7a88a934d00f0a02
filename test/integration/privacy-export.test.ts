import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type postgres from 'postgres';
import { Ajv2020 } from 'ajv/dist/2020.js';
import yauzl from 'yauzl';
import { job } from '#app/modules/actor.ts';
import { verifierKeyFor, type Signer } from '#app/modules/audit/note.ts';
import {
  checkpointIfDue,
  sequenceBatch,
  sequencerConnection,
} from '#app/modules/audit/sequencer.server.ts';
import { verifyAuditLog } from '#app/modules/audit/verify.server.ts';
import { setClock } from '#app/modules/clock.server.ts';
import { encryptField, unwrapDataKey } from '#app/modules/crypto/envelope.server.ts';
import { messagesOfRequest } from '#app/modules/privacy/outbox.server.ts';
import type { RequestMessage } from '#app/modules/privacy/vocabulary.ts';
import {
  expireExportPackages,
  openExportPackage,
  packageOfRequest,
  type Manifest,
} from '#app/modules/privacy/package.server.ts';
import { createRequest, getRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { exportSchemaText } from '#app/modules/privacy/export-schema.ts';
import { GoneError, NotFoundError } from '#app/utils/errors.ts';
import { readAudit } from '../support/audit.ts';
import { sequencerUrl, testKeyRing, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';
import { ownerConnection, seedUsers } from './users-fixtures.ts';

// Access and portability packages (ADR 025): a user with 100,000 messages gets a ZIP that another
// library opens, whose manifest's hashes match, whose data.json validates against its schema and
// whose CSV parses; the link and the service API's function expire; a worker killed with SIGKILL
// half-way leaves a request that finishes with exactly one package and a trail that verifies; the
// officer sees the manifest and progress, never the contents, and no way to download.

// The completion message goes through the real outbox (sealed under the user's key, in the
// completion's transaction); its variables are also kept here, so a test can follow the link as
// the user would.
const outbox = vi.hoisted(
  () =>
    [] as {
      userId: string;
      requestId: string;
      template: RequestMessage;
      vars?: Record<string, string>;
    }[],
);
vi.mock('#app/modules/privacy/outbox.server.ts', async (original) => {
  const real = await original<typeof import('#app/modules/privacy/outbox.server.ts')>();
  return {
    ...real,
    queueUserMessage: (
      tx: Parameters<typeof real.queueUserMessage>[0],
      message: (typeof outbox)[number],
    ) => {
      outbox.push(message);
      return real.queueUserMessage(tx, message);
    },
  };
});

useTestDatabase();
const MESSAGES = 100_000;
const CONVERSATIONS = 40;
const PRODUCT = job('api: product');
let owner: postgres.Sql;
let userId: string;
/** The user's messages: the seed's few and the 100,000 added. */
let expected: number;
let server: TestServer;
let clockAt = Date.parse('2026-05-04T09:00:00Z');
let restoreClock: () => void;

// What the seed and these messages hold on purpose: markup, formulas, quotes, line breaks.
const HOSTILE = [
  '<script>alert("export")</script>',
  '=HYPERLINK("http://evil.test","click")',
  '+SUM(1,2)',
  'a "quoted", comma\nand a line break',
  '@cmd',
  'plain words, ünïcödé 🙂',
];

async function insertHistory(user: string, messages: number, conversations: number) {
  const [k] = await owner<{ key_version: number; master_key_id: string; wrapped_key: Buffer }[]>`
    select key_version, master_key_id, wrapped_key from product.user_keys where user_id = ${user}`;
  const key = unwrapDataKey(
    {
      userId: user,
      keyVersion: k!.key_version,
      masterKeyId: k!.master_key_id,
      wrappedKey: k!.wrapped_key,
    },
    testKeyRing,
  );
  const convIds = Array.from({ length: conversations }, () => randomUUID());
  await owner`
    insert into product.conversations (id, user_id, title_enc, model, created_at, updated_at)
    select c.id, ${user}, decode(c.title, 'hex'), 'orca-2', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'
    from unnest(${convIds}::uuid[], ${convIds.map((id, i) => encryptField(key, 'conversations.title', id, `${HOSTILE[i % HOSTILE.length]} #${i}`).toString('hex'))}::text[]) as c(id, title)`;
  for (let start = 0; start < messages; start += 20_000) {
    const n = Math.min(20_000, messages - start);
    const ids = Array.from({ length: n }, () => randomUUID());
    const sealed = ids.map((id, i) =>
      encryptField(
        key,
        'messages.content',
        id,
        `${HOSTILE[(start + i) % HOSTILE.length]} ${start + i}`,
      ).toString('hex'),
    );
    // The ids and ciphertexts come from here (each is bound to its row); the rest is generated.
    await owner`
      insert into product.messages (id, user_id, conversation_id, role, content_enc, token_count, created_at)
      select m.id, ${user}, (${convIds}::uuid[])[1 + (g.i % ${conversations}::int)],
             case when g.i % 2 = 0 then 'user'::product.message_role else 'assistant'::product.message_role end,
             decode(m.sealed, 'hex'), g.i % 500,
             timestamptz '2026-01-01T00:00:00Z' + make_interval(secs => g.i)
      from unnest(${ids}::uuid[], ${sealed}::text[]) with ordinality as m(id, sealed, i)
      join generate_series(${start + 1}::int, ${start + n}::int) as g(i) on g.i = m.i + ${start}::int`;
  }
}

async function processingRequest(type: 'access' | 'portability', user = userId) {
  const created = await createRequest({ userId: user, type }, PRODUCT);
  await moveRequest(created.id, { kind: 'start' }, PRODUCT);
  return created.id;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>)
    parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** Every entry of the archive, read with yauzl (another library than the one that wrote it). */
async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const file = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    file.on('entry', (entry: yauzl.Entry) => {
      file.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const parts: Buffer[] = [];
        stream.on('data', (d: Buffer) => parts.push(d));
        stream.on('error', reject);
        stream.on('end', () => {
          files.set(entry.fileName, Buffer.concat(parts));
          file.readEntry();
        });
      });
    });
    file.on('end', resolve);
    file.on('error', reject);
    file.readEntry();
  });
  return files;
}

/** RFC 4180 records (quotes doubled, CRLF). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field || record.length) throw new Error('the CSV does not end with CRLF');
  return records;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function countPackages(requestId: string) {
  const [r] = await owner<{ packages: number; chunks: number; orphans: number }[]>`
    select (select count(*)::int from console.export_packages where request_id = ${requestId}) as packages,
           (select count(*)::int from console.export_chunks c
              join console.export_packages p on p.id = c.package_id
             where p.request_id = ${requestId}) as chunks,
           (select count(*)::int from console.export_packages where state = 'building') as orphans`;
  return r!;
}

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  await seedUsers();
  owner = ownerConnection();
  const [u] = await owner<
    { id: string }[]
  >`select id from product.users order by created_at, id limit 1`;
  userId = u!.id;
  await insertHistory(userId, MESSAGES, CONVERSATIONS);
  const [n] = await owner<{ n: number }[]>`
    select count(*)::int as n from product.messages where user_id = ${userId}`;
  expected = n!.n;
  expect(expected).toBeGreaterThan(MESSAGES);
  server = await startTestServer();
}, 240_000);

afterAll(async () => {
  restoreClock();
  await server?.close();
  await owner?.end();
});

describe('a package of 100,000 messages', () => {
  let requestId: string;
  let zip: Buffer;
  let files: Map<string, Buffer>;
  let link: string;

  beforeAll(async () => {
    requestId = await processingRequest('access');
    // Before it is built there is nothing to hand out.
    await expect(openExportPackage(requestId, PRODUCT)).rejects.toBeInstanceOf(NotFoundError);
    expect(await runWork(requestId)).toBe('done');
    zip = await readAll((await openExportPackage(requestId, PRODUCT)).stream);
    files = await unzip(zip);
    const message = outbox.find((m) => m.requestId === requestId);
    link = message!.vars!.link!;
  }, 300_000);

  test('the request completed, the user was sent the link, and the package was audited', async () => {
    const { request } = await getRequest(requestId);
    expect(request.state).toBe('completed');
    expect(outbox.filter((m) => m.requestId === requestId)).toMatchObject([
      { userId, template: 'completion' },
    ]);
    // The real outbox holds it, queued to be sent.
    expect(
      (await messagesOfRequest(requestId)).map((m) => m.template).filter((t) => t === 'completion'),
    ).toEqual(['completion']);
    expect(link).toMatch(/\/export\/[A-Za-z0-9_-]{43}$/);
    const entries = (await readAudit()).filter(
      (e) => (e as { privacyRequestId?: string }).privacyRequestId === requestId,
    );
    const built = entries.find((e) => e.action === 'privacy.package');
    expect(built?.details).toMatchObject({ files: 8, bytes: zip.length, sha256: sha256(zip) });
    // Counts and hashes only: nothing of the contents reaches the trail.
    expect(entries.map((e) => e.raw).join('')).not.toMatch(/script|HYPERLINK|quoted/);
  });

  test('the ZIP opens with yauzl and every manifest hash and size matches', () => {
    expect([...files.keys()].sort()).toEqual(
      [
        'access-history.json',
        'conversations.csv',
        'conversations.json',
        'data.json',
        'data.schema.json',
        'index.html',
        'information.txt',
        'manifest.json',
      ].sort(),
    );
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Manifest;
    expect(manifest.files.map((f) => f.name).sort()).toEqual(
      [...files.keys()].filter((f) => f !== 'manifest.json').sort(),
    );
    for (const f of manifest.files) {
      const body = files.get(f.name)!;
      expect({ name: f.name, bytes: body.length, sha256: sha256(body) }).toEqual({
        name: f.name,
        bytes: f.bytes,
        sha256: f.sha256,
      });
    }
    expect(manifest.counts.messages).toBe(expected);
  });

  test('data.json validates against the schema shipped beside it, which is docs/export-schema.json', () => {
    const schemaText = files.get('data.schema.json')!.toString();
    expect(schemaText).toBe(fs.readFileSync('docs/export-schema.json', 'utf8'));
    expect(schemaText).toBe(exportSchemaText());
    const ajv = new Ajv2020({ allErrors: false, strict: true });
    ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    ajv.addFormat('date', /^\d{4}-\d{2}-\d{2}$/);
    ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    const validate = ajv.compile(JSON.parse(schemaText) as object);
    const data = JSON.parse(files.get('data.json')!.toString()) as {
      profile: { id: string };
      conversations: { messages: { content: string }[] }[];
      privacyRequests: { id: string }[];
    };
    expect(validate(data), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(data.profile.id).toBe(userId);
    expect(data.conversations.flatMap((c) => c.messages)).toHaveLength(expected);
    expect(data.privacyRequests.map((r) => r.id)).toContain(requestId);
    // A document that breaks the schema is refused: the check has teeth.
    expect(validate({ ...data, profile: { ...data.profile, plan: 'platinum' } })).toBe(false);
  });

  test('conversations.csv parses, one record per message, formulas neutralised', () => {
    const text = files.get('conversations.csv')!.toString('utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    const [header, ...records] = parseCsv(text.slice(1));
    expect(header).toEqual([
      'conversation_id',
      'conversation_title',
      'model',
      'message_id',
      'role',
      'created_at',
      'token_count',
      'content',
    ]);
    expect(records).toHaveLength(expected);
    expect(records.every((r) => r.length === 8)).toBe(true);
    const contents = records.map((r) => r[7]!);
    expect(contents.some((c) => c.startsWith("'=HYPERLINK"))).toBe(true);
    expect(contents.some((c) => /^[=+\-@]/.test(c))).toBe(false);
    expect(contents).toContain(`a "quoted", comma\nand a line break 3`);
    // conversations.json carries the same messages.
    const json = JSON.parse(files.get('conversations.json')!.toString()) as {
      conversations: { messages: unknown[] }[];
    };
    expect(json.conversations.flatMap((c) => c.messages)).toHaveLength(expected);
  });

  test('index.html escapes every value, runs nothing and loads nothing', () => {
    const html = files.get('index.html')!.toString('utf8');
    expect(html).toContain('&lt;script&gt;alert(&quot;export&quot;)&lt;/script&gt;');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=/i);
    expect(html).toContain("default-src 'none'");
    // The Art. 15 section, drawn from the record of processing (ADR 036).
    expect(html).toContain('Who receives it (recipients)');
    expect(files.get('information.txt')!.toString()).toMatch(/retention/i);
  });

  test('the access history is the API’s shape, with no staff identity', () => {
    const history = JSON.parse(files.get('access-history.json')!.toString()) as {
      items: Record<string, unknown>[];
    };
    expect(Array.isArray(history.items)).toBe(true);
    for (const item of history.items) {
      expect(Object.keys(item).sort()).toEqual(
        ['action', 'at', 'breakGlass', 'category', 'reasonCode'].sort(),
      );
    }
  });

  test('the link downloads the same bytes, audited; an unknown link is 404', async () => {
    const path = new URL(link).pathname;
    const response = await fetchAs(null, path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(Buffer.from(await response.arrayBuffer()).equals(zip)).toBe(true);
    const downloads = (await readAudit()).filter(
      (e) =>
        e.action === 'privacy.download' &&
        (e as { privacyRequestId?: string }).privacyRequestId === requestId,
    );
    expect(downloads.map((d) => d.details)).toEqual([
      { artifact: 'export', via: 'api' },
      { artifact: 'export', via: 'link' },
    ]);
    expect((await fetchAs(null, `/export/${'b'.repeat(43)}`)).status).toBe(404);
    expect((await fetchAs(null, '/export/short')).status).toBe(404);
  });

  test('the officer sees the manifest and progress, never contents, and no way to download', async () => {
    const officer = await createStaffWithRoles(['privacy_officer']);
    const cookie = await signInAs(server.baseUrl, officer.email, officer.password);
    const page = await fetchAs(cookie, `/privacy/${requestId}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const summary = await packageOfRequest(requestId);
    for (const f of summary!.manifest!.files) {
      expect(html).toContain(f.name);
      expect(html).toContain(f.sha256);
    }
    expect(html).not.toMatch(/HYPERLINK|alert\(|quoted/);
    expect(html).not.toMatch(/\/export\//);
    expect(html).not.toMatch(/download=|\.zip"/);
    // No console address hands the package to a staff session.
    for (const path of [
      `/privacy/${requestId}/export`,
      `/privacy/${requestId}/download`,
      `/privacy/${requestId}?download=1`,
    ]) {
      const response = await fetchAs(cookie, path);
      expect(response.headers.get('content-type') ?? '').not.toMatch(/zip/);
    }
  });

  test('expired after 7 days: the link answers 410, the function GoneError, the chunks are gone', async () => {
    const before = clockAt;
    try {
      clockAt += 8 * 86_400_000;
      expect((await fetchAs(null, new URL(link).pathname)).status).toBe(410);
      await expect(openExportPackage(requestId, PRODUCT)).rejects.toBeInstanceOf(GoneError);
      expect(await countPackages(requestId)).toMatchObject({ packages: 1, chunks: 0 });
      expect((await packageOfRequest(requestId))?.state).toBe('expired');
    } finally {
      clockAt = before;
    }
  });
});

describe('expiry by the job', () => {
  test('a package past its expiry is deleted by the sweep, audited once', async () => {
    const other = (
      await owner<{ id: string }[]>`
      select id from product.users order by created_at, id offset 1 limit 1`
    )[0]!.id;
    const requestId = await processingRequest('portability', other);
    expect(await runWork(requestId)).toBe('done');
    const before = clockAt;
    try {
      clockAt += 7 * 86_400_000 + 1;
      expect(await expireExportPackages()).toBeGreaterThanOrEqual(1);
      expect(await expireExportPackages()).toBe(0);
      expect(await countPackages(requestId)).toMatchObject({ packages: 1, chunks: 0 });
      await expect(openExportPackage(requestId, PRODUCT)).rejects.toBeInstanceOf(GoneError);
      const deletes = (await readAudit()).filter(
        (e) =>
          e.action === 'privacy.package_delete' &&
          (e as { privacyRequestId?: string }).privacyRequestId === requestId,
      );
      expect(deletes).toHaveLength(1);
    } finally {
      clockAt = before;
    }
  });
});

describe('kill -9 of the worker in the middle of an export', () => {
  const ORIGIN = 'custodian.local/audit';
  const signer: Signer = { name: ORIGIN, privateKey: generateKeyPairSync('ed25519').privateKey };

  test('after the lease lapses it runs again: one package, nothing left behind, the trail verifies', async () => {
    const requestId = await processingRequest('portability');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/privacy-work-child.ts', requestId],
      { env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Killed once it has written rows and stored part of the archive.
    await expect
      .poll(
        async () => {
          const [r] = await owner<{ done: number; chunks: number }[]>`
            select p.progress_done::int as done,
                   (select count(*)::int from console.export_chunks c
                      join console.export_packages e on e.id = c.package_id
                     where e.request_id = p.id) as chunks
            from console.privacy_requests p where p.id = ${requestId}`;
          return r!.done > 0 && r!.chunks > 0;
        },
        { timeout: 120_000, interval: 25 },
      )
      .toBe(true);
    child.kill('SIGKILL');
    await exited;
    expect(output).not.toMatch(/done|failed/);
    // What it left: a package being built, never ready, and the request still processing.
    expect(await countPackages(requestId)).toMatchObject({ packages: 1 });
    expect((await getRequest(requestId)).request.state).toBe('processing');
    // Its lease lapses (instead of waiting LEASE_SECONDS), and the work runs again.
    expect(await runWork(requestId)).toBe('skipped');
    await owner`update console.privacy_requests set work_lease_until = ${new Date(clockAt - 1000)}
                where id = ${requestId}`;
    expect(await runWork(requestId)).toBe('done');

    expect((await getRequest(requestId)).request.state).toBe('completed');
    const summary = (await packageOfRequest(requestId))!;
    const counts = await countPackages(requestId);
    expect(counts).toEqual({ packages: 1, chunks: summary.chunks, orphans: 0 });
    const files = await unzip(await readAll((await openExportPackage(requestId, PRODUCT)).stream));
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Manifest;
    for (const f of manifest.files) expect(sha256(files.get(f.name)!)).toBe(f.sha256);
    expect(outbox.filter((m) => m.requestId === requestId)).toHaveLength(1);
    const completions = (await readAudit()).filter(
      (e) =>
        (e as { privacyRequestId?: string }).privacyRequestId === requestId &&
        (e.action === 'privacy.package' ||
          (e.action === 'privacy.transition' && e.details.to === 'completed')),
    );
    expect(completions.map((e) => e.action).sort()).toEqual([
      'privacy.package',
      'privacy.transition',
    ]);

    const seq = sequencerConnection(sequencerUrl(), 1);
    try {
      while ((await sequenceBatch(seq)).appended > 0);
      await checkpointIfDue(seq, { signer, origin: ORIGIN, minIntervalMs: 0, force: true });
    } finally {
      await seq.end();
    }
    const { default: pg } = await import('postgres');
    const reader = pg(process.env.DATABASE_URL!, { max: 2, onnotice: () => {} });
    try {
      const result = await verifyAuditLog({
        sql: reader,
        trusted: [{ key: verifierKeyFor(signer) }],
        origin: ORIGIN,
      });
      expect(result).toMatchObject({ ok: true, problems: [] });
    } finally {
      await reader.end();
    }
  }, 300_000);
});
