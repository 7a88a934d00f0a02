import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';

// One login per role (docs/decisions/019-one-login-per-role.md). The web pool and the job queue
// connect as a login that is a member of custodian_app only; the audit sequencer as one that is a
// member of custodian_sequencer only. Neither is a superuser, so neither can RESET ROLE or SET ROLE
// its way into the other's privileges. The owner (the embedded cluster's `postgres`) runs the
// migrations and the seed's bulk load, and creates these logins.

export const APP_ROLE = 'custodian_app';
export const SEQUENCER_ROLE = 'custodian_sequencer';

export interface Login {
  user: string;
  password: string;
}

export interface Logins {
  app: Login;
  sequencer: Login;
}

/** The logins' names in the embedded default (and in the tests). */
export const APP_LOGIN = 'custodian_web';
export const SEQUENCER_LOGIN = 'custodian_sequencer_login';

const SAFE = /^[A-Za-z0-9_-]{16,}$/;

function readOrCreatePassword(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, password, { mode: 0o600 });
  return password;
}

/**
 * The embedded default's two logins, their passwords read from, or generated once into,
 * `<data dir>/keys/` (mode 0600) like the other secrets, so a command-line tool reaching the
 * server that is running uses the same ones.
 */
export function embeddedLogins(dataDir: string): Logins {
  const keys = path.join(path.resolve(dataDir), 'keys');
  return {
    app: {
      user: APP_LOGIN,
      password: readOrCreatePassword(path.join(keys, 'postgres-app-password')),
    },
    sequencer: {
      user: SEQUENCER_LOGIN,
      password: readOrCreatePassword(path.join(keys, 'postgres-sequencer-password')),
    },
  };
}

/** `url` with another login's credentials (same server and database). */
export function urlFor(url: string, login: Login): string {
  const u = new URL(url);
  u.username = encodeURIComponent(login.user);
  u.password = encodeURIComponent(login.password);
  return u.toString();
}

/**
 * Creates the two logins, or brings them back to what they must be: LOGIN with this password, no
 * superuser or other attribute, and a member of exactly one role (any other membership is taken
 * away). Runs as the owner, after the migrations (which create the two roles). Idempotent.
 */
export async function ensureLogins(ownerUrl: string, logins: Logins): Promise<void> {
  const sql = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    for (const [login, role] of [
      [logins.app, APP_ROLE],
      [logins.sequencer, SEQUENCER_ROLE],
    ] as const) {
      // NOTE: CREATE/ALTER ROLE take no parameters; the name is ours and the password generated.
      if (!/^[a-z_][a-z0-9_]*$/.test(login.user)) throw new Error(`bad login name ${login.user}`);
      if (!SAFE.test(login.password)) throw new Error(`the password of ${login.user} is malformed`);
      await sql.begin(async (tx) => {
        // Two processes starting at once would both try to create the login.
        await tx`select pg_advisory_xact_lock(727276)`;
        const [exists] = await tx`select 1 from pg_roles where rolname = ${login.user}`;
        const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD '${login.password}'`;
        await tx.unsafe(
          exists
            ? `ALTER ROLE ${login.user} WITH ${attributes}`
            : `CREATE ROLE ${login.user} WITH ${attributes}`,
        );
        const others = await tx<{ role: string }[]>`
          select r.rolname as role from pg_auth_members m
          join pg_roles r on r.oid = m.roleid
          join pg_roles l on l.oid = m.member
          where l.rolname = ${login.user} and r.rolname <> ${role}`;
        for (const { role: other } of others) {
          await tx.unsafe(`REVOKE "${other.replaceAll('"', '""')}" FROM ${login.user}`);
        }
        await tx.unsafe(`GRANT ${role} TO ${login.user}`);
      });
    }
  } finally {
    await sql.end();
  }
}

/**
 * Why the two logins at these URLs do not separate the roles, or null when they do: each must be
 * a member of its own role and not of the other's, and neither a superuser (who is every role).
 */
export async function separationProblem(
  appUrl: string,
  sequencerUrl: string,
): Promise<string | null> {
  const problems: string[] = [];
  for (const [name, url, other] of [
    ['DATABASE_URL', appUrl, SEQUENCER_ROLE],
    ['CUSTODIAN_SEQUENCER_DATABASE_URL', sequencerUrl, APP_ROLE],
  ] as const) {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ login: string; superuser: boolean; other: boolean }[]>`
        select session_user as login, r.rolsuper as superuser,
               pg_has_role(session_user, ${other}, 'MEMBER') as other
        from pg_roles r where r.rolname = session_user`;
      if (row?.superuser) problems.push(`${name}'s login ${row.login} is a superuser`);
      else if (row?.other) problems.push(`${name}'s login ${row.login} can act as ${other}`);
    } finally {
      await sql.end();
    }
  }
  return problems.length ? problems.join('; ') : null;
}
