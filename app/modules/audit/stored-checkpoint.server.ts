import { openCheckpoint, type Checkpoint, type TrustedKey } from './note.ts';

// A stored checkpoint row is a copy of its signed note plus bookkeeping; only the note is signed.
// The sequencer and verification both judge a row by its note: a row whose columns disagree with
// the note it carries (a tree size nobody signed, another root, another key) is not a checkpoint.

export interface StoredCheckpointRow {
  id: string;
  tree_size: string | number;
  root: Buffer;
  note: string;
  key_name: string;
  created_at: Date | string;
}

/** The note's timestamp and the row's created_at come from one clock reading; older rows may
 * have read the clock twice. */
const CREATED_AT_SLACK_MS = 1_000;

/** What a stored row's columns say that its (opened, signed) note does not; null when all agree. */
export function storedCheckpointMismatch(
  row: StoredCheckpointRow,
  opened: { checkpoint: Checkpoint; verifiedBy: string[] },
): string | null {
  const { checkpoint, verifiedBy } = opened;
  const size = Number(row.tree_size);
  if (size !== checkpoint.size) {
    return `its tree_size ${row.tree_size} is not the signed tree size ${checkpoint.size}`;
  }
  if (!Buffer.from(checkpoint.rootHash).equals(row.root)) return 'its root is not the signed root';
  if (!verifiedBy.includes(row.key_name)) {
    return `its key_name ${JSON.stringify(row.key_name)} did not sign it`;
  }
  const created = new Date(row.created_at).getTime();
  if (
    checkpoint.timestamp &&
    !(Math.abs(created - checkpoint.timestamp.getTime()) <= CREATED_AT_SLACK_MS)
  ) {
    return `its created_at is not the signed timestamp ${checkpoint.timestamp.toISOString()}`;
  }
  return null;
}

/**
 * The checkpoint a stored row carries, when its note is signed by a trusted key and every column
 * says what the note says; else throws an Error saying what is wrong.
 */
export function openStoredCheckpoint(
  row: StoredCheckpointRow,
  trusted: readonly TrustedKey[],
  origin: string,
): Checkpoint {
  const opened = openCheckpoint(row.note, trusted, { origin });
  const mismatch = storedCheckpointMismatch(row, opened);
  if (mismatch) throw new Error(mismatch);
  return opened.checkpoint;
}
