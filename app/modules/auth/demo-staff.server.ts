import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { getDb } from '#app/db/client.server.ts';
import { staff } from '#app/db/schema.ts';
import { DEFAULT_ROLE_PERMISSIONS, needsSecondFactor, type Role } from './permissions.ts';
import { commandLine } from '#app/modules/actor.ts';
import { createStaff } from './staff.server.ts';
import { enrolTotpDirectly, totpSecretOf } from './factors.server.ts';

// Demo accounts: one per role, plus a second agent, lead and admin for four-eyes flows. The
// second agent's name is hostile on purpose: every page must show it as text.
export const DEMO_STAFF: { role: Role; email: string; displayName: string }[] = [
  { role: 'support_agent', email: 'agent@custodian.test', displayName: 'Avery Agent' },
  {
    role: 'support_agent',
    email: 'agent2@custodian.test',
    displayName: `Blake "<script>alert('xss')</script>" O'Brien`,
  },
  { role: 'support_lead', email: 'lead@custodian.test', displayName: 'Lee Lead' },
  { role: 'support_lead', email: 'lead2@custodian.test', displayName: 'Morgan Lead' },
  { role: 'privacy_officer', email: 'privacy@custodian.test', displayName: 'Pat Privacy' },
  // A second officer: erasures and denials take a second person (ADR 022).
  { role: 'privacy_officer', email: 'privacy2@custodian.test', displayName: 'Quinn Privacy' },
  { role: 'security_auditor', email: 'auditor@custodian.test', displayName: 'Sam Auditor' },
  { role: 'admin', email: 'admin@custodian.test', displayName: 'Ada Admin' },
  // A second admin: roles that reach personal data take a second person (ADR 021).
  { role: 'admin', email: 'admin2@custodian.test', displayName: 'Abe Admin' },
];

export interface DemoLogin {
  role: Role;
  email: string;
  password: string;
  /** The base32 secret of the account's authenticator app, for roles that need one (ADR 035). */
  totp?: string;
}

const FILE_HEADER = [
  '# Demo staff logins: role email password [totp]',
  '# totp: the base32 secret of the authenticator app of an account that needs a second factor;',
  '# add it to any authenticator app (or compute the code, RFC 6238: SHA-1, 6 digits, 30 s).',
];

export function credentialsFile(dataDir: string) {
  return path.join(dataDir, 'demo-credentials.txt');
}

export function readDemoCredentials(dataDir: string): DemoLogin[] {
  const file = credentialsFile(dataDir);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const [role, email, password, totp] = line.split(' ');
      return { role: role as Role, email: email!, password: password!, ...(totp ? { totp } : {}) };
    });
}

/** Creates the demo accounts that are missing and writes `<dataDir>/demo-credentials.txt`. */
export async function ensureDemoStaff(options: { dataDir: string; password?: string }) {
  const previous = readDemoCredentials(options.dataDir);
  const password =
    options.password ?? previous[0]?.password ?? randomBytes(12).toString('base64url');
  const existing = new Map(
    (
      await getDb()
        .select({ email: staff.email, id: staff.id })
        .from(staff)
        .where(sql`${staff.email} in ${DEMO_STAFF.map((d) => d.email)}`)
    ).map((r) => [r.email, r.id]),
  );
  for (const demo of DEMO_STAFF) {
    if (existing.has(demo.email)) continue;
    const { id } = await createStaff(
      {
        email: demo.email,
        displayName: demo.displayName,
        password,
        roles: [demo.role],
        mustChangePassword: false,
        isDemo: true,
      },
      commandLine('seed --demo-staff'),
    );
    existing.set(demo.email, id);
  }
  // Those whose role needs a second factor get an authenticator app at seeding, so a newcomer
  // signs in with any app and scripts compute the code.
  const logins: DemoLogin[] = [];
  for (const d of DEMO_STAFF) {
    const login: DemoLogin = { role: d.role, email: d.email, password };
    if (needsSecondFactor(DEFAULT_ROLE_PERMISSIONS[d.role], false)) {
      const id = existing.get(d.email)!;
      login.totp =
        (await totpSecretOf(id)) ?? (await enrolTotpDirectly(id, commandLine('seed --demo-staff')));
    }
    logins.push(login);
  }
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const file = credentialsFile(options.dataDir);
  fs.writeFileSync(
    file,
    [
      ...FILE_HEADER,
      ...logins.map((l) => [l.role, l.email, l.password, l.totp].filter(Boolean).join(' ')),
    ].join('\n') + '\n',
    {
      mode: 0o600,
    },
  );
  fs.chmodSync(file, 0o600);
  return logins;
}
