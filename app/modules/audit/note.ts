import crypto, { type KeyObject } from 'node:crypto';
import { HASH_SIZE, decodeBase64Strict } from './merkle.ts';

// C2SP signed-note (c2sp.org/signed-note) with Ed25519 keys, and tlog-checkpoint
// (c2sp.org/tlog-checkpoint) note texts.
//
// Key rotation: a trusted key may carry a validity window [notBefore, notAfter]. A signature from
// a key only counts when the note's time falls inside its window. For checkpoints that time is the
// `timestamp <ISO 8601 UTC>` extension line when present, else the `at` option; when neither is
// known, keys with a window do not count (fail closed) while keys without one always do. The
// window limits a retired key to what it signed while current; it cannot stop a stolen key from
// back-dating a checkpoint, which is what consistency with published checkpoints is for.

export class NoteError extends Error {
  override name = 'NoteError';
}

const SIG_PREFIX = '\u2014 ';
const ED25519 = 0x01;
const MAX_SIGNATURES = 100;
export const TIMESTAMP_PREFIX = 'timestamp ';

export interface VerifierKey {
  name: string;
  keyId: number;
  /** The raw 32-byte Ed25519 public key. */
  publicKey: Buffer;
  key: KeyObject;
}

export interface TrustedKey {
  /** A verifier key string, `<name>+<key id>+<base64(0x01 ‖ public key)>`. */
  key: string;
  notBefore?: Date;
  notAfter?: Date;
}

export interface Signer {
  name: string;
  privateKey: KeyObject;
}

export interface OpenedNote {
  text: string;
  /** Names of the trusted keys whose signatures verified and were valid at the note's time. */
  verifiedBy: string[];
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  timestamp?: Date;
  /** Every line after the root hash, including the timestamp line. */
  extensions: string[];
}

export interface CheckpointInput {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  timestamp?: Date;
  /** Extra opaque lines; a timestamp line goes through `timestamp` instead. */
  extensions?: readonly string[];
}

export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s\u0085+]/u.test(name) && isWellFormed(name);
}

function isWellFormed(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}

function hasForbiddenControl(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0009\u000b-\u001f]/.test(text);
}

export function keyId(name: string, publicKey: Uint8Array): number {
  const digest = crypto
    .createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, ED25519]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

function hex8(id: number): string {
  return id.toString(16).padStart(8, '0');
}

export function verifierKeyString(name: string, publicKeyRaw: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKeyRaw.length !== 32) throw new NoteError('an Ed25519 public key is 32 bytes');
  const encoded = Buffer.concat([Buffer.from([ED25519]), publicKeyRaw]).toString('base64');
  return `${name}+${hex8(keyId(name, publicKeyRaw))}+${encoded}`;
}

/** The raw 32-byte Ed25519 public key of a public or private KeyObject. */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new NoteError('only Ed25519 keys are supported');
  const { x } = pub.export({ format: 'jwk' });
  return Buffer.from(x ?? '', 'base64url');
}

export function verifierKeyFor(signer: Signer): string {
  return verifierKeyString(signer.name, rawPublicKey(signer.privateKey));
}

/**
 * A verifier key's fingerprint, short enough to read out on a call: `SHA256:` and the hex SHA-256 of
 * the key string (`printf %s "$KEY" | sha256sum` computes it). The key string names the log, so
 * the fingerprint covers the name as well as the public key.
 */
export function keyFingerprint(verifierKey: string): string {
  return `SHA256:${crypto.createHash('sha256').update(verifierKey, 'utf8').digest('hex')}`;
}

export function parseVerifierKey(text: string): VerifierKey {
  // The base64 key may itself contain '+', so only the first two separate fields.
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw new NoteError('a verifier key is <name>+<8 hex digits>+<base64 key>');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const encoded = text.slice(second + 1);
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw new NoteError('the key id must be 8 hex digits');
  const bytes = decodeBase64Strict(encoded);
  if (!bytes || bytes.length !== 33) throw new NoteError('the key must be base64 of 33 bytes');
  if (bytes[0] !== ED25519) throw new NoteError(`unsupported signature type ${bytes[0]}`);
  const publicKey = bytes.subarray(1);
  const id = keyId(name, publicKey);
  if (id !== parseInt(idHex, 16)) throw new NoteError(`key id ${idHex} does not match the key`);
  const key = crypto.createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') },
    format: 'jwk',
  });
  return { name, keyId: id, publicKey, key };
}

function checkNoteText(text: string) {
  if (!text.endsWith('\n')) throw new NoteError('note text must end with a newline');
  if (hasForbiddenControl(text)) throw new NoteError('note text contains a control character');
  if (!isWellFormed(text)) throw new NoteError('note text is not valid Unicode');
}

/** The note: its text, a blank line, and one signature line per signer. */
export function signNote(text: string, signers: Signer | readonly Signer[]): string {
  checkNoteText(text);
  const list = Array.isArray(signers) ? signers : [signers as Signer];
  if (list.length === 0) throw new NoteError('a note needs at least one signer');
  const data = Buffer.from(text, 'utf8');
  const lines = list.map(({ name, privateKey }) => {
    if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}`);
    const id = keyId(name, rawPublicKey(privateKey));
    const signature = crypto.sign(null, data, privateKey);
    const payload = Buffer.alloc(4 + signature.length);
    payload.writeUInt32BE(id, 0);
    signature.copy(payload, 4);
    return `${SIG_PREFIX}${name} ${payload.toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

interface NoteSignature {
  name: string;
  keyId: number;
  signature: Buffer;
  line: string;
}

/** Splits a note into text and signature lines, checking its syntax but no signature. */
export function parseNote(note: string | Uint8Array): {
  text: string;
  signatures: NoteSignature[];
} {
  let message: string;
  if (typeof note === 'string') {
    if (!isWellFormed(note)) throw new NoteError('note is not valid Unicode');
    message = note;
  } else {
    try {
      message = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
    } catch {
      throw new NoteError('note is not valid UTF-8');
    }
  }
  if (hasForbiddenControl(message)) throw new NoteError('note contains a control character');
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('note has no blank line before its signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) {
    throw new NoteError('note signatures must be lines ending in a newline');
  }
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError('note has too many signatures');
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('malformed signature line');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = rest.slice(0, space);
    const payload = space < 0 ? undefined : decodeBase64Strict(rest.slice(space + 1));
    if (!payload || payload.length < 5 || !isValidKeyName(name)) {
      throw new NoteError('malformed signature line');
    }
    return { name, keyId: payload.readUInt32BE(0), signature: payload.subarray(4), line };
  });
  return { text, signatures };
}

interface Trusted {
  verifier: VerifierKey;
  windows: { notBefore?: Date; notAfter?: Date }[];
}

function trustedKeys(verifiers: readonly (string | TrustedKey)[]): Map<string, Trusted> {
  const known = new Map<string, Trusted>();
  for (const entry of verifiers) {
    const spec = typeof entry === 'string' ? { key: entry } : entry;
    const verifier = parseVerifierKey(spec.key);
    const id = `${verifier.name}+${verifier.keyId}`;
    const existing = known.get(id);
    if (existing && !existing.verifier.publicKey.equals(verifier.publicKey)) {
      throw new NoteError(
        `two different keys share the name and id ${verifier.name}+${hex8(verifier.keyId)}`,
      );
    }
    const window = { notBefore: spec.notBefore, notAfter: spec.notAfter };
    if (existing) existing.windows.push(window);
    else known.set(id, { verifier, windows: [window] });
  }
  return known;
}

function validAt(windows: Trusted['windows'], at: Date | undefined): boolean {
  return windows.some(({ notBefore, notAfter }) => {
    if (!notBefore && !notAfter) return true;
    if (!at) return false;
    return (!notBefore || at >= notBefore) && (!notAfter || at <= notAfter);
  });
}

/**
 * Verifies a signed note against trusted keys. Signatures from unknown keys are ignored; a known
 * key's signature that fails to verify rejects the note; at least one known key valid at `at` must
 * have signed.
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: readonly (string | TrustedKey)[],
  options: { at?: Date } = {},
): OpenedNote {
  const known = trustedKeys(verifiers);
  const { text, signatures } = parseNote(note);
  const data = Buffer.from(text, 'utf8');
  const verifiedBy: string[] = [];
  const outOfWindow: string[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    const id = `${sig.name}+${sig.keyId}`;
    const trusted = known.get(id);
    if (!trusted || seen.has(id)) continue;
    seen.add(id);
    const ok =
      sig.signature.length === 64 && crypto.verify(null, data, trusted.verifier.key, sig.signature);
    if (!ok) throw new NoteError(`the signature by ${sig.name} does not verify`);
    if (validAt(trusted.windows, options.at)) verifiedBy.push(sig.name);
    else outOfWindow.push(sig.name);
  }
  if (verifiedBy.length === 0) {
    if (outOfWindow.length > 0) {
      const when = options.at ? `at ${options.at.toISOString()}` : 'without a timestamp';
      throw new NoteError(`signed only by keys not valid ${when}: ${outOfWindow.join(', ')}`);
    }
    throw new NoteError('the note is not signed by any known key');
  }
  return { text, verifiedBy };
}

export function formatCheckpoint(input: CheckpointInput): string {
  const { origin, size, rootHash, timestamp, extensions = [] } = input;
  if (origin.length === 0 || origin.includes('\n')) {
    throw new NoteError('the origin must be one non-empty line');
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new NoteError('the size must be a non-negative integer');
  }
  if (rootHash.length !== HASH_SIZE) throw new NoteError('the root hash must be 32 bytes');
  const lines = [origin, String(size), Buffer.from(rootHash).toString('base64')];
  if (timestamp) {
    if (Number.isNaN(timestamp.getTime())) throw new NoteError('invalid timestamp');
    lines.push(TIMESTAMP_PREFIX + timestamp.toISOString());
  }
  for (const line of extensions) {
    if (line.length === 0 || line.includes('\n')) {
      throw new NoteError('extension lines must be single non-empty lines');
    }
    if (line.startsWith(TIMESTAMP_PREFIX)) throw new NoteError('pass the timestamp as `timestamp`');
    lines.push(line);
  }
  const text = lines.map((l) => `${l}\n`).join('');
  checkNoteText(text);
  return text;
}

export function parseCheckpoint(text: string): Checkpoint {
  checkNoteText(text);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new NoteError('a checkpoint has at least three lines');
  if (lines.some((l) => l.length === 0)) throw new NoteError('checkpoint lines must not be empty');
  const [origin, sizeText, rootText, ...extensions] = lines as [
    string,
    string,
    string,
    ...string[],
  ];
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new NoteError('malformed checkpoint size');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new NoteError('checkpoint size is too large');
  const rootHash = decodeBase64Strict(rootText);
  if (!rootHash || rootHash.length !== HASH_SIZE) {
    throw new NoteError('the checkpoint root hash must be base64 of 32 bytes');
  }
  const stamps = extensions.filter((l) => l.startsWith(TIMESTAMP_PREFIX));
  if (stamps.length > 1) throw new NoteError('a checkpoint has at most one timestamp line');
  let timestamp: Date | undefined;
  if (stamps[0] !== undefined) {
    const value = stamps[0].slice(TIMESTAMP_PREFIX.length);
    timestamp = new Date(value);
    if (Number.isNaN(timestamp.getTime()) || timestamp.toISOString() !== value) {
      throw new NoteError('the timestamp must be ISO 8601 UTC as in 2025-01-02T03:04:05.678Z');
    }
  }
  return { origin, size, rootHash, ...(timestamp ? { timestamp } : {}), extensions };
}

/**
 * Verifies a checkpoint note. Key windows are judged at the checkpoint's timestamp line, or at
 * `options.at` when it has none.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: readonly (string | TrustedKey)[],
  options: { at?: Date; origin?: string } = {},
): { checkpoint: Checkpoint; verifiedBy: string[] } {
  const checkpoint = parseCheckpoint(parseNote(note).text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new NoteError(`checkpoint origin ${checkpoint.origin} is not ${options.origin}`);
  }
  const at = checkpoint.timestamp ?? options.at;
  const { verifiedBy } = openNote(note, verifiers, at ? { at } : {});
  return { checkpoint, verifiedBy };
}
