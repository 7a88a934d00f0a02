import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// Key material. Each key comes from its environment variable or, failing that, from a file under
// <data dir>/keys/ generated once (mode 0600); in production a missing key stops the process.

export interface KeyRing {
  /** Wraps the per-user data keys. */
  master: VersionedKey;
  /** Older master keys, still able to unwrap until every data key is re-wrapped. */
  previousMasters: VersionedKey[];
  /** Keys the email blind index. */
  index: VersionedKey;
}

export interface VersionedKey {
  /** The first 8 hex digits of SHA-256 of the key: stored beside what the key protects. */
  id: string;
  key: Buffer;
}

export class MissingKeyError extends Error {}

export function versioned(key: Buffer): VersionedKey {
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
}

export function loadKey(options: {
  variable: string;
  file: string;
  production: boolean;
  log: (line: string) => void;
  generate?: () => string;
  decode?: (text: string) => Buffer;
}): string {
  const fromEnv = process.env[options.variable];
  if (fromEnv) return fromEnv;
  if (fs.existsSync(options.file)) return fs.readFileSync(options.file, 'utf8').trim();
  if (options.production) {
    throw new MissingKeyError(
      `Missing environment variable ${options.variable}: required when NODE_ENV=production`,
    );
  }
  const value = (options.generate ?? (() => randomBytes(32).toString('base64')))();
  fs.mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(options.file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  options.log(`${options.variable} is not set: generated one into ${options.file}`);
  return value;
}

const KEY = Symbol.for('custodian.keyring');
const holder = globalThis as unknown as { [KEY]?: KeyRing };

/** Loads the key ring once per process (files under dataDir/keys when variables are missing). */
export function loadKeyRing(options: {
  dataDir: string;
  production: boolean;
  log?: (line: string) => void;
}): KeyRing {
  const log = options.log ?? (() => {});
  const keysDir = path.join(options.dataDir, 'keys');
  const read = (variable: string, file: string) =>
    Buffer.from(
      loadKey({ variable, file: path.join(keysDir, file), production: options.production, log }),
      'base64',
    );
  const previous = (process.env.CUSTODIAN_MASTER_KEY_PREVIOUS ?? '')
    .split(',')
    .filter(Boolean)
    .map((b64) => versioned(Buffer.from(b64, 'base64')));
  const ring: KeyRing = {
    master: versioned(read('CUSTODIAN_MASTER_KEY', 'master.key')),
    previousMasters: previous,
    index: versioned(read('CUSTODIAN_INDEX_KEY', 'index.key')),
  };
  holder[KEY] = ring;
  return ring;
}

export function setKeyRing(ring: KeyRing) {
  holder[KEY] = ring;
}

export function keyRing(): KeyRing {
  const ring = holder[KEY];
  if (!ring) throw new Error('The key ring is not loaded: start Custodian through `npx custodian`');
  return ring;
}
