import { checkpointPublishing, logKeyOf } from './publishing.server.ts';
import { auditKeys } from './runs.server.ts';
import type { LogTrust } from './trust.ts';

/** The log's key and where its checkpoints go, from outside the database. */
export function auditLogTrust(): LogTrust {
  const publishing = checkpointPublishing();
  return {
    ...logKeyOf(auditKeys()),
    publishedDir: publishing.dir ?? null,
    publishedDirIsDefault: publishing.dirIsDefault,
    publishedToCommand: Boolean(publishing.command),
  };
}
