import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_TICKET_PATTERN } from '#app/modules/access/vocabulary.ts';
import { ROLES, type Role } from '#app/modules/auth/permissions.ts';

function compiles(pattern: string) {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL');
const port = z.coerce.number().int().min(1).max(65535);
const base64Key = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes');

// Every variable Custodian reads. The README lists them; keep the two in step.
export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  DATABASE_URL: postgresUrl.optional(),
  CUSTODIAN_SEQUENCER_DATABASE_URL: postgresUrl.optional(),
  CUSTODIAN_DATA_DIR: z.string().min(1).default('.data'),
  CUSTODIAN_MASTER_KEY: base64Key.optional(),
  CUSTODIAN_INDEX_KEY: base64Key.optional(),
  CUSTODIAN_DEMO_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  CUSTODIAN_DEMO_USERS: z.coerce.number().int().min(0).max(1_000_000).default(2000),
  CUSTODIAN_WORKERS: z.coerce.number().int().min(0).max(64).default(2),
  CUSTODIAN_SESSION_IDLE_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(30),
  CUSTODIAN_SESSION_MAX_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24)
    .default(12),
  CUSTODIAN_PG_PORT: port.optional(),
  CUSTODIAN_TICKET_PATTERN: z
    .string()
    .refine(compiles, 'must be a JavaScript regular expression')
    .default(DEFAULT_TICKET_PATTERN),
  CUSTODIAN_LOOKUP_DAILY_LIMIT: z.coerce.number().int().min(1).max(10_000_000).default(50),
  CUSTODIAN_AUDIT_SIGNING_KEY: z
    .string()
    .includes('PRIVATE KEY', { message: 'must be an Ed25519 private key in PKCS#8 PEM' })
    .optional(),
  CUSTODIAN_AUDIT_ORIGIN: z
    .string()
    .regex(
      /^[a-z0-9.-]+(\/[A-Za-z0-9._-]+)*$/,
      'must be a schema-less URL-like name, e.g. example.com/audit',
    )
    .default('custodian.local/audit'),
  CUSTODIAN_AUDIT_TRUSTED_KEYS: z.string().min(1).optional(),
  CUSTODIAN_AUDIT_CHECKPOINT_DIR: z.string().min(1).optional(),
  CUSTODIAN_AUDIT_CHECKPOINT_COMMAND: z.string().min(1).optional(),
  CUSTODIAN_AUDIT_CHECKPOINT_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  // The end-user outbox's mail server (privacy/outbox.server.ts); without it messages stay queued.
  CUSTODIAN_SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, 'must be an smtp:// or smtps:// URL, e.g. smtp://127.0.0.1:2525')
    .optional(),
  CUSTODIAN_MAIL_FROM: z
    .string()
    .regex(/^[^\r\n]{3,320}$/, 'must be one line, e.g. Privacy team <privacy@example.com>')
    .default('Privacy team <privacy@custodian.invalid>'),
  // Access and portability packages: days a package and its link live (ADR 025).
  CUSTODIAN_EXPORT_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(7),
  // The console's address as its users reach it, for links in messages to them (an export's
  // download link). Default: http://HOST:PORT.
  CUSTODIAN_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+$/, 'must be an origin such as https://custodian.example.com')
    .optional(),
  // Step-up (ADR 035): the riskiest actions ask for the second factor again when the session's
  // last one is older than this.
  CUSTODIAN_STEP_UP_SECONDS: z.coerce
    .number()
    .int()
    .min(10)
    .max(12 * 3600)
    .default(300),
  // Single sign-on with an OpenID Connect provider (ADR 039): all four of issuer, client id,
  // secret and role map, or none. Password sign-in is governed by CUSTODIAN_PASSWORD_SIGN_IN.
  CUSTODIAN_OIDC_ISSUER: z
    .string()
    .refine(
      isIssuerUrl,
      "must be the provider's https:// issuer URL (http:// only on localhost or 127.0.0.1)",
    )
    .optional(),
  CUSTODIAN_OIDC_CLIENT_ID: z.string().max(512).optional(),
  CUSTODIAN_OIDC_CLIENT_SECRET: z.string().max(4096).optional(),
  // The callback the provider knows for this client. Default: CUSTODIAN_PUBLIC_URL (or
  // http://HOST:PORT) + /auth/oidc/callback.
  CUSTODIAN_OIDC_REDIRECT_URI: z
    .string()
    .regex(
      /^https?:\/\/[^\s/?#]+\/auth\/oidc\/callback$/,
      "must be this console's origin followed by /auth/oidc/callback",
    )
    .optional(),
  CUSTODIAN_OIDC_SCOPE: z
    .string()
    .regex(
      /^openid( [\x21\x23-\x5b\x5d-\x7e]+)*$/,
      'must be space-separated scopes starting with openid',
    )
    .default('openid email profile groups'),
  CUSTODIAN_OIDC_GROUPS_CLAIM: z
    .string()
    .regex(/^[A-Za-z0-9_:./-]{1,200}$/, 'must be a claim name, e.g. groups')
    .default('groups'),
  CUSTODIAN_OIDC_ROLE_MAP: z
    .string()
    .transform((raw, ctx) => {
      const map = parseRoleMap(raw);
      if (typeof map === 'string') {
        ctx.addIssue({ code: 'custom', message: map });
        return z.NEVER;
      }
      return map;
    })
    .optional(),
  // Passkeys (ADR 038): the WebAuthn relying party. An IP address cannot be one, so the default
  // is `localhost`; the origin defaults to http(s)://<rp id>:<PORT>.
  CUSTODIAN_WEBAUTHN_RP_ID: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
      'must be a host name such as localhost or custodian.example.com',
    )
    .refine(
      (v) => !/^[0-9.]+$/.test(v),
      'must be a host name: an IP address cannot be a WebAuthn relying party',
    )
    .default('localhost'),
  CUSTODIAN_WEBAUTHN_ORIGIN: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+$/, 'must be an origin such as https://custodian.example.com')
    .optional(),
  // `off` leaves only single sign-on: POST /login with a password is refused (ADR 038).
  CUSTODIAN_PASSWORD_SIGN_IN: z.enum(['on', 'off'], 'must be on or off').default('on'),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
});

function isIssuerUrl(value: string) {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.search || url.hash || url.username || url.password) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/** Group → roles from the provider's groups claim (ADR 039); what goes wrong, as a message. */
export type RoleMap = ReadonlyMap<string, readonly Role[]>;

const ROLE_MAP_EXAMPLE =
  'e.g. {"custodian-agents":["support_agent"]} or custodian-agents=support_agent,custodian-leads=support_lead';

/**
 * `{"custodian-agents": ["support_agent"], "custodian-leads": "support_lead"}`: a JSON object from
 * group name to a role or a list of roles (the issue's form); or the shorter
 * `custodian-agents=support_agent,custodian-leads=support_lead+privacy_officer` for groups
 * without `=`, `,` or `+`. Returns the map, or what is wrong with it.
 */
export function parseRoleMap(raw: string): RoleMap | string {
  let value: unknown;
  if (raw.trim().startsWith('{')) {
    try {
      value = JSON.parse(raw);
    } catch {
      return `is not valid JSON: ${ROLE_MAP_EXAMPLE}`;
    }
  } else {
    const pairs = raw.split(',').map((p) => p.trim());
    const entries: [string, string[]][] = [];
    for (const pair of pairs) {
      const m = /^([^=]+)=(.+)$/.exec(pair);
      if (!m) return `must map groups to roles, ${ROLE_MAP_EXAMPLE}`;
      entries.push([m[1]!.trim(), m[2]!.split('+').map((r) => r.trim())]);
    }
    value = Object.fromEntries(entries);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `must map groups to roles, ${ROLE_MAP_EXAMPLE}`;
  }
  const map = new Map<string, Role[]>();
  for (const [group, target] of Object.entries(value as Record<string, unknown>)) {
    if (group.length === 0 || group.length > 256) {
      return 'has a group name that is empty or longer than 256 characters';
    }
    const list = typeof target === 'string' ? [target] : target;
    if (!Array.isArray(list) || list.some((r) => typeof r !== 'string')) {
      return `maps group "${group}" to something that is not a role or a list of roles`;
    }
    const unknown = (list as string[]).find((r) => !(ROLES as readonly string[]).includes(r));
    if (unknown !== undefined) {
      return `maps group "${group}" to unknown role "${unknown}" (roles: ${ROLES.join(', ')})`;
    }
    map.set(group, [...new Set(list as Role[])]);
  }
  if (map.size === 0) return 'maps no group to a role';
  return map;
}

const OIDC_VARIABLES = [
  'CUSTODIAN_OIDC_ISSUER',
  'CUSTODIAN_OIDC_CLIENT_ID',
  'CUSTODIAN_OIDC_CLIENT_SECRET',
  'CUSTODIAN_OIDC_ROLE_MAP',
] as const;

export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {}

/** Parses the environment; a wrong value becomes one line naming the variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // An empty variable means "not set", as in most shells' `FOO= cmd`.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`Invalid environment variable ${name}: ${issue.message}`);
  }
  const env = result.data;
  if (Boolean(env.TLS_CERT_FILE) !== Boolean(env.TLS_KEY_FILE)) {
    const missing = env.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE';
    throw new ConfigError(
      `Invalid environment variable ${missing}: TLS_CERT_FILE and TLS_KEY_FILE go together`,
    );
  }
  if (env.CUSTODIAN_SEQUENCER_DATABASE_URL && !env.DATABASE_URL) {
    throw new ConfigError(
      'Invalid environment variable CUSTODIAN_SEQUENCER_DATABASE_URL: it goes with DATABASE_URL (the embedded default makes its own logins)',
    );
  }
  const oidcSet = OIDC_VARIABLES.filter((name) => env[name] !== undefined);
  if (oidcSet.length > 0 && oidcSet.length < OIDC_VARIABLES.length) {
    const missing = OIDC_VARIABLES.find((name) => env[name] === undefined)!;
    throw new ConfigError(
      `Invalid environment variable ${missing}: single sign-on needs ${OIDC_VARIABLES.join(', ')} together (${oidcSet.join(', ')} ${oidcSet.length === 1 ? 'is' : 'are'} set)`,
    );
  }
  const origin = webauthnOriginOf(env);
  const host = new URL(origin).hostname;
  if (host !== env.CUSTODIAN_WEBAUTHN_RP_ID && !host.endsWith(`.${env.CUSTODIAN_WEBAUTHN_RP_ID}`)) {
    throw new ConfigError(
      `Invalid environment variable CUSTODIAN_WEBAUTHN_ORIGIN: its host (${host}) must be CUSTODIAN_WEBAUTHN_RP_ID (${env.CUSTODIAN_WEBAUTHN_RP_ID}) or a name under it`,
    );
  }
  return env;
}

let cached: Env | undefined;
export function env(): Env {
  cached ??= parseEnv();
  return cached;
}

export function resetEnvForTests() {
  cached = undefined;
}

export function dataDir(): string {
  return path.resolve(env().CUSTODIAN_DATA_DIR);
}

function webauthnOriginOf(e: Env) {
  if (e.CUSTODIAN_WEBAUTHN_ORIGIN) return e.CUSTODIAN_WEBAUTHN_ORIGIN;
  const scheme = e.TLS_CERT_FILE ? 'https' : 'http';
  return `${scheme}://${e.CUSTODIAN_WEBAUTHN_RP_ID}:${e.PORT}`;
}

/** The WebAuthn relying party passkeys are made for and checked against (ADR 038). */
export function webauthnRelyingParty(): { id: string; origin: string; name: string } {
  const e = env();
  return { id: e.CUSTODIAN_WEBAUTHN_RP_ID, origin: webauthnOriginOf(e), name: 'Custodian' };
}

/**
 * Whether staff may sign in with a password (`CUSTODIAN_PASSWORD_SIGN_IN`, default on). Off, the
 * console takes single sign-on only: POST /login refuses a password and the page says so.
 */
export function passwordSignInEnabled(): boolean {
  return env().CUSTODIAN_PASSWORD_SIGN_IN === 'on';
}
