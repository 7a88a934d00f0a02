import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import PgBoss from 'pg-boss';
import postgres from 'postgres';

const here = path.dirname(fileURLToPath(import.meta.url));
export const MIGRATIONS_FOLDER = path.resolve(here, '../../drizzle');

/** The job queue's schema (app/modules/jobs/queue.server.ts). */
export const JOB_SCHEMA = 'pgboss';

export class MigrationPrivilegeError extends Error {}

/** How many migrations the database at `sql` has not applied yet (reads only). */
async function pendingMigrations(sql: postgres.Sql): Promise<number> {
  const files = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  const [table] = await sql<{ present: boolean }[]>`
    select to_regclass('drizzle.__drizzle_migrations') is not null as present`;
  if (!table?.present) return files.length;
  const [last] = await sql<{ at: string | null }[]>`
    select max(created_at)::text as at from drizzle.__drizzle_migrations`;
  const applied = last?.at === null || last?.at === undefined ? -1 : Number(last.at);
  return files.filter((f) => f.folderMillis > applied).length;
}

/**
 * Applies the drizzle migrations on a connection of its own, installs the job queue's schema and
 * gives it to custodian_app (the queue runs on the app's login: it must own its tables to add a
 * queue's partition), and applies the audit tables' privileges (drizzle/0015). Runs as the
 * database owner. When nothing is pending it only reads, so a login that may not migrate (the
 * app's, with an external database) starts; when something is pending and the login may not
 * apply it, it throws a MigrationPrivilegeError saying so.
 */
export async function runMigrations(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    if ((await pendingMigrations(sql)) === 0 && (await jobSchemaInstalled(sql))) return;
    // NOTE: two processes starting at once would race; the advisory lock makes the second wait.
    await sql`select pg_advisory_lock(727274)`;
    try {
      await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
      if (!(await jobSchemaInstalled(sql))) {
        await sql.unsafe(PgBoss.getConstructionPlans(JOB_SCHEMA));
      }
      await sql.unsafe(HAND_JOB_SCHEMA_TO_APP);
      await sql`select console.apply_audit_privileges()`;
    } finally {
      await sql`select pg_advisory_unlock(727274)`;
    }
  } catch (error) {
    // drizzle wraps the driver's error; the SQLSTATE is on it or on its cause.
    const cause = (error as { cause?: unknown }).cause ?? error;
    if (
      (cause as { code?: string }).code === '42501' ||
      (error as { code?: string }).code === '42501'
    ) {
      throw new MigrationPrivilegeError(
        `the database needs migrating and this login may not do it (${(cause as Error).message}): ` +
          'run `npx custodian migrate` with DATABASE_URL set to the database owner',
      );
    }
    throw error;
  } finally {
    await sql.end();
  }
}

async function jobSchemaInstalled(sql: postgres.Sql) {
  const [row] = await sql<{ present: boolean }[]>`
    select to_regclass(${`${JOB_SCHEMA}.version`}) is not null as present`;
  return Boolean(row?.present);
}

// The queue's schema and everything in it belong to custodian_app: pg-boss creates a table for
// each new queue and attaches it to its job table, which only the owner may do. The owner never
// writes these tables afterwards (a trigger the app put there would run with the owner's rights).
const HAND_JOB_SCHEMA_TO_APP = `
DO $$
DECLARE
  o record;
BEGIN
  EXECUTE 'ALTER SCHEMA ${JOB_SCHEMA} OWNER TO custodian_app';
  FOR o IN
    SELECT c.oid::regclass AS name, c.relkind
    FROM pg_class c
    WHERE c.relnamespace = '${JOB_SCHEMA}'::regnamespace
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND c.relowner <> 'custodian_app'::regrole
      -- a sequence that belongs to a table's column follows its table
      AND NOT (c.relkind = 'S' AND EXISTS (
        SELECT 1 FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid
          AND d.deptype IN ('a', 'i')))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO custodian_app',
      CASE o.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                     WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, o.name);
  END LOOP;
  FOR o IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p
    WHERE p.pronamespace = '${JOB_SCHEMA}'::regnamespace AND p.proowner <> 'custodian_app'::regrole
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO custodian_app', o.name);
  END LOOP;
  FOR o IN
    SELECT t.oid::regtype AS name FROM pg_type t
    WHERE t.typnamespace = '${JOB_SCHEMA}'::regnamespace AND t.typowner <> 'custodian_app'::regrole
      AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO custodian_app', o.name);
  END LOOP;
END $$`;
