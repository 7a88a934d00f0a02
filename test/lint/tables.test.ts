import fs from 'node:fs';
import path from 'node:path';

// A module reads and writes only its own capability's tables; another capability's data comes
// through that capability's functions or the SQL fragments it exports (ADR 009). The lint rule
// keeps imports one way; this keeps the tables: it reads every module's source for the console
// tables it names, in SQL text or as drizzle tables imported from the schema.

/** The capability that owns each console table (or function). A new table is declared here. */
const OWNER: Record<string, string> = {
  staff: 'auth',
  roles: 'auth',
  permissions: 'auth',
  role_permissions: 'auth',
  staff_roles: 'auth',
  sessions: 'auth',
  sign_in_throttle: 'auth',
  password_links: 'auth',
  staff_factors: 'auth',
  recovery_codes: 'auth',
  pending_sign_ins: 'auth',
  // Single sign-on's flows on their way through the provider (ADR 039).
  sso_flows: 'sso',
  sso_logout_tokens: 'sso',
  webauthn_challenges: 'auth',
  audit_intake: 'audit',
  audit_leaves: 'audit',
  audit_entries: 'audit',
  audit_nodes: 'audit',
  audit_tree_heads: 'audit',
  audit_checkpoints: 'audit',
  verification_runs: 'audit',
  // Functions the sequencer's and the app's logins may call instead of reading the tables (ADR 018);
  // the alert inserts the reviewers' notifications with its owner's rights.
  audit_intake_status: 'audit',
  alert_invalid_audit_entry: 'audit',
  // The trail's contents under retention (ADR 033): when each position was first covered, the
  // purge runs, and the one function that empties contents with the one that sizes what may go.
  trail_coverage: 'audit',
  trail_purges: 'audit',
  purge_audit_contents: 'audit',
  audit_purgeable_size: 'audit',
  audit_contents_minimum: 'audit',
  user_lookup_days: 'users',
  user_lookup_targets: 'users',
  record_lookup: 'users',
  grant_policies: 'access',
  grants: 'access',
  grant_decisions: 'access',
  notifications: 'access',
  // Role requests need notifications, which auth cannot import: they live in access (ADR 021).
  role_requests: 'access',
  analytics_contributions: 'analytics',
  analytics_contributors: 'analytics',
  analytics_contribution_models: 'analytics',
  analytics_releases: 'analytics',
  analytics_cells: 'analytics',
  analytics_budgets: 'analytics',
  analytics_ledger: 'analytics',
  analytics_shares: 'analytics',
  service_tokens: 'api',
  api_idempotency: 'api',
  privacy_requests: 'privacy',
  privacy_request_events: 'privacy',
  user_outbox: 'privacy',
  inquiries: 'inquiries',
  inquiry_messages: 'inquiries',
  export_packages: 'privacy',
  export_chunks: 'privacy',
  legal_holds: 'privacy',
  erasure_tombstones: 'privacy',
  erasure_runs: 'privacy',
  erasure_tallies: 'privacy',
  erasure_retained_payments: 'privacy',
  erasure_certificates: 'privacy',
  retention_policies: 'retention',
  retention_policy_changes: 'retention',
  retention_runs: 'retention',
  retention_run_categories: 'retention',
  processing_record_versions: 'privacy',
  // Read by app/db/ (the schema version), never by a module.
  meta: 'db',
};

/** Files at the root of app/modules/ (the shared kernel) that read a table, and which. */
const KERNEL_READS: Record<string, string[]> = {
  'staff-names.server.ts': ['staff'],
  // The live retention periods the record of processing tells users (ADR 036): retention owns the
  // table but depends on privacy, so the one read privacy needs sits in the kernel.
  'retention-periods.server.ts': ['retention_policies'],
};

const root = path.resolve(__dirname, '../..');
const modules = path.join(root, 'app/modules');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return /\.(ts|tsx|mjs)$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [full] : [];
  });
}

const withoutComments = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

/** The schema's drizzle table exports, by name: `grants` → 'grants'. */
function schemaTables(): Map<string, string> {
  const schema = fs.readFileSync(path.join(root, 'app/db/schema.ts'), 'utf8');
  const found = new Map<string, string>();
  for (const m of schema.matchAll(/export const (\w+) = consoleSchema\.table\(\s*'([a-z_]+)'/g)) {
    found.set(m[1]!, m[2]!);
  }
  return found;
}

/** The console tables a source file names: in SQL text and through schema imports. */
export function tablesNamed(text: string, tables: Map<string, string>): Set<string> {
  const code = withoutComments(text);
  const named = new Set<string>();
  for (const m of code.matchAll(/\bconsole\.([a-z_]+)/g)) named.add(m[1]!);
  for (const m of code.matchAll(/import\s*\{([^}]*)\}\s*from\s*'#app\/db\/schema\.ts'/g)) {
    for (const spec of m[1]!.split(',')) {
      const name = spec
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]!;
      const table = tables.get(name);
      if (table) named.add(table);
    }
  }
  return named;
}

function problems(): string[] {
  const tables = schemaTables();
  const found: string[] = [];
  for (const file of sources(modules)) {
    const rel = path.relative(modules, file).split(path.sep);
    const capability = rel.length > 1 ? rel[0]! : null;
    for (const table of tablesNamed(fs.readFileSync(file, 'utf8'), tables)) {
      const where = `app/modules/${rel.join('/')}`;
      const owner = OWNER[table];
      if (!owner) {
        found.push(`${where} names console.${table}, which has no owner in OWNER: declare it`);
      } else if (capability === null) {
        if (!KERNEL_READS[rel[0]!]?.includes(table)) {
          found.push(`${where} (the shared kernel) reads console.${table}, owned by ${owner}`);
        }
      } else if (capability !== owner) {
        found.push(`${where} reads console.${table}, owned by ${owner}`);
      }
    }
  }
  return found;
}

describe('each module reads only its own tables', () => {
  test('no module names another capability’s console table', () => {
    expect(problems()).toEqual([]);
  });

  test('every console table in the schema has an owner', () => {
    const unowned = [...schemaTables().values()].filter((t) => !OWNER[t]);
    expect(unowned).toEqual([]);
  });

  test('the reader finds tables in SQL text and in schema imports, not in comments', () => {
    const tables = new Map([
      ['grants', 'grants'],
      ['staff', 'staff'],
    ]);
    const text = [
      "import { grants, type staff as s } from '#app/db/schema.ts';",
      '// joins console.sessions in a comment',
      '/* console.roles */',
      'sql`select 1 from console.audit_entries e`;',
    ].join('\n');
    expect([...tablesNamed(text, tables)].sort()).toEqual(['audit_entries', 'grants', 'staff']);
  });
});
