import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import postgres from 'postgres';
import { copyStatement, SEED_TABLE_NAMES, type SeedTable } from './copy.ts';

// Bulk loading into the product tables: one COPY per table, each in its own transaction on its own
// connection, so PostgreSQL parses and inserts the tables in parallel. With `dropIndexes`, each
// transaction drops its table's indexes first and rebuilds them from their exact definitions after
// the COPY; nothing commits until every table has loaded and rebuilt, so a failure (or a killed
// process) rolls everything back, indexes included.

export interface BulkLoadOptions {
  dropIndexes: boolean;
  log: (line: string) => void;
  tables?: readonly SeedTable[];
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

interface Session {
  table: SeedTable;
  stream?: Writable;
  error?: unknown;
  ready: Deferred<Writable>;
  loaded: Deferred<void>;
  done: Promise<void>;
}

interface IndexRow {
  name: string;
  def: string;
  conname: string | null;
  condef: string | null;
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

/** Drops the table's indexes (primary key included) and returns the DDL that recreates them. */
async function dropIndexes(tx: postgres.TransactionSql, table: SeedTable): Promise<string[]> {
  const qualified = `product.${table}`;
  // Indexes another table's foreign key depends on cannot be dropped; they stay.
  const rows = await tx<IndexRow[]>`
    select ci.relname as name, pg_get_indexdef(i.indexrelid) as def,
           c.conname, pg_get_constraintdef(c.oid) as condef
      from pg_index i
      join pg_class ci on ci.oid = i.indexrelid
      left join pg_constraint c
        on c.conindid = i.indexrelid and c.conrelid = i.indrelid and c.contype in ('p', 'u', 'x')
     where i.indrelid = ${qualified}::regclass
       and not exists (
         select 1 from pg_constraint f where f.contype = 'f' and f.conindid = i.indexrelid)
     order by (c.contype = 'p') desc nulls last, ci.relname`;
  const rebuild: string[] = [];
  for (const row of rows) {
    if (row.conname && row.condef) {
      await tx.unsafe(`alter table ${qualified} drop constraint "${row.conname}"`);
      rebuild.push(`alter table ${qualified} add constraint "${row.conname}" ${row.condef}`);
    } else {
      await tx.unsafe(`drop index product."${row.name}"`);
      rebuild.push(row.def);
    }
  }
  return rebuild;
}

export class BulkLoader {
  private readonly sessions = new Map<SeedTable, Session>();
  private readonly commit = deferred<void>();
  private failure: unknown;

  private constructor(
    private readonly sql: postgres.Sql,
    private readonly options: BulkLoadOptions,
  ) {}

  static async open(url: string, options: BulkLoadOptions): Promise<BulkLoader> {
    const tables = options.tables ?? SEED_TABLE_NAMES;
    const sql = postgres(url, {
      max: tables.length,
      onnotice: () => {},
      connection: { application_name: 'custodian-seed' },
    });
    const loader = new BulkLoader(sql, options);
    for (const table of tables) loader.start(table);
    try {
      await Promise.all([...loader.sessions.values()].map((s) => s.ready.promise));
    } catch (error) {
      await loader.abort(error);
      throw error;
    }
    return loader;
  }

  private start(table: SeedTable) {
    const { log, dropIndexes: drop } = this.options;
    const session: Session = {
      table,
      ready: deferred<Writable>(),
      loaded: deferred<void>(),
      done: Promise.resolve(),
    };
    session.done = this.sql
      .begin(async (tx) => {
        // Durability is relaxed for this load only: a crash loses the uncommitted load, nothing else.
        await tx.unsafe(`set local synchronous_commit = off`);
        await tx.unsafe(`set local maintenance_work_mem = '512MB'`);
        const rebuild = drop ? await dropIndexes(tx, table) : [];
        const query = tx.unsafe(copyStatement(table));
        // postgres.js never settles the stream when PostgreSQL rejects the data after CopyDone
        // (COPY flushes its last batch then, e.g. a duplicate key): the error only reaches the
        // query's reject, which is hooked here.
        const rejected = deferred<never>();
        const hooked = query as unknown as { reject: (error: unknown) => void };
        const reject = hooked.reject;
        hooked.reject = (error: unknown) => {
          rejected.reject(error);
          reject(error);
        };
        const stream = await query.writable();
        const copied = finished(stream);
        copied.catch(() => {});
        session.stream = stream;
        session.ready.resolve(stream);
        try {
          await Promise.race([copied, rejected.promise]);
        } catch (error) {
          if (!stream.destroyed) stream.destroy(error instanceof Error ? error : undefined);
          throw error;
        }
        if (rebuild.length > 0) {
          const t = performance.now();
          for (const ddl of rebuild) await tx.unsafe(ddl);
          log(`seed: rebuilt ${rebuild.length} index(es) on product.${table} in ${seconds(t)} s`);
        }
        await tx.unsafe(`analyze product.${table}`);
        session.loaded.resolve();
        await this.commit.promise;
      })
      .then(() => {})
      .catch((error: unknown) => {
        session.error = error;
        session.ready.reject(error);
        session.loaded.reject(error);
        throw error;
      });
    session.done.catch(() => {});
    this.sessions.set(table, session);
  }

  /** Writes COPY text to a table, waiting while the connection's buffer is full. */
  async write(table: SeedTable, bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    const session = this.sessions.get(table);
    if (!session?.stream) throw new Error(`No COPY open for product.${table}`);
    const stream = session.stream;
    if (stream.destroyed) throw session.error ?? new Error(`COPY into product.${table} failed`);
    if (stream.write(bytes)) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        stream.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        stream.off('drain', onDrain);
        // The session's error arrives with its rollback; wait for it to name the cause.
        void session.done.then(
          () => reject(new Error(`COPY into product.${table} closed early`)),
          reject,
        );
      };
      stream.once('drain', onDrain);
      stream.once('close', onClose);
    });
  }

  /** Ends every COPY, rebuilds the indexes, then commits all tables together. */
  async finish(): Promise<void> {
    const started = performance.now();
    for (const session of this.sessions.values()) session.stream?.end();
    const sessions = [...this.sessions.values()];
    try {
      await Promise.all(sessions.map((s) => s.loaded.promise));
    } catch (error) {
      await this.abort(error);
      throw error;
    }
    this.commit.resolve();
    try {
      await Promise.all(sessions.map((s) => s.done));
    } finally {
      await this.sql.end({ timeout: 5 });
    }
    this.options.log(`seed: COPY finished, indexes ready and committed in ${seconds(started)} s`);
  }

  /** Rolls every table back. */
  async abort(error: unknown): Promise<void> {
    this.failure ??= error;
    this.commit.reject(error);
    const reason = error instanceof Error ? error : new Error(String(error));
    for (const session of this.sessions.values()) {
      if (session.stream && !session.stream.writableFinished) session.stream.destroy(reason);
    }
    await Promise.allSettled([...this.sessions.values()].map((s) => s.done));
    await this.sql.end({ timeout: 5 });
  }
}

/**
 * Loads COPY text files (one per table, as `generateSeedFiles` writes them) the plainest way:
 * each file streamed into its table's COPY, all tables at once, through the same BulkLoader.
 */
export async function loadCopyFiles(
  url: string,
  files: Partial<Record<SeedTable, string>>,
  options: Omit<BulkLoadOptions, 'tables'>,
): Promise<void> {
  const tables = (Object.keys(files) as SeedTable[]).filter((t) => files[t]);
  const loader = await BulkLoader.open(url, { ...options, tables });
  try {
    await Promise.all(
      tables.map(async (table) => {
        const input = fs.createReadStream(files[table]!, { highWaterMark: 1 << 20 });
        for await (const chunk of input) await loader.write(table, chunk as Buffer);
      }),
    );
  } catch (error) {
    await loader.abort(error);
    throw error;
  }
  await loader.finish();
}
