import path from 'node:path';
import { dataDir, env } from '#app/config.server.ts';
import { keyFingerprint, verifierKeyFor } from './note.ts';
import type { AuditKeys } from './keys.server.ts';

// Where checkpoints are published outside the database, and the log's key as auditors get it.
// A checkpoint kept only in the database proves nothing against whoever controls the database:
// they can cut the log and its stored checkpoints together. So the embedded default, where
// Custodian owns the data folder, publishes to <data dir>/checkpoints/ unless
// CUSTODIAN_AUDIT_CHECKPOINT_DIR or _COMMAND says otherwise, and a server with nowhere to publish
// says so (ADR 017).

export interface CheckpointPublishing {
  /** The folder each new checkpoint is written to, and `audit verify` reads. */
  dir?: string;
  /** A shell command given each new checkpoint on stdin. */
  command?: string;
  /** True when `dir` is the embedded default's <data dir>/checkpoints/, not configured. */
  dirIsDefault: boolean;
}

export function resolveCheckpointPublishing(options: {
  dir?: string;
  command?: string;
  dataDir: string;
  /** No DATABASE_URL: Custodian owns the database and the data folder. */
  embedded: boolean;
}): CheckpointPublishing {
  if (options.dir || options.command) {
    return {
      ...(options.dir ? { dir: path.resolve(options.dir) } : {}),
      ...(options.command ? { command: options.command } : {}),
      dirIsDefault: false,
    };
  }
  if (options.embedded) {
    return { dir: path.join(options.dataDir, 'checkpoints'), dirIsDefault: true };
  }
  return { dirIsDefault: false };
}

export const publishesNowhere = (p: CheckpointPublishing) => !p.dir && !p.command;

/** One line for the start-up output. */
export function describePublishing(p: CheckpointPublishing): string {
  if (publishesNowhere(p)) {
    return (
      'WARNING: audit checkpoints are published nowhere outside the database (set ' +
      'CUSTODIAN_AUDIT_CHECKPOINT_DIR or CUSTODIAN_AUDIT_CHECKPOINT_COMMAND): whoever controls ' +
      'the database can cut the log and its stored checkpoints without verification noticing.'
    );
  }
  const to = [
    p.dir ? `${p.dir}${p.dirIsDefault ? ' (the default for the embedded database)' : ''}` : '',
    p.command ? 'the command in CUSTODIAN_AUDIT_CHECKPOINT_COMMAND' : '',
  ].filter(Boolean);
  return `Audit checkpoints are published to ${to.join(' and to ')}`;
}

// NOTE: the web build (build/index.js) holds its own copy of the configuration module, which
// parses the environment after start-up has put the embedded server's URL into DATABASE_URL; it
// cannot tell the embedded default from a configured database. So start-up records what it
// resolved here, process-wide, and the build's modules read it back.
const PUBLISHING = Symbol.for('custodian.audit.publishing');
const holder = globalThis as unknown as { [PUBLISHING]?: CheckpointPublishing };

export function setCheckpointPublishing(p: CheckpointPublishing) {
  holder[PUBLISHING] = p;
}

/** What start-up resolved; without a start-up (tests), the configuration alone. */
export function checkpointPublishing(): CheckpointPublishing {
  const set = holder[PUBLISHING];
  if (set) return set;
  const config = env();
  return resolveCheckpointPublishing({
    dir: config.CUSTODIAN_AUDIT_CHECKPOINT_DIR,
    command: config.CUSTODIAN_AUDIT_CHECKPOINT_COMMAND,
    dataDir: dataDir(),
    embedded: !config.DATABASE_URL,
  });
}

export interface LogKey {
  /** The C2SP verifier key string: `<origin>+<key id>+<base64>`. */
  key: string;
  fingerprint: string;
}

/** The verifier key of the key that signs checkpoints now, and its fingerprint. */
export function logKeyOf(keys: AuditKeys): LogKey {
  const key = verifierKeyFor(keys.signer);
  return { key, fingerprint: keyFingerprint(key) };
}
