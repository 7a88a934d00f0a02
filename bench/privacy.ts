import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import postgres from 'postgres';
import { closeDb } from '#app/db/client.server.ts';
import { job } from '#app/modules/actor.ts';
import { encryptField, unwrapDataKey } from '#app/modules/crypto/envelope.server.ts';
import { setKeyRing, versioned, type KeyRing } from '#app/modules/crypto/keys.server.ts';
import { createRequest, moveRequest } from '#app/modules/privacy/requests.server.ts';
import { runWork } from '#app/modules/privacy/work.server.ts';
import { seedProductData } from '#app/modules/seed/seed.server.ts';
import { measureErasure } from './privacy-erase.ts';
import { log } from './support/database.ts';
import { benchScratch } from './support/scratch.ts';

// Privacy requests carried out, against the raw PostgreSQL limit in the same run.
// - Export: the access package of a user with 100,000 messages (--quick: 20,000), built, sealed
//   and stored as the privacy.work job does it (`export_s`), against `COPY (the same messages)
//   TO STDOUT` piped through the same compression, raw deflate at level 6 as yazl uses (`copy_s`).
// - Memory: the peak RSS of a whole export at 10,000 and at 100,000 messages (--quick: 2,000 and
//   20,000), each in a child process of its own so the two do not share a heap
//   (CUSTODIAN_BENCH_MEMORY=1: each child also prints its peaks of heap, external and buffers).
// - Erasure (bench/privacy-erase.ts): the exported user erased through the job (`erase_s`)
//   against the same rows of the user whose export was measured for memory, in one plain DELETE
//   per table (`delete_s`); where the erasure's time goes (`erase_steps`, `erase_fixed_s`), and
//   the floor of its batching: a fourth user's same rows deleted in the erasure's batches alone
//   (`batches_s`).
// Its own data folder, database and logins, removed at the end (bench/support/scratch.ts): a
// console running beside it is not touched. Last line of stdout: one JSON object.

const quick = process.argv.includes('--quick');
const BIG = quick ? 20_000 : 100_000;
const SMALL = quick ? 2_000 : 10_000;
/** Below the 100k export's uncapped heap peak (about 107 MB), above the 10k one's (about 55 MB). */
const HEAP_CAP_MB = 80;
const CONVERSATIONS = 50;
const PRODUCT = job('bench: product');

process.env.NODE_ENV ||= 'production';

// One ring for the parent and its children (the bench's own throwaway keys).
const ring: KeyRing = {
  master: versioned(Buffer.alloc(32, 7)),
  previousMasters: [],
  index: versioned(Buffer.alloc(32, 8)),
};
setKeyRing(ring);

const mb = (kilobytes: number) => Math.round(kilobytes / 1024);
const seconds = (ms: number) => Number((ms / 1000).toFixed(2));

/** `messages` messages of plausible length for `user`, each sealed under its key and row. */
async function insertHistory(owner: postgres.Sql, user: string, messages: number) {
  const [k] = await owner<{ key_version: number; master_key_id: string; wrapped_key: Buffer }[]>`
    select key_version, master_key_id, wrapped_key from product.user_keys where user_id = ${user}`;
  const key = unwrapDataKey(
    {
      userId: user,
      keyVersion: k!.key_version,
      masterKeyId: k!.master_key_id,
      wrappedKey: k!.wrapped_key,
    },
    ring,
  );
  const convIds = Array.from({ length: CONVERSATIONS }, () => randomUUID());
  const titles = convIds.map((id, i) =>
    encryptField(key, 'conversations.title', id, `Conversation ${i}`).toString('hex'),
  );
  await owner`
    insert into product.conversations (id, user_id, title_enc, model, created_at, updated_at)
    select c.id, ${user}, decode(c.title, 'hex'), 'orca-2', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'
    from unnest(${convIds}::uuid[], ${titles}::text[]) as c(id, title)`;
  const text =
    'Could you explain how the retention policy applies to conversations older than a year, and what changes when I opt out of training? ';
  for (let start = 0; start < messages; start += 20_000) {
    const n = Math.min(20_000, messages - start);
    const ids = Array.from({ length: n }, () => randomUUID());
    const sealed = ids.map((id, i) =>
      encryptField(
        key,
        'messages.content',
        id,
        `${text.slice(0, 40 + ((start + i) % 90))} ${start + i}`,
      ).toString('hex'),
    );
    await owner`
      insert into product.messages (id, user_id, conversation_id, role, content_enc, token_count, created_at)
      select m.id, ${user}, (${convIds}::uuid[])[1 + (g.i % ${CONVERSATIONS}::int)],
             case when g.i % 2 = 0 then 'user'::product.message_role else 'assistant'::product.message_role end,
             decode(m.sealed, 'hex'), 20 + g.i % 400,
             timestamptz '2026-01-01T00:00:00Z' + make_interval(secs => g.i)
      from unnest(${ids}::uuid[], ${sealed}::text[]) with ordinality as m(id, sealed, i)
      join generate_series(${start + 1}::int, ${start + n}::int) as g(i) on g.i = m.i + ${start}::int`;
  }
}

/** Receives a request as the product would and starts it: the work then runs on runWork(). */
async function processingRequest(userId: string): Promise<string> {
  const created = await createRequest({ userId, type: 'access' }, PRODUCT);
  await moveRequest(created.id, { kind: 'start' }, PRODUCT);
  return created.id;
}

/** The child: one export of `userId`, then its peak resident set. */
async function child(userId: string) {
  const requestId = await processingRequest(userId);
  // CUSTODIAN_BENCH_PROFILE=export writes this child's CPU profile to bench-export-<pid>.cpuprofile.
  const session = process.env.CUSTODIAN_BENCH_PROFILE === 'export' ? new Session() : null;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k]);
  }, 20);
  const outcome = await runWork(requestId);
  clearInterval(sampler);
  if (process.env.CUSTODIAN_BENCH_MEMORY) {
    log(
      `memory peaks (MB): ${JSON.stringify(Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, Math.round(v / 1048576)])))}`,
    );
  }
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(`bench-export-${process.pid}.cpuprofile`, JSON.stringify(profile));
  }
  if (outcome !== 'done') throw new Error(`the export ended ${outcome}`);
  process.stdout.write(`${JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS })}\n`);
  await closeDb();
}

function rssOf(userId: string, nodeArgs: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      [...nodeArgs, '--import', 'tsx', 'bench/privacy.ts', '--child-rss', userId],
      { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the memory child exited ${code}`));
      const last = out.trim().split('\n').pop()!;
      resolve((JSON.parse(last) as { maxRssKb: number }).maxRssKb);
    });
  });
}

/** COPY of the same messages, through raw deflate at yazl's level: the limit. */
async function copyLimit(url: string, userId: string): Promise<{ ms: number; bytes: number }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    if (!/^[0-9a-f-]{36}$/.test(userId)) throw new Error('not a user id');
    const started = performance.now();
    let bytes = 0;
    const readable = await sql
      .unsafe(
        `copy (select m.id, m.conversation_id, m.role, m.content_enc, m.token_count, m.created_at
               from product.messages m where m.user_id = '${userId}'
               order by m.conversation_id, m.created_at, m.id) to stdout`,
      )
      .readable();
    await pipeline(
      readable,
      zlib.createDeflateRaw({ level: 6 }),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done();
        },
      }),
    );
    return { ms: performance.now() - started, bytes };
  } finally {
    await sql.end();
  }
}

async function main() {
  // The certificate's signature: a throwaway key (production mode takes it from the environment).
  process.env.CUSTODIAN_AUDIT_SIGNING_KEY = generateKeyPairSync('ed25519')
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const scratch = await benchScratch('privacy', closeDb);
  try {
    const ownerUrl = scratch.ownerUrl;
    process.env.DATABASE_URL = scratch.appUrl;
    log('bench privacy: seeding four users…');
    await seedProductData(ownerUrl, ring, {
      users: 4,
      messagesPerUser: 1,
      eventsPerUser: 20,
      seed: 1,
      append: false,
      workers: 0,
    });
    const owner = postgres(ownerUrl, { max: 2, onnotice: () => {} });
    const [big, small, bigForRss, batched] = await owner<{ id: string }[]>`
      select id from product.users order by created_at, id`;
    log(`bench privacy: ${BIG} messages for three users, ${SMALL} for one…`);
    await insertHistory(owner, big!.id, BIG);
    await insertHistory(owner, bigForRss!.id, BIG);
    await insertHistory(owner, batched!.id, BIG);
    await insertHistory(owner, small!.id, SMALL);
    await owner`vacuum analyze product.messages`;
    await owner.end();

    log('bench privacy: the limit, COPY through deflate (once to warm, once measured)…');
    await copyLimit(scratch.appUrl, big!.id);
    const copy = await copyLimit(scratch.appUrl, big!.id);

    log('bench privacy: the export…');
    const requestId = await processingRequest(big!.id);
    const started = performance.now();
    const outcome = await runWork(requestId);
    const exportMs = performance.now() - started;
    if (outcome !== 'done') throw new Error(`the export ended ${outcome}`);

    log('bench privacy: peak memory of an export, each size in its own process…');
    const rssSmall = await rssOf(small!.id);
    const rssBig = await rssOf(bigForRss!.id);
    // The same export with V8's heap capped: if it completes, what the 100k run held beyond the
    // 10k run was garbage V8 had not yet collected, not data the export keeps (a second package
    // of the erased user, so the erasure arm pays for it, not the plain delete).
    log(`bench privacy: the big export again, heap capped at ${HEAP_CAP_MB} MB…`);
    const rssCapped = await rssOf(big!.id, [`--max-old-space-size=${HEAP_CAP_MB}`]).catch(
      (error: unknown) => {
        log(`bench privacy: the capped export failed: ${(error as Error).message}`);
        return null;
      },
    );

    // The exported user and the one exported for memory hold the same rows, an export package
    // each: one is erased, the other deleted plainly.
    const erasure = await measureErasure({
      ownerUrl,
      erased: big!.id,
      deleted: bigForRss!.id,
      batched: batched!.id,
    });

    const figures = {
      bench: 'privacy',
      messages: BIG,
      export_s: seconds(exportMs),
      copy_s: seconds(copy.ms),
      export_ratio: Number((exportMs / copy.ms).toFixed(2)),
      copy_deflated_mb: Number((copy.bytes / 1_048_576).toFixed(1)),
      rss_small_messages: SMALL,
      rss_10k_mb: mb(rssSmall),
      rss_100k_mb: mb(rssBig),
      rss_delta_mb: mb(rssBig - rssSmall),
      heap_cap_mb: HEAP_CAP_MB,
      rss_100k_heap_capped_mb: rssCapped === null ? null : mb(rssCapped),
      ...erasure,
    };
    await scratch.cleanup();
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await scratch.cleanup();
  }
}

const childAt = process.argv.indexOf('--child-rss');
(childAt >= 0 ? child(process.argv[childAt + 1]!) : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
