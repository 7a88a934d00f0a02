import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;

export const APP_ROLE = 'custodian_app';

interface Connection {
  url: string;
  sql: Sql;
  db: Db;
}

// NOTE: the server, the command-line tool and the Remix build each import this module (the build
// bundles its own copy). Keeping the connection on globalThis makes them share one pool, and keeps
// development reloads from leaking connections.
const KEY = Symbol.for('custodian.db');
const holder = globalThis as unknown as { [KEY]?: Connection };

function open(url: string): Connection {
  const sql = postgres(url, {
    max: Number(process.env.CUSTODIAN_DB_POOL ?? 20),
    onnotice: () => {},
    // NOTE: the app's queries run as custodian_app, which may only read and insert the audit
    // tables (drizzle/0003). Migrations, the seed and the job queue use their own connections.
    connection: { application_name: 'custodian', role: APP_ROLE },
  });
  return { url, sql, db: drizzle(sql, { schema }) };
}

function connection(): Connection {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: start Custodian through `npx custodian`');
  const current = holder[KEY];
  if (current && current.url === url) return current;
  if (current) void current.sql.end({ timeout: 5 });
  holder[KEY] = open(url);
  return holder[KEY];
}

export function getDb(): Db {
  return connection().db;
}

export function getSql(): Sql {
  return connection().sql;
}

export async function closeDb() {
  const current = holder[KEY];
  holder[KEY] = undefined;
  if (current) await current.sql.end({ timeout: 5 });
}

/** The transaction type handed to `db.transaction(async (tx) => …)`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
