import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { KeyRing, VersionedKey } from './keys.server.ts';

// Envelope encryption: every end user has a 32-byte data key (AES-256-GCM), stored wrapped by the
// master key. A ciphertext is bound by its additional data to the field, the user and the row it
// belongs to, so a value copied elsewhere fails to decrypt.
//
// Layout of a field ciphertext: 0x01 | data key version (u16 BE) | IV (12) | ciphertext | tag (16)

const FORMAT = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER = 1 + 2 + IV_BYTES;

export class DecryptionError extends Error {}

export interface DataKey {
  userId: string;
  version: number;
  key: Buffer;
}

export interface WrappedDataKey {
  userId: string;
  keyVersion: number;
  masterKeyId: string;
  wrappedKey: Buffer;
}

function wrapAad(userId: string, version: number) {
  return Buffer.from(`custodian:user-key:v1|${userId}|${version}`);
}

function fieldAad(field: string, userId: string, rowId: string) {
  return Buffer.from(`custodian:field:v1|${field}|${userId}|${rowId}`);
}

// IVs are slices of a pooled buffer of CSPRNG bytes: one call for 1,024 IVs instead of one per
// value (a third of the seed's time went to that per-call overhead). A slice is handed out once
// and the pool is never refilled in place, so no IV is ever reused.
const IV_POOL_BYTES = IV_BYTES * 1024;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function freshIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

function seal(key: Buffer, plaintext: Uint8Array, aad: Buffer, iv = freshIv()) {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, body, tag: cipher.getAuthTag() };
}

function open(key: Buffer, iv: Buffer, body: Buffer, tag: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new DecryptionError('ciphertext does not authenticate under this key, field and row');
  }
}

export function newDataKey(userId: string, version = 1): DataKey {
  return { userId, version, key: randomBytes(32) };
}

export function wrapDataKey(dataKey: DataKey, master: VersionedKey): WrappedDataKey {
  const { iv, body, tag } = seal(master.key, dataKey.key, wrapAad(dataKey.userId, dataKey.version));
  return {
    userId: dataKey.userId,
    keyVersion: dataKey.version,
    masterKeyId: master.id,
    wrappedKey: Buffer.concat([iv, body, tag]),
  };
}

export function unwrapDataKey(wrapped: WrappedDataKey, ring: KeyRing): DataKey {
  const master = [ring.master, ...ring.previousMasters].find((k) => k.id === wrapped.masterKeyId);
  if (!master) throw new DecryptionError(`master key ${wrapped.masterKeyId} is not loaded`);
  const w = wrapped.wrappedKey;
  const key = open(
    master.key,
    w.subarray(0, IV_BYTES),
    w.subarray(IV_BYTES, w.length - TAG_BYTES),
    w.subarray(w.length - TAG_BYTES),
    wrapAad(wrapped.userId, wrapped.keyVersion),
  );
  return { userId: wrapped.userId, version: wrapped.keyVersion, key };
}

export function encryptField(dataKey: DataKey, field: string, rowId: string, value: string) {
  return encryptBytes(dataKey, field, rowId, Buffer.from(value, 'utf8'));
}

export function decryptField(dataKey: DataKey, field: string, rowId: string, sealed: Buffer) {
  return decryptBytes(dataKey, field, rowId, sealed).toString('utf8');
}

/** Bytes sealed as a field is (same layout and binding): an export package's chunk. */
export function encryptBytes(dataKey: DataKey, field: string, rowId: string, value: Uint8Array) {
  const { iv, body, tag } = seal(dataKey.key, value, fieldAad(field, dataKey.userId, rowId));
  const header = Buffer.alloc(3);
  header[0] = FORMAT;
  header.writeUInt16BE(dataKey.version, 1);
  return Buffer.concat([header, iv, body, tag]);
}

export function decryptBytes(dataKey: DataKey, field: string, rowId: string, sealed: Buffer) {
  if (sealed.length < HEADER + TAG_BYTES || sealed[0] !== FORMAT) {
    throw new DecryptionError(`${field}: not a Custodian ciphertext`);
  }
  const version = sealed.readUInt16BE(1);
  if (version !== dataKey.version) {
    throw new DecryptionError(`${field}: sealed under data key version ${version}`);
  }
  return open(
    dataKey.key,
    sealed.subarray(3, HEADER),
    sealed.subarray(HEADER, sealed.length - TAG_BYTES),
    sealed.subarray(sealed.length - TAG_BYTES),
    fieldAad(field, dataKey.userId, rowId),
  );
}

function secretAad(purpose: string, rowId: string) {
  return Buffer.from(`custodian:secret:v1|${purpose}|${rowId}`);
}

/**
 * A staff secret (an authenticator app's key) sealed under the master key itself, bound to its
 * purpose and row: IV | ciphertext | tag. Store the master key's id beside it.
 */
export function sealSecret(
  master: VersionedKey,
  purpose: string,
  rowId: string,
  value: Uint8Array,
) {
  const { iv, body, tag } = seal(master.key, value, secretAad(purpose, rowId));
  return Buffer.concat([iv, body, tag]);
}

/** Opens sealSecret's bytes with the master key `masterKeyId` of the ring (current or previous). */
export function openSecret(
  ring: KeyRing,
  masterKeyId: string,
  purpose: string,
  rowId: string,
  sealed: Buffer,
): Buffer {
  const master = [ring.master, ...ring.previousMasters].find((k) => k.id === masterKeyId);
  if (!master) throw new DecryptionError(`master key ${masterKeyId} is not loaded`);
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptionError(`${purpose}: too short`);
  return open(
    master.key,
    sealed.subarray(0, IV_BYTES),
    sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES),
    sealed.subarray(sealed.length - TAG_BYTES),
    secretAad(purpose, rowId),
  );
}

export function normaliseEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

/** The keyed blind index of an email: equal emails give equal bytes, and nothing else leaks. */
export function emailBlindIndex(index: VersionedKey, email: string): Buffer {
  return createHmac('sha256', index.key)
    .update(`email|${normaliseEmail(email)}`)
    .digest();
}

/** "jane@example.com" → "j•••@example.com": kept in clear for lookup cards. */
export function maskEmail(email: string): string {
  const normal = normaliseEmail(email);
  const at = normal.lastIndexOf('@');
  if (at < 1) return '•••';
  const first = Array.from(normal.slice(0, at))[0] ?? '';
  return `${first}•••${normal.slice(at)}`;
}
