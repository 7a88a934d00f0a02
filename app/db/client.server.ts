import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { APP_ROLE } from './logins.server.ts';
import * as schema from './schema.ts';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;

export { APP_ROLE };

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
    // NOTE: DATABASE_URL is the app's login, a member of custodian_app only in the embedded
    // default (ADR 019); the role is set at connection too, so a login holding more (an external
    // database whose roles are not separated) still runs the app's queries as custodian_app, which
    // inserts into the audit intake and only reads the rest of the trail (drizzle/0015).
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
