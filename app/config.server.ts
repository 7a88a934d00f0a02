import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_TICKET_PATTERN } from '#app/modules/access/vocabulary.ts';

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
