import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable, type PassThrough } from 'node:stream';
import { and, asc, eq, lte, sql } from 'drizzle-orm';
import yazl from 'yazl';
import { z } from 'zod';
import { env } from '#app/config.server.ts';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { exportChunks, exportPackages, privacyRequests } from '#app/db/schema.ts';
import { job, type Actor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import type { DataKey } from '#app/modules/crypto/envelope.server.ts';
import {
  openBytesForUser,
  requireDataKey,
  sealBytesForUser,
} from '#app/modules/users/data.server.ts';
import {
  withProductSnapshot,
  type ProductSnapshot,
  type SnapshotCounts,
} from '#app/modules/users/snapshot.server.ts';
import { csvRow } from '#app/utils/csv.ts';
import { GoneError, NotFoundError } from '#app/utils/errors.ts';
import { accessHistoryBatches, type AccessHistoryItem } from './access-history.server.ts';
import { EXPORT_FORMAT, exportSchemaText } from './export-schema.ts';
import { queueUserMessage } from './outbox.server.ts';
import { art15Now } from './record.server.ts';
import { informationText, type InformationSection } from './record.ts';
import { moveRequest } from './requests.server.ts';
import type { WorkContext } from './work.server.ts';

// Access and portability packages (ADR 025). The ZIP is written by yazl from async generators
// that read the user's data in keyset batches inside one snapshot (users/snapshot.server.ts); its
// bytes are hashed as they pass and stored in chunks sealed under the user's data key, bound to
// the package and the chunk's index. Nothing holds the whole package, or all of a history, in
// memory. A run starts by deleting what an earlier, killed run left (its package is never ready:
// "ready" is set in the transaction that completes the request), so running again from the start
// is always safe.

/** Stored chunk size: a few round trips per 10 MB, and a bounded buffer. */
export const CHUNK_BYTES = 1 << 20;
const CHUNK_FIELD = 'export_chunks.data';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const PACKAGE_FILES = [
  'index.html',
  'data.json',
  'data.schema.json',
  'conversations.json',
  'conversations.csv',
  'access-history.json',
  'information.txt',
  'manifest.json',
] as const;

export interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
  /** Records in the file (messages, events…), where it has any. */
  rows: number;
}

export interface Manifest {
  format: string;
  packageId: string;
  requestId: string;
  generatedAt: string;
  counts: SnapshotCounts & { accessHistory: number };
  /** Every file of the package but manifest.json itself. */
  files: ManifestFile[];
}

const hashToken = (token: string) => createHash('sha256').update(token).digest();
const chunkRow = (packageId: string, idx: number) => `${packageId}#${idx}`;
const json = (value: unknown) => JSON.stringify(value);

/** The address of a package's download link. */
export function downloadLink(token: string): string {
  const { CUSTODIAN_PUBLIC_URL, HOST, PORT } = env();
  return `${CUSTODIAN_PUBLIC_URL ?? `http://${HOST}:${PORT}`}/export/${token}`;
}

// --- building ----------------------------------------------------------------------------------

/** The work of an access or portability request (the privacy.work job's handler). */
export async function buildPackage(ctx: WorkContext): Promise<void> {
  const at = now();
  const packageId = randomUUID();
  // What an earlier run left: never ready (see above), so never seen by anyone.
  await getDb().delete(exportPackages).where(eq(exportPackages.requestId, ctx.requestId));
  await getDb()
    .insert(exportPackages)
    .values({
      id: packageId,
      requestId: ctx.requestId,
      userId: ctx.userId,
      state: 'building',
      fileName: `custodian-${ctx.type}-${ctx.requestId.slice(0, 8)}-${at.toISOString().slice(0, 10)}.zip`,
      createdAt: at,
    });
  const built = await withProductSnapshot(ctx.userId, async (snapshot) => {
    const counts = await snapshot.counts();
    const progress = progressOf(ctx, counts);
    await progress.report('starting', 0);
    const b: Build = {
      snapshot,
      ctx,
      at,
      progress,
      counts,
      requests: await requestFacts(ctx.userId),
      information: await art15Now(),
      rows: new Map(),
      files: [],
    };
    let manifest: Manifest | undefined;
    const sources: Record<(typeof PACKAGE_FILES)[number], () => AsyncGenerator<string>> = {
      'index.html': () => indexHtml(b),
      'data.json': () => dataJson(b),
      'data.schema.json': async function* () {
        yield exportSchemaText();
      },
      'conversations.json': () => conversationsJson(b),
      'conversations.csv': () => conversationsCsv(b),
      'access-history.json': () => accessHistoryJson(b),
      'information.txt': async function* () {
        yield informationText(b.information);
      },
      'manifest.json': async function* () {
        manifest = {
          format: EXPORT_FORMAT,
          packageId,
          requestId: ctx.requestId,
          generatedAt: at.toISOString(),
          counts: { ...counts, accessHistory: b.rows.get('access-history.json') ?? 0 },
          files: [...b.files],
        };
        yield `${JSON.stringify(manifest, null, 2)}\n`;
      },
    };
    // yazl writes the entries one after the other, each only once the one before has ended:
    // index.html lists the other files' hashes, so it comes after them, and the manifest last.
    const order = PACKAGE_FILES.filter((f) => f !== 'index.html' && f !== 'manifest.json');
    function zip(name: (typeof PACKAGE_FILES)[number]) {
      archive.addReadStreamLazy(name, { mtime: at }, (cb) => {
        const stream = Readable.from(hashed(b, name, sources[name]));
        // yazl pipes the entry without listening for its errors: a failed read must end the
        // archive (and so this run), not the process.
        stream.on('error', (error) => (archive.outputStream as PassThrough).destroy(error));
        cb(null, stream);
      });
    }
    const archive = new yazl.ZipFile();
    for (const name of [...order, 'index.html', 'manifest.json'] as const) zip(name);
    archive.end();
    const stored = await storeChunks(archive.outputStream, packageId, snapshot.key);
    if (!manifest) throw new Error('The archive ended before its manifest');
    return {
      ...stored,
      manifest,
      rows: b.files.reduce((n, f) => n + f.rows, 0),
      progress,
    };
  });
  if (!built) throw new Error('The user no longer exists');
  const token = randomBytes(32).toString('base64url');
  await getDb().transaction(async (tx) => {
    // Renews the lease, or throws LeaseLostError when the request is no longer this run's.
    await built.progress.report('stored', built.progress.total, tx);
    const readyAt = now();
    const expiresAt = new Date(readyAt.getTime() + env().CUSTODIAN_EXPORT_TTL_DAYS * 86_400_000);
    const updated = await tx
      .update(exportPackages)
      .set({
        state: 'ready',
        tokenHash: hashToken(token),
        bytes: built.bytes,
        sha256: built.sha256,
        chunks: built.chunks,
        manifest: built.manifest,
        readyAt,
        expiresAt,
      })
      .where(and(eq(exportPackages.id, packageId), eq(exportPackages.state, 'building')))
      .returning({ id: exportPackages.id });
    if (updated.length === 0) throw new Error('The package was removed while it was built');
    await recordAudit(
      ctx.actor,
      {
        action: 'privacy.package',
        outcome: 'allowed',
        userId: ctx.userId,
        privacyRequestId: ctx.requestId,
        details: {
          files: built.manifest.files.length + 1,
          bytes: built.bytes,
          rows: built.rows,
          sha256: built.sha256,
        },
      },
      tx,
    );
    await queueUserMessage(tx, {
      userId: ctx.userId,
      requestId: ctx.requestId,
      template: 'completion',
      vars: { link: downloadLink(token), expiresAt: expiresAt.toISOString() },
    });
    await moveRequest(ctx.requestId, { kind: 'complete' }, ctx.actor, { tx });
  });
}

interface Progress {
  total: number;
  add(rows: number, step: string): Promise<void>;
  report(step: string, done: number, tx?: Tx): Promise<void>;
}

/** One run's state, handed to each file's writer. */
interface Build {
  snapshot: ProductSnapshot;
  ctx: WorkContext;
  at: Date;
  progress: Progress;
  counts: SnapshotCounts;
  requests: RequestFact[];
  /** The Art. 15 information: the record of processing's current version (ADR 036). */
  information: InformationSection[];
  /** Records written per file, as the writers go. */
  rows: Map<string, number>;
  /** The files finished so far, in the archive's order. */
  files: ManifestFile[];
}

/**
 * Rows done of the rows every pass writes, across files: data.json, conversations.json,
 * conversations.csv and index.html each carry every message; data.json and index.html every
 * payment, usage event and preference change; the two JSON files every conversation. Each report
 * renews the work's lease.
 */
function progressOf(ctx: WorkContext, counts: SnapshotCounts): Progress {
  const total =
    4 * counts.messages +
    2 * (counts.usageEvents + counts.payments + counts.preferenceChanges) +
    2 * counts.conversations;
  let done = 0;
  let reportedAt = 0;
  return {
    total,
    async add(rows, step) {
      done = Math.min(total, done + rows);
      // One round trip a second at most: far inside the lease, and a small history is not
      // slowed by a report per batch.
      const at = performance.now();
      if (at - reportedAt < PROGRESS_EVERY_MS && done < total) return;
      reportedAt = at;
      await ctx.progress(step, done, total);
    },
    report: (step, at, tx) => ctx.progress(step, at, total, tx),
  };
}

const PIECE_BYTES = 64 * 1024;
const PROGRESS_EVERY_MS = 1_000;

/** The file's text as byte pieces, hashed and measured as they pass; listed in `b.files` at its end. */
async function* hashed(
  b: Build,
  name: string,
  source: () => AsyncGenerator<string>,
): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let bytes = 0;
  let pending = '';
  const emit = () => {
    const buffer = Buffer.from(pending, 'utf8');
    pending = '';
    hash.update(buffer);
    bytes += buffer.length;
    return buffer;
  };
  for await (const piece of source()) {
    pending += piece;
    if (pending.length >= PIECE_BYTES) yield emit();
  }
  if (pending) yield emit();
  if (name !== 'manifest.json') {
    b.files.push({ name, bytes, sha256: hash.digest('hex'), rows: b.rows.get(name) ?? 0 });
  }
}

/** Consumes the archive: hashed, cut into chunks, each sealed and stored as it fills. */
async function storeChunks(output: NodeJS.ReadableStream, packageId: string, key: DataKey) {
  const hash = createHash('sha256');
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  let chunks = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const data = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const idx = chunks++;
    await getDb()
      .insert(exportChunks)
      .values({
        packageId,
        idx,
        data: sealBytesForUser(key, CHUNK_FIELD, chunkRow(packageId, idx), data),
      });
  };
  for await (const piece of output as AsyncIterable<Buffer>) {
    hash.update(piece);
    bytes += piece.length;
    pending.push(piece);
    pendingBytes += piece.length;
    if (pendingBytes >= CHUNK_BYTES) await flush();
  }
  await flush();
  return { bytes, chunks, sha256: hash.digest('hex') };
}

// --- serving -----------------------------------------------------------------------------------

/** What a download hands out: the archive as a stream, and what its headers say. */
export interface OpenedPackage {
  stream: ReadableStream<Uint8Array>;
  fileName: string;
  bytes: number;
  sha256: string;
}

type PackageRow = typeof exportPackages.$inferSelect;

/**
 * The package a user's link leads to, its download audited (committed before a byte is sent):
 * NotFoundError for a token nobody holds, GoneError once it expired (its chunks then deleted).
 */
export async function openExportDownload(token: string, actor: Actor): Promise<OpenedPackage> {
  if (!TOKEN.test(token)) throw new NotFoundError('No package has this link');
  const [row] = await getDb()
    .select()
    .from(exportPackages)
    .where(eq(exportPackages.tokenHash, hashToken(token)));
  if (!row) throw new NotFoundError('No package has this link');
  return open(row, actor, 'link');
}

/**
 * The package of a completed access or portability request, for the service API's
 * `GET /api/v1/privacy-requests/:id/export` (the product hands it to its user); the download is
 * audited. NotFoundError before the request completed, GoneError once the package expired.
 */
export async function openExportPackage(requestId: string, actor: Actor): Promise<OpenedPackage> {
  if (!z.uuid().safeParse(requestId).success) throw new NotFoundError('No such privacy request');
  const [row] = await getDb()
    .select()
    .from(exportPackages)
    .where(
      and(eq(exportPackages.requestId, requestId), sql`${exportPackages.state} <> 'building'`),
    );
  if (!row) throw new NotFoundError('This request has no package (yet)');
  return open(row, actor, 'api');
}

async function open(row: PackageRow, actor: Actor, via: 'link' | 'api'): Promise<OpenedPackage> {
  if (row.state === 'expired' || !row.expiresAt || row.expiresAt.getTime() <= now().getTime()) {
    await expirePackage(row.id);
    throw new GoneError('This package has expired and was deleted');
  }
  let key: DataKey;
  try {
    key = await requireDataKey(row.userId);
  } catch (error) {
    if (error instanceof GoneError) throw new GoneError('This package was erased');
    throw error;
  }
  await getDb().transaction(async (tx) => {
    await tx
      .update(exportPackages)
      .set({ downloads: sql`${exportPackages.downloads} + 1` })
      .where(eq(exportPackages.id, row.id));
    await recordAudit(
      actor,
      {
        action: 'privacy.download',
        outcome: 'allowed',
        userId: row.userId,
        privacyRequestId: row.requestId,
        details: { artifact: 'export', via },
      },
      tx,
    );
  });
  let idx = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (idx >= row.chunks) {
        controller.close();
        return;
      }
      const [chunk] = await getDb()
        .select({ data: exportChunks.data })
        .from(exportChunks)
        .where(and(eq(exportChunks.packageId, row.id), eq(exportChunks.idx, idx)));
      if (!chunk) {
        controller.error(new GoneError('This package was deleted while it was read'));
        return;
      }
      controller.enqueue(openBytesForUser(key, CHUNK_FIELD, chunkRow(row.id, idx), chunk.data));
      idx++;
    },
  });
  return { stream, fileName: row.fileName, bytes: row.bytes, sha256: row.sha256 ?? '' };
}

// --- expiry and erasure ------------------------------------------------------------------------

/** Deletes one package's chunks and marks it expired (its link then answers 410); audited once. */
async function expirePackage(packageId: string): Promise<boolean> {
  return getDb().transaction(async (tx) => {
    const [row] = await tx
      .update(exportPackages)
      .set({ state: 'expired', expiredAt: now() })
      .where(and(eq(exportPackages.id, packageId), eq(exportPackages.state, 'ready')))
      .returning({ userId: exportPackages.userId, requestId: exportPackages.requestId });
    await tx.delete(exportChunks).where(eq(exportChunks.packageId, packageId));
    if (!row) return false;
    await recordAudit(
      job(EXPIRY_JOB),
      {
        action: 'privacy.package_delete',
        outcome: 'allowed',
        userId: row.userId,
        privacyRequestId: row.requestId,
        details: { reason: 'expired' },
      },
      tx,
    );
    return true;
  });
}

export const EXPIRY_JOB = 'privacy.export-expiry';

/** Deletes every package past its expiry (the privacy.export-expiry job); how many. */
export async function expireExportPackages(): Promise<number> {
  const due = await getDb()
    .select({ id: exportPackages.id })
    .from(exportPackages)
    .where(and(eq(exportPackages.state, 'ready'), lte(exportPackages.expiresAt, now())))
    .limit(1_000);
  let expired = 0;
  for (const { id } of due) if (await expirePackage(id)) expired++;
  return expired;
}

/**
 * Removes every package of a user, rows and chunks (for the erasure, in its transaction). The
 * chunks were unreadable already once the user's key is destroyed; this removes the bytes too.
 */
export async function deleteExportPackagesOf(tx: Tx, userId: string): Promise<number> {
  const removed = await tx
    .delete(exportPackages)
    .where(eq(exportPackages.userId, userId))
    .returning({ id: exportPackages.id });
  return removed.length;
}

/** What the officer sees of a request's package: its facts and manifest, never its contents. */
export interface PackageSummary {
  state: 'building' | 'ready' | 'expired';
  fileName: string;
  bytes: number;
  sha256: string | null;
  chunks: number;
  createdAt: Date;
  readyAt: Date | null;
  expiresAt: Date | null;
  expiredAt: Date | null;
  downloads: number;
  manifest: Manifest | null;
}

/** The summary as the request page shows it: dates as text, the manifest's files only. */
export async function packageView(requestId: string) {
  const pkg = await packageOfRequest(requestId);
  if (!pkg) return null;
  return {
    state: pkg.state,
    bytes: pkg.bytes,
    sha256: pkg.sha256,
    createdAt: pkg.createdAt.toISOString(),
    readyAt: pkg.readyAt?.toISOString() ?? null,
    expiresAt: pkg.expiresAt?.toISOString() ?? null,
    expiredAt: pkg.expiredAt?.toISOString() ?? null,
    downloads: pkg.downloads,
    files: pkg.manifest?.files ?? [],
  };
}

export async function packageOfRequest(requestId: string): Promise<PackageSummary | null> {
  if (!z.uuid().safeParse(requestId).success) return null;
  const [row] = await getDb()
    .select({
      state: exportPackages.state,
      fileName: exportPackages.fileName,
      bytes: exportPackages.bytes,
      sha256: exportPackages.sha256,
      chunks: exportPackages.chunks,
      createdAt: exportPackages.createdAt,
      readyAt: exportPackages.readyAt,
      expiresAt: exportPackages.expiresAt,
      expiredAt: exportPackages.expiredAt,
      downloads: exportPackages.downloads,
      manifest: exportPackages.manifest,
    })
    .from(exportPackages)
    .where(eq(exportPackages.requestId, requestId));
  if (!row) return null;
  return {
    ...row,
    state: row.state as PackageSummary['state'],
    manifest: (row.manifest as Manifest | null) ?? null,
  };
}

// --- the files ---------------------------------------------------------------------------------

interface RequestFact {
  id: string;
  type: string;
  state: string;
  regime: string;
  receivedAt: string;
  dueDay: string;
  completedAt: string | null;
  purposes: string[];
}

/** The user's privacy requests: their non-personal facts (no details, no notes). */
async function requestFacts(userId: string): Promise<RequestFact[]> {
  const rows = await getDb()
    .select({
      id: privacyRequests.id,
      type: privacyRequests.type,
      state: privacyRequests.state,
      regime: privacyRequests.regime,
      receivedAt: privacyRequests.receivedAt,
      dueDay: privacyRequests.dueDay,
      completedAt: privacyRequests.completedAt,
      purposes: privacyRequests.purposes,
    })
    .from(privacyRequests)
    .where(eq(privacyRequests.userId, userId))
    .orderBy(asc(privacyRequests.receivedAt), asc(privacyRequests.id))
    .limit(10_000);
  return rows.map((r) => ({
    ...r,
    receivedAt: r.receivedAt.toISOString(),
    completedAt: r.completedAt?.toISOString() ?? null,
  }));
}

function counted(b: Build, name: string, rows: number) {
  b.rows.set(name, (b.rows.get(name) ?? 0) + rows);
}

/** `[a,b,…]` of every batch's items, as pieces; counts them as rows of `name`, reports progress. */
async function* jsonArray<T>(
  b: Build,
  name: string,
  batches: AsyncIterable<T[]>,
  progress = true,
): AsyncGenerator<string> {
  yield '[';
  let first = true;
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    yield `${first ? '' : ','}${batch.map(json).join(',')}`;
    first = false;
    counted(b, name, batch.length);
    await b.progress.add(progress ? batch.length : 0, name);
  }
  yield ']';
}

/** Every conversation with its messages (data.json and conversations.json share it). */
async function* conversationsArray(b: Build, name: string): AsyncGenerator<string> {
  yield '[';
  let first = true;
  for await (const batch of b.snapshot.conversations()) {
    for (const conversation of batch) {
      yield `${first ? '' : ','}${json(conversation).slice(0, -1)},"messages":`;
      first = false;
      yield* jsonArray(b, name, b.snapshot.messages(conversation.id));
      yield '}';
    }
    await b.progress.add(batch.length, name);
  }
  yield ']';
}

async function* dataJson(b: Build): AsyncGenerator<string> {
  const name = 'data.json';
  const head = {
    format: EXPORT_FORMAT,
    generatedAt: b.at.toISOString(),
    request: { id: b.ctx.requestId, type: b.ctx.type },
    profile: await b.snapshot.profile(),
  };
  yield `${json(head).slice(0, -1)},"conversations":`;
  yield* conversationsArray(b, name);
  yield ',"payments":';
  yield* jsonArray(b, name, b.snapshot.payments());
  yield ',"usageEvents":';
  yield* jsonArray(b, name, b.snapshot.usage());
  yield `,"preferences":{"current":${json(await b.snapshot.preferences())},"history":`;
  yield* jsonArray(b, name, b.snapshot.preferenceChanges());
  yield `},"privacyRequests":${json(b.requests)}}\n`;
}

async function* conversationsJson(b: Build): AsyncGenerator<string> {
  yield `{"format":${json(EXPORT_FORMAT)},"conversations":`;
  yield* conversationsArray(b, 'conversations.json');
  yield '}\n';
}

const CSV_HEADER = [
  'conversation_id',
  'conversation_title',
  'model',
  'message_id',
  'role',
  'created_at',
  'token_count',
  'content',
];

/** One line per message; every cell through the console's one CSV writer (formula-safe). */
async function* conversationsCsv(b: Build): AsyncGenerator<string> {
  const name = 'conversations.csv';
  // A byte order mark: spreadsheets then read the file as UTF-8.
  yield `\uFEFF${csvRow(CSV_HEADER)}`;
  for await (const batch of b.snapshot.conversations()) {
    for (const c of batch) {
      for await (const messages of b.snapshot.messages(c.id)) {
        let text = '';
        for (const m of messages) {
          text += csvRow([
            c.id,
            c.title,
            c.model,
            m.id,
            m.role,
            m.createdAt,
            m.tokenCount,
            m.content,
          ]);
        }
        yield text;
        counted(b, name, messages.length);
        await b.progress.add(messages.length, name);
      }
    }
  }
}

async function* accessHistoryJson(b: Build): AsyncGenerator<string> {
  yield '{"items":';
  yield* jsonArray<AccessHistoryItem>(
    b,
    'access-history.json',
    accessHistoryBatches(b.ctx.userId),
    false,
  );
  yield '}\n';
}

// --- index.html --------------------------------------------------------------------------------

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML content and quoted attributes. */
export function escapeHtml(value: string | number | boolean | null | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
.message{border-left:3px solid #ccc;margin:.5rem 0;padding:.25rem .75rem}.message p{white-space:pre-wrap;margin:.25rem 0}
.meta{color:#555;font-size:.85em}h2{border-bottom:1px solid #ccc;margin-top:2rem}`;

const row = (cells: (string | number | null)[], tag = 'td') =>
  `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;

/**
 * The human-readable copy: every value escaped (the demo data carries script tags on purpose),
 * no script, no external asset, and a policy that forbids both should escaping ever fail.
 */
async function* indexHtml(b: Build): AsyncGenerator<string> {
  const name = 'index.html';
  const { snapshot, counts } = b;
  const profile = await snapshot.profile();
  yield `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<title>Your data</title><style>${STYLE}</style></head><body>
<h1>Your data</h1>
<p>A copy of everything the service holds about you, made ${escapeHtml(b.at.toISOString())}. The same data, for programs, is in <code>data.json</code> (described by <code>data.schema.json</code>); your conversations are also in <code>conversations.json</code> and <code>conversations.csv</code>. <code>manifest.json</code> lists every file with its size and SHA-256.</p>
<h2>Profile</h2><table>
${row(['Name', profile.displayName])}${row(['Email', profile.email])}${row(['Phone', profile.phone ?? '—'])}
${row(['Country', profile.country])}${row(['Language', profile.locale])}${row(['Plan', profile.plan])}
${row(['Status', profile.status])}${row(['Account created', profile.createdAt])}${row(['Last active', profile.lastActiveAt ?? '—'])}
</table>
<h2>In numbers</h2><table>
${row(['Conversations', counts.conversations])}${row(['Messages', counts.messages])}${row(['Payment methods', counts.payments])}
${row(['Usage events', counts.usageEvents])}${row(['Preference changes', counts.preferenceChanges])}
</table>
<h2>Files</h2><table>${row(['File', 'Bytes', 'SHA-256'], 'th')}${b.files.map((f) => row([f.name, f.bytes, f.sha256])).join('')}</table>
<h2>Conversations</h2>\n`;
  for await (const batch of snapshot.conversations()) {
    for (const c of batch) {
      yield `<section><h3>${escapeHtml(c.title)}</h3><p class="meta">${escapeHtml(c.model)} · started ${escapeHtml(c.createdAt)}</p>\n`;
      for await (const messages of snapshot.messages(c.id)) {
        yield messages
          .map(
            (m) =>
              `<div class="message"><span class="meta">${escapeHtml(m.role)} · ${escapeHtml(m.createdAt)}</span><p>${escapeHtml(m.content)}</p></div>\n`,
          )
          .join('');
        counted(b, name, messages.length);
        await b.progress.add(messages.length, name);
      }
      yield '</section>\n';
    }
  }
  yield `<h2>Payment methods</h2><table>${row(['Provider', 'Card', 'Last four', 'Expires', 'Added'], 'th')}`;
  for await (const batch of snapshot.payments()) {
    yield batch
      .map((p) =>
        row([p.provider, p.cardBrand, p.last4, `${p.expMonth}/${p.expYear}`, p.createdAt]),
      )
      .join('');
    await b.progress.add(batch.length, name);
  }
  yield `</table><h2>Usage</h2><table>${row(['When', 'What', 'Model', 'Tokens', 'Country'], 'th')}`;
  for await (const batch of snapshot.usage()) {
    yield batch
      .map((u) => row([u.occurredAt, u.kind, u.model ?? '', u.tokens, u.country]))
      .join('');
    await b.progress.add(batch.length, name);
  }
  yield `</table><h2>Data-use preferences</h2><table>${row(['Purpose', 'Allowed', 'Since'], 'th')}`;
  yield (await snapshot.preferences())
    .map((p) => row([p.purpose, p.allowed ? 'yes' : 'no', p.updatedAt]))
    .join('');
  yield `</table><h3>History</h3><table>${row(['When', 'Purpose', 'Allowed', 'Set by'], 'th')}`;
  for await (const batch of snapshot.preferenceChanges()) {
    yield batch
      .map((p) => row([p.changedAt, p.purpose, p.allowed ? 'yes' : 'no', p.source]))
      .join('');
    await b.progress.add(batch.length, name);
  }
  yield `</table><h2>Your privacy requests</h2><table>${row(['Received', 'Type', 'State', 'Due', 'Completed'], 'th')}`;
  yield b.requests
    .map((r) => row([r.receivedAt, r.type, r.state, r.dueDay, r.completedAt ?? '']))
    .join('');
  yield `</table><h2>When our staff looked at your data</h2>
<p>Each time a staff member looked at a category of your data, and why. Staff see your data only with a time-limited grant approved by a second person.</p>
<table>${row(['When', 'What', 'Category', 'Reason', 'Emergency access'], 'th')}`;
  for await (const batch of accessHistoryBatches(b.ctx.userId)) {
    yield batch
      .map((a) =>
        row([a.at, a.action, a.category ?? '', a.reasonCode ?? '', a.breakGlass ? 'yes' : 'no']),
      )
      .join('');
    await b.progress.add(0, name);
  }
  yield '</table>\n';
  for (const section of b.information) {
    yield `<h2>${escapeHtml(section.heading)}</h2><ul>${section.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>\n`;
  }
  yield '</body></html>\n';
}
