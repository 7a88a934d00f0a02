import postgres from 'postgres';
import { ownerUrl, sequencerUrl, useTestDatabase } from '../support/db.ts';

// Issue 11, "The app's role can write the tree": only custodian_sequencer writes the tree, and the
// app and the sequencer connect with two logins, neither a superuser, each a member of one role
// (ADR 019). The suite itself runs that way (test/support/global-setup.ts); this file proves it.

useTestDatabase();

const PRIVILEGES = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'TRUNCATE',
  'REFERENCES',
  'TRIGGER',
] as const;
const COLUMN_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'REFERENCES'] as const;

/** What each role may do on each console.audit_* table, and nothing else. */
function allowed(table: string, role: 'custodian_app' | 'custodian_sequencer'): string[] {
  if (table === 'audit_intake') return role === 'custodian_app' ? ['INSERT'] : ['SELECT', 'DELETE'];
  return role === 'custodian_app' ? ['SELECT'] : ['SELECT', 'INSERT'];
}

/** Tables outside the audit trail the sequencer may write (none: it writes the tree alone). */
const SEQUENCER_WRITES_OUTSIDE_THE_TRAIL: string[] = [];

let owner: postgres.Sql;
beforeAll(() => {
  owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await owner.end();
});

async function held(role: string, table: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of PRIVILEGES) {
    const [row] = await owner<{ ok: boolean }[]>`
      select has_table_privilege(${role}, ${table}::regclass, ${p}) as ok`;
    if (row!.ok) out.push(p);
  }
  // A column grant gives a privilege on part of a table: none may exceed the table's.
  for (const p of COLUMN_PRIVILEGES) {
    const [row] = await owner<{ ok: boolean }[]>`
      select has_any_column_privilege(${role}, ${table}::regclass, ${p}) as ok`;
    if (row!.ok && !out.includes(p)) out.push(`${p} (some columns)`);
  }
  return out;
}

/** Runs `fn` on a connection of its own with `url`, then closes it. */
async function as<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

describe('privileges on the audit trail', () => {
  it('walks every console.audit_* table (from the catalog) and both roles: exactly what each may do', async () => {
    const tables = await owner<{ name: string }[]>`
      select c.relname as name from pg_class c
      where c.relnamespace = 'console'::regnamespace and c.relname like 'audit\\_%'
        and c.relkind in ('r', 'p', 'v', 'm', 'f')
      order by 1`;
    // The five tables of the tree and the intake at least; any new audit_* table is walked too.
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'audit_intake',
        'audit_leaves',
        'audit_entries',
        'audit_nodes',
        'audit_tree_heads',
        'audit_checkpoints',
      ]),
    );
    const found: Record<string, Record<string, string[]>> = {};
    const expected: typeof found = {};
    for (const { name } of tables) {
      for (const role of ['custodian_app', 'custodian_sequencer'] as const) {
        (found[name] ??= {})[role] = (await held(role, `console.${name}`)).sort();
        (expected[name] ??= {})[role] = allowed(name, role).sort();
      }
      (found[name] ??= {}).PUBLIC = (await held('public', `console.${name}`)).sort();
      (expected[name] ??= {}).PUBLIC = [];
    }
    expect(found).toEqual(expected);
  });

  it('a new audit_* table, which default privileges would open to the app, gets the rule too', async () => {
    // What a future migration creating an audit table would get from 0003's default privileges.
    await owner`create table console.audit_future (seq bigint primary key)`;
    expect(await held('custodian_app', 'console.audit_future')).toContain('INSERT');
    // The rule runMigrations() applies after every run that migrates anything.
    await owner`select console.apply_audit_privileges()`;
    expect((await held('custodian_app', 'console.audit_future')).sort()).toEqual(['SELECT']);
    expect((await held('custodian_sequencer', 'console.audit_future')).sort()).toEqual([
      'INSERT',
      'SELECT',
    ]);
    await owner`drop table console.audit_future`;
  });

  it('the sequencer writes no product or console table outside the audit trail', async () => {
    const tables = await owner<{ name: string }[]>`
      select n.nspname || '.' || c.relname as name from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('product', 'console') and c.relkind in ('r', 'p')
        and not (n.nspname = 'console' and c.relname like 'audit\\_%')
      order by 1`;
    expect(tables.length).toBeGreaterThan(10);
    const writable: string[] = [];
    for (const { name } of tables) {
      const privileges = await held('custodian_sequencer', name);
      if (privileges.some((p) => !p.startsWith('SELECT'))) writable.push(name);
    }
    expect(writable).toEqual(SEQUENCER_WRITES_OUTSIDE_THE_TRAIL);
  });

  it('a forged checkpoint or tree head the app tries to insert is refused', async () => {
    const root = Buffer.alloc(32);
    await expect(
      as(
        process.env.DATABASE_URL!,
        (
          sql,
        ) => sql`insert into console.audit_checkpoints (tree_size, root, note, key_name, created_at)
                     values (1000000000, ${root}, 'forged', 'x', now())`,
      ),
    ).rejects.toThrow(/permission denied for table audit_checkpoints/);
    await expect(
      as(
        process.env.DATABASE_URL!,
        (sql) => sql`insert into console.audit_tree_heads (tree_size, root, frontier, created_at)
                     values (1, ${root}, '[]', now())`,
      ),
    ).rejects.toThrow(/permission denied for table audit_tree_heads/);
  });
});

describe('one login per role', () => {
  it('the app login is a member of custodian_app only, the sequencer login of custodian_sequencer only, neither a superuser', async () => {
    const describe = (url: string) =>
      as(url, async (sql) => {
        const [row] = await sql<
          {
            session_user: string;
            rolsuper: boolean;
            app: boolean;
            sequencer: boolean;
            createrole: boolean;
            createdb: boolean;
            bypassrls: boolean;
            memberships: string[];
          }[]
        >`
          select session_user, r.rolsuper, r.rolcreaterole as createrole, r.rolcreatedb as createdb,
                 r.rolbypassrls as bypassrls,
                 pg_has_role(session_user, 'custodian_app', 'MEMBER') as app,
                 pg_has_role(session_user, 'custodian_sequencer', 'MEMBER') as sequencer,
                 array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid
                       where m.member = r.oid order by 1) as memberships
          from pg_roles r where r.rolname = session_user`;
        return row!;
      });
    const app = await describe(process.env.DATABASE_URL!);
    const seq = await describe(sequencerUrl());
    expect(app.session_user).not.toBe(seq.session_user);
    expect(app).toMatchObject({
      rolsuper: false,
      createrole: false,
      createdb: false,
      bypassrls: false,
      app: true,
      sequencer: false,
      memberships: ['custodian_app'],
    });
    expect(seq).toMatchObject({
      rolsuper: false,
      createrole: false,
      createdb: false,
      bypassrls: false,
      app: false,
      sequencer: true,
      memberships: ['custodian_sequencer'],
    });
  });

  it('the app login cannot write the tree even after RESET ROLE, and cannot SET ROLE to the sequencer', async () => {
    const root = Buffer.alloc(32);
    await as(process.env.DATABASE_URL!, async (sql) => {
      await sql`reset role`;
      const [who] = await sql<{ u: string }[]>`select current_user as u`;
      expect(who!.u).not.toMatch(/^custodian_(app|sequencer)$/);
      await expect(
        sql`insert into console.audit_checkpoints (tree_size, root, note, key_name, created_at)
            values (1000000000, ${root}, 'forged', 'x', now())`,
      ).rejects.toThrow(/permission denied for table audit_checkpoints/);
      await expect(
        sql`insert into console.audit_tree_heads (tree_size, root, frontier, created_at)
            values (1, ${root}, '[]', now())`,
      ).rejects.toThrow(/permission denied for table audit_tree_heads/);
      await expect(sql`set role custodian_sequencer`).rejects.toThrow(
        /permission denied to set role/,
      );
      await expect(sql`set session authorization postgres`).rejects.toThrow(/permission denied/);
      await expect(sql`delete from console.audit_intake`).rejects.toThrow(/permission denied/);
    });
  });

  it('the sequencer login cannot write product or console data, even after RESET ROLE, nor become the app', async () => {
    await as(sequencerUrl(), async (sql) => {
      await sql`reset role`;
      await expect(sql`set role custodian_app`).rejects.toThrow(/permission denied to set role/);
      await expect(sql`update console.staff set display_name = 'x'`).rejects.toThrow(
        /permission denied/,
      );
      await expect(sql`delete from console.sessions`).rejects.toThrow(/permission denied/);
      await expect(sql`update console.grants set status = 'approved'`).rejects.toThrow(
        /permission denied/,
      );
      await expect(
        sql`insert into console.staff_roles select * from console.staff_roles`,
      ).rejects.toThrow(/permission denied/);
      await expect(sql`delete from product.users`).rejects.toThrow(/permission denied/);
    });
  });
});
