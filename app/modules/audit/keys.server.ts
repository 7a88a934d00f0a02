import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadKey } from '#app/modules/crypto/keys.server.ts';
import { verifierKeyFor, type Signer, type TrustedKey } from './note.ts';

// The checkpoint signing key (CUSTODIAN_AUDIT_SIGNING_KEY, else <data dir>/keys/audit-signing.pem)
// and the verifier keys trusted when checking checkpoints: the current key's, plus any listed in
// CUSTODIAN_AUDIT_TRUSTED_KEYS (a JSON file of { key, notBefore?, notAfter? }) for rotated keys.
// Trusted keys never come from the database: whoever controls it must not be able to add one.

export interface AuditKeys {
  signer: Signer;
  trusted: TrustedKey[];
  origin: string;
}

const TrustedFileSchema = z.array(
  z.object({
    key: z.string().min(1),
    notBefore: z.iso.datetime().optional(),
    notAfter: z.iso.datetime().optional(),
  }),
);

export function loadAuditKeys(options: {
  dataDir: string;
  production: boolean;
  origin: string;
  trustedFile?: string;
  log?: (line: string) => void;
}): AuditKeys {
  const pem = loadKey({
    variable: 'CUSTODIAN_AUDIT_SIGNING_KEY',
    file: path.join(options.dataDir, 'keys', 'audit-signing.pem'),
    production: options.production,
    log: options.log ?? (() => {}),
    generate: () =>
      generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  });
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem.includes('\n') ? pem : pem.replace(/\\n/g, '\n'));
  } catch {
    throw new Error(
      'Invalid environment variable CUSTODIAN_AUDIT_SIGNING_KEY: not a PEM private key',
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      'Invalid environment variable CUSTODIAN_AUDIT_SIGNING_KEY: must be an Ed25519 key',
    );
  }
  const signer: Signer = { name: options.origin, privateKey };
  const trusted: TrustedKey[] = [{ key: verifierKeyFor(signer) }];
  if (options.trustedFile) {
    const parsed = TrustedFileSchema.safeParse(
      JSON.parse(fs.readFileSync(options.trustedFile, 'utf8')),
    );
    if (!parsed.success) {
      throw new Error(
        `Invalid environment variable CUSTODIAN_AUDIT_TRUSTED_KEYS: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
      );
    }
    for (const k of parsed.data) {
      trusted.push({
        key: k.key,
        notBefore: k.notBefore ? new Date(k.notBefore) : undefined,
        notAfter: k.notAfter ? new Date(k.notAfter) : undefined,
      });
    }
  }
  return { signer, trusted, origin: options.origin };
}
