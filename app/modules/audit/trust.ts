// What /audit/verify shows about trust: the log's key as auditors should get it, and where
// checkpoints are published outside the database. Browser-safe: the page's component renders it.

export interface LogTrust {
  /** The C2SP verifier key string that `node verify.mjs --key` takes. */
  key: string;
  /** `SHA256:` and the hex SHA-256 of the key string. */
  fingerprint: string;
  /** The folder checkpoints are published to, if any. */
  publishedDir: string | null;
  /** True when that folder is the embedded default's, not configured. */
  publishedDirIsDefault: boolean;
  /** Whether a command receives each checkpoint (the command itself is not shown: it may hold secrets). */
  publishedToCommand: boolean;
}
