import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import postgres from 'postgres';
import { now } from '#app/modules/clock.server.ts';
import {
  emailBlindIndex,
  encryptField,
  maskEmail,
  type DataKey,
} from '#app/modules/crypto/envelope.server.ts';
import type { KeyRing } from '#app/modules/crypto/keys.server.ts';
import { readTombstones, type Tombstones } from '#app/modules/privacy/tombstones.server.ts';
import { CopyWriter, SEED_TABLE_NAMES, type SeedTable } from './copy.ts';
import {
  blockCount,
  DATA_KEY_LENGTH,
  generateBlock,
  type BlockOutput,
  type GenerateParams,
  type PendingUsers,
} from './generate.server.ts';
import { BulkLoader } from './load.server.ts';
import { hashString, mix32 } from './prng.ts';
import type { WorkerRequest } from './worker.server.ts';

// Fills the product tables with realistic, deterministic demo data, fast enough for millions of
// users: worker threads generate and encrypt blocks of users, this thread makes the emails unique
// and streams every block into per-table COPYs (see docs/decisions/003-seed-bulk-load.md).

export interface SeedOptions {
  users: number;
  messagesPerUser: number;
  eventsPerUser: number;
  seed: number;
  append: boolean;
  log?: (line: string) => void;
  /** Generator threads; 0 generates on this thread. Default: the cores, for large seeds. */
  workers?: number;
  /** Drop and rebuild the indexes around the load. Default: for large loads only. */
  dropIndexes?: boolean;
}

export interface SeedResult {
  users: number;
  conversations: number;
  messages: number;
  events: number;
  payments: number;
  seconds: number;
}

export class SeedRefusedError extends Error {}

/**
 * The demo's activity per user on the first start: enough that most daily
 * analytics figures of the last 90 days rise well above their noise (ADR 029).
 */
export const DEMO_MESSAGES_PER_USER = 250;
export const DEMO_EVENTS_PER_USER = 20;

const LARGE_LOAD = 50_000;
const LARGE_VOLUME = 500_000;

/** Blind-index prefixes (64 bits) already taken: a compact open-addressing set. */
class EmailRegistry {
  private slots = new Uint32Array(2 << 16);
  private size = 0;

  add(index: Uint8Array): boolean {
    const view = Buffer.from(index.buffer, index.byteOffset, index.byteLength);
    const high = view.readUInt32LE(0);
    const low = view.readUInt32LE(4) || 1;
    if ((this.size + 1) * 2 > this.slots.length / 2) this.grow();
    return this.insert(high, low);
  }

  private insert(high: number, low: number): boolean {
    const mask = this.slots.length / 2 - 1;
    for (let slot = high & mask; ; slot = (slot + 1) & mask) {
      const h = this.slots[slot * 2]!;
      const l = this.slots[slot * 2 + 1]!;
      if (l === 0) {
        this.slots[slot * 2] = high;
        this.slots[slot * 2 + 1] = low;
        this.size++;
        return true;
      }
      if (h === high && l === low) return false;
    }
  }

  private grow() {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.insert(old[i]!, old[i + 1]!);
  }
}

/** Turns a block's pending users into users rows, each email made unique across the run. */
function usersRows(
  users: PendingUsers,
  ring: KeyRing,
  registry: EmailRegistry,
  out: CopyWriter,
  tombstones: Tombstones | null,
): Uint8Array {
  let headStart = 0;
  for (let k = 0; k < users.ids.length; k++) {
    const id = users.ids[k]!;
    const local = users.locals[k]!;
    const domain = users.domains[k]!;
    const offset = users.keys.byteOffset + k * DATA_KEY_LENGTH;
    const dataKey: DataKey = {
      userId: id,
      version: users.keyVersion,
      key: Buffer.from(users.keys.buffer, offset, DATA_KEY_LENGTH),
    };
    let email = `${local}@${domain}`;
    let index = emailBlindIndex(ring.index, email);
    for (let n = 2; !registry.add(index); n++) {
      email = `${local}${n}@${domain}`;
      index = emailBlindIndex(ring.index, email);
    }
    // An erased account is never brought back by a seed (its tombstone, ADR 026): the whole load
    // is refused and rolled back, not the one user skipped, so nobody mistakes the result.
    const erased = tombstones?.match(id, index);
    if (erased) {
      throw new SeedRefusedError(
        `user ${id} was erased (its ${erased === 'id' ? 'id' : 'email'} matches a tombstone): ` +
          'refusing to seed it again',
      );
    }
    const headEnd = users.headEnds[k]!;
    out
      .raw(users.heads.subarray(headStart, headEnd))
      .bytea(encryptField(dataKey, 'users.email', id, email))
      .bytea(index)
      .text(ring.index.id)
      .text(maskEmail(email))
      .end();
    headStart = headEnd;
  }
  return out.take();
}

/** Yields the run's blocks in order, generated here or by worker threads. */
async function* produceBlocks(
  params: GenerateParams,
  workers: number,
): AsyncGenerator<BlockOutput> {
  const total = blockCount(params);
  if (workers <= 0) {
    for (let index = 0; index < total; index++) yield generateBlock(params, index);
    return;
  }
  const pool = Array.from(
    { length: Math.min(workers, total) },
    () => new Worker(new URL('./worker.mjs', import.meta.url)),
  );
  const results = new Map<number, BlockOutput>();
  const outstanding = new Map<Worker, number>(pool.map((worker) => [worker, 0]));
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  let next = 0;
  // Blocks are handed out as they are consumed, so at most `window` results wait in memory.
  const dispatch = () => {
    if (next >= total) return;
    let idle = pool[0]!;
    for (const worker of pool) if (outstanding.get(worker)! < outstanding.get(idle)!) idle = worker;
    outstanding.set(idle, outstanding.get(idle)! + 1);
    idle.postMessage({ type: 'block', index: next++ } satisfies WorkerRequest);
  };
  for (const worker of pool) {
    worker.on('message', (output: BlockOutput) => {
      outstanding.set(worker, outstanding.get(worker)! - 1);
      results.set(output.index, output);
      notify();
    });
    worker.on('error', (error) => {
      failure ??= error;
      notify();
    });
    worker.on('exit', (code) => {
      failure ??= new Error(`seed worker exited early with code ${code}`);
      notify();
    });
    worker.postMessage({ type: 'init', params } satisfies WorkerRequest);
  }
  const window = pool.length * 2;
  for (let i = 0; i < window; i++) dispatch();
  try {
    for (let index = 0; index < total; index++) {
      while (!results.has(index)) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const output = results.get(index)!;
      results.delete(index);
      dispatch();
      yield output;
    }
  } finally {
    for (const worker of pool) worker.removeAllListeners('exit');
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
}

interface Tally {
  users: number;
  conversations: number;
  messages: number;
  events: number;
  payments: number;
}

/** The part shared by the database seed and the file generator: blocks in order to a sink. */
async function produce(
  params: GenerateParams,
  ring: KeyRing,
  registry: EmailRegistry,
  workers: number,
  log: (line: string) => void,
  write: (table: SeedTable, bytes: Uint8Array) => Promise<void>,
  tombstones: Tombstones | null = null,
): Promise<Tally> {
  const tally: Tally = { users: 0, conversations: 0, messages: 0, events: 0, payments: 0 };
  const started = performance.now();
  let lastLog = started;
  const usersWriter = new CopyWriter();
  for await (const block of produceBlocks(params, workers)) {
    await write('users', usersRows(block.users, ring, registry, usersWriter, tombstones));
    for (const table of SEED_TABLE_NAMES) {
      const chunk = block.chunks[table];
      if (chunk) await write(table, chunk);
    }
    tally.users += block.users.ids.length;
    tally.conversations += block.counts.conversations;
    tally.messages += block.counts.messages;
    tally.events += block.counts.events;
    tally.payments += block.counts.payments;
    const t = performance.now();
    if (t - lastLog > 10_000 || tally.users === params.users) {
      lastLog = t;
      log(
        `seed: ${tally.users.toLocaleString('en')}/${params.users.toLocaleString('en')} users, ` +
          `${tally.messages.toLocaleString('en')} messages, ${tally.events.toLocaleString('en')} events ` +
          `streamed in ${((t - started) / 1000).toFixed(0)} s`,
      );
    }
  }
  return tally;
}

function validate(options: SeedOptions) {
  const whole = (name: keyof SeedOptions, value: number) => {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`seed: ${name} must be a whole number ≥ 0, got ${value}`);
    }
  };
  whole('users', options.users);
  whole('seed', options.seed);
  for (const name of ['messagesPerUser', 'eventsPerUser'] as const) {
    if (!Number.isFinite(options[name]) || options[name] < 0) {
      throw new RangeError(`seed: ${name} must be a number ≥ 0, got ${options[name]}`);
    }
  }
}

/** Rows the generator writes, roughly: what decides whether threads and index rebuilds pay. */
const volume = (options: SeedOptions) =>
  options.users * (10 + 2 * options.messagesPerUser + options.eventsPerUser);

function defaultWorkers(options: SeedOptions): number {
  if (options.workers !== undefined) return options.workers;
  return options.users >= 5_000 || volume(options) >= LARGE_VOLUME
    ? Math.max(1, os.availableParallelism())
    : 0;
}

function anchorMs(): number {
  // The start of the current UTC day: runs on the same day produce the same timestamps.
  const t = now().getTime();
  return t - (t % 86_400_000);
}

/**
 * Seeds the product tables of the database at `url`. Refuses a database that already holds users
 * unless `append`; appended users come from a stream of their own, so ids never collide.
 */
export async function seedProductData(
  url: string,
  ring: KeyRing,
  options: SeedOptions,
): Promise<SeedResult> {
  validate(options);
  const started = performance.now();
  const log = options.log ?? (() => {});
  const registry = new EmailRegistry();
  let existing = 0;
  let salt = 0;
  let tombstones: Tombstones | null = null;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    tombstones = await readTombstones(sql, ring.index);
    const [row] = await sql<{ count: number; max_id: string | null }[]>`
      select count(*)::int as count,
             (select id::text from product.users order by id desc limit 1) as max_id
        from product.users`;
    existing = row?.count ?? 0;
    if (existing > 0 && !options.append) {
      throw new SeedRefusedError(
        `product.users already holds ${existing} users: refusing to seed over them ` +
          `(use append to add ${options.users} more)`,
      );
    }
    if (existing > 0) {
      salt = mix32(existing, hashString(row?.max_id ?? ''), 0xa99e4d) || 1;
      // Existing emails stay unique: their blind indexes join the registry first.
      await sql<{ email_index: Buffer }[]>`
        select email_index from product.users where email_index_key_id = ${ring.index.id}
      `.cursor(10_000, (rows) => {
        for (const r of rows) registry.add(r.email_index);
      });
    }
  } finally {
    await sql.end();
  }

  const params: GenerateParams = {
    seed: options.seed,
    salt,
    anchorMs: anchorMs(),
    users: options.users,
    messagesPerUser: options.messagesPerUser,
    eventsPerUser: options.eventsPerUser,
    master: ring.master,
  };
  const dropIndexes =
    options.dropIndexes ??
    ((options.users >= LARGE_LOAD && options.users >= existing) ||
      (existing === 0 && volume(options) >= LARGE_VOLUME));
  const workers = defaultWorkers(options);
  log(
    `seed: ${options.users.toLocaleString('en')} users (seed ${options.seed}` +
      `${existing ? `, appending to ${existing.toLocaleString('en')}` : ''}), ` +
      `${workers || 'no'} worker thread(s), indexes ${dropIndexes ? 'dropped and rebuilt' : 'kept'}`,
  );
  const loader = await BulkLoader.open(url, { dropIndexes, log });
  let tally: Tally;
  try {
    tally = await produce(
      params,
      ring,
      registry,
      workers,
      log,
      (table, bytes) => loader.write(table, bytes),
      tombstones.size > 0 ? tombstones : null,
    );
  } catch (error) {
    await loader.abort(error);
    throw error;
  }
  await loader.finish();
  const result = { ...tally, seconds: (performance.now() - started) / 1000 };
  log(`seed: done in ${result.seconds.toFixed(1)} s`);
  return result;
}

/**
 * Writes what `seedProductData` would load into an empty database as COPY text files, one per
 * table, in `dir` (for measuring the plain-COPY limit).
 */
export async function generateSeedFiles(
  dir: string,
  ring: KeyRing,
  options: Omit<SeedOptions, 'append'>,
): Promise<{ files: Record<SeedTable, string>; result: SeedResult }> {
  validate({ ...options, append: false });
  const started = performance.now();
  fs.mkdirSync(dir, { recursive: true });
  const files = Object.fromEntries(
    SEED_TABLE_NAMES.map((t) => [t, path.join(dir, `${t}.copy`)]),
  ) as Record<SeedTable, string>;
  const streams = new Map(
    SEED_TABLE_NAMES.map((t) => [t, fs.createWriteStream(files[t], { highWaterMark: 1 << 20 })]),
  );
  const params: GenerateParams = {
    seed: options.seed,
    salt: 0,
    anchorMs: anchorMs(),
    users: options.users,
    messagesPerUser: options.messagesPerUser,
    eventsPerUser: options.eventsPerUser,
    master: ring.master,
  };
  const tally = await produce(
    params,
    ring,
    new EmailRegistry(),
    defaultWorkers({ ...options, append: false }),
    options.log ?? (() => {}),
    async (table, bytes) => {
      const stream = streams.get(table)!;
      if (!stream.write(bytes)) await new Promise<void>((resolve) => stream.once('drain', resolve));
    },
  );
  await Promise.all(
    [...streams.values()].map(
      (stream) =>
        new Promise<void>((resolve, reject) => {
          stream.once('error', reject);
          stream.end(resolve);
        }),
    ),
  );
  return { files, result: { ...tally, seconds: (performance.now() - started) / 1000 } };
}
