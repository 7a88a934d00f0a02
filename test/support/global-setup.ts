import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import { removeCluster, startEmbeddedPostgres } from '../../app/db/embedded.server.ts';
import {
  APP_LOGIN,
  ensureLogins,
  SEQUENCER_LOGIN,
  type Logins,
} from '../../app/db/logins.server.ts';
import { runMigrations } from '../../app/db/migrate.server.ts';
import { installActorRoleCheck } from './actor-roles.ts';
import { ensureFreshBuild } from './build.ts';

// One PostgreSQL server for the whole run: the embedded one, or DATABASE_URL when set. The
// migrated template database is cloned into one database per test file (see ./db.ts). The server
// build the tests import is rebuilt first if app/ changed since (see ./build.ts). The app and the
// sequencer connect with their own logins, as in the embedded default (ADR 019): the whole suite
// runs under the real separation of roles.

export const TEMPLATE = 'custodian_test_template';

export default async function setup(project: TestProject) {
  ensureFreshBuild();
  let stop = async () => {};
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-test-'));
    const pg = await startEmbeddedPostgres({ dataDir });
    adminUrl = pg.url;
    stop = async () => {
      await pg.stop();
      removeCluster(pg.home);
      fs.rmSync(dataDir, { recursive: true, force: true });
    };
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${TEMPLATE} with (force)`);
  await admin.unsafe(`create database ${TEMPLATE}`);
  const templateUrl = withDatabase(adminUrl, TEMPLATE);
  await runMigrations(templateUrl);
  await installActorRoleCheck(templateUrl);
  await admin.end();
  const logins: Logins = {
    app: { user: APP_LOGIN, password: randomBytes(18).toString('base64url') },
    sequencer: { user: SEQUENCER_LOGIN, password: randomBytes(18).toString('base64url') },
  };
  await ensureLogins(adminUrl, logins);
  project.provide('adminUrl', adminUrl);
  project.provide('logins', logins);
  return async () => {
    const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
    const dbs = await sql<{ datname: string }[]>`
      select datname from pg_database where datname like 'custodian_test_%'`;
    for (const { datname } of dbs)
      await sql.unsafe(`drop database if exists "${datname}" with (force)`);
    await sql.end();
    await stop();
  };
}

export function withDatabase(url: string, name: string) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    logins: Logins;
  }
}
