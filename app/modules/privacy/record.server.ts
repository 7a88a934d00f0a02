import { desc, eq } from 'drizzle-orm';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { processingRecordVersions } from '#app/db/schema.ts';
import { staffIdOf, type Actor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { retentionPeriods } from '#app/modules/retention-periods.server.ts';
import { qualified, staffName } from '#app/modules/staff-names.server.ts';
import { ConflictError, ForbiddenError, InputError, NotFoundError } from '#app/utils/errors.ts';
import { ProcessingRecordSchema } from './input.server.ts';
import {
  art15Information,
  RECORD_SECTIONS,
  type InformationSection,
  type ProcessingRecord,
  type RecordCategory,
  type RecordSection,
} from './record.ts';

// The record of processing in the database (GDPR Art. 30, ADR 036). Every edit adds a version
// holding the whole record, with who and when; older versions stay readable and unchanged (the
// app's role may not update or delete them, drizzle/0032). Edited by holders of privacy:process,
// read by them and by security:review (the route's declaration). The access package's Art. 15
// information is drawn from the newest version (art15Now), so the two never disagree.

export interface RecordVersion {
  version: number;
  record: ProcessingRecord;
  editedAt: string;
  /** Null for the version the migration seeded. */
  editedBy: string | null;
  editorName: string | null;
}

export interface RecordVersionSummary {
  version: number;
  editedAt: string;
  editorName: string | null;
}

type Db = Tx | ReturnType<typeof getDb>;

const columns = {
  version: processingRecordVersions.version,
  content: processingRecordVersions.content,
  editedAt: processingRecordVersions.editedAt,
  editedBy: processingRecordVersions.editedBy,
  editorName: staffName(qualified(processingRecordVersions.editedBy)),
};

function versionOf(row: {
  version: number;
  content: unknown;
  editedAt: Date;
  editedBy: string | null;
  editorName: string | null;
}): RecordVersion {
  return {
    version: row.version,
    // Stored by saveRecord() after this same check; checked again so a bad row fails loudly here
    // rather than as a wrong package.
    record: ProcessingRecordSchema.parse(row.content),
    editedAt: row.editedAt.toISOString(),
    editedBy: row.editedBy,
    editorName: row.editedBy ? row.editorName : null,
  };
}

/** The newest version of the record (the migration seeds version 1, so there always is one). */
export async function currentRecord(db: Db = getDb()): Promise<RecordVersion> {
  const [row] = await db
    .select(columns)
    .from(processingRecordVersions)
    .orderBy(desc(processingRecordVersions.version))
    .limit(1);
  if (!row) throw new Error('The record of processing has no version (migration 0032 seeds one)');
  return versionOf(row);
}

/** One version of the record, current or older. */
export async function recordVersion(version: number): Promise<RecordVersion> {
  const [row] = await getDb()
    .select(columns)
    .from(processingRecordVersions)
    .where(eq(processingRecordVersions.version, version));
  if (!row) throw new NotFoundError(`The record of processing has no version ${version}`);
  return versionOf(row);
}

/** Every version, newest first: who made it and when (a few a year: no paging needed). */
export async function recordVersions(): Promise<RecordVersionSummary[]> {
  const rows = await getDb()
    .select({
      version: columns.version,
      editedAt: columns.editedAt,
      editedBy: columns.editedBy,
      editorName: columns.editorName,
    })
    .from(processingRecordVersions)
    .orderBy(desc(processingRecordVersions.version));
  return rows.map((r) => ({
    version: r.version,
    editedAt: r.editedAt.toISOString(),
    editorName: r.editedBy ? r.editorName : null,
  }));
}

/**
 * How long a category of data is kept, as the user is told. THE ONE PLACE retention is read: the
 * record's own text, and when the category names a retention policy (console.retention_policies,
 * ADR 032), that policy's live period, so an admin's change of a period reaches the record page
 * and every access package made after it.
 */
export async function retentionFor(category: RecordCategory, db: Db = getDb()): Promise<string> {
  if (!category.policy) return category.retention;
  const days = (await retentionPeriods(db)).get(category.policy);
  if (days === undefined) return category.retention;
  return `${category.retention} Our retention policy removes it after ${days.toLocaleString('en-US')} day${days === 1 ? '' : 's'} at the latest.`;
}

/** The retention policies a record's category may name (their order on the form). */
export async function retentionPolicyNames(db: Db = getDb()): Promise<string[]> {
  return [...(await retentionPeriods(db)).keys()];
}

/** The Art. 15 information of a version (its retention read through retentionFor()). */
export async function art15Of(record: ProcessingRecord, db: Db = getDb()) {
  const retention: string[] = [];
  for (const c of record.categories) retention.push(await retentionFor(c, db));
  return art15Information(record, retention);
}

/** The Art. 15 information every access package carries: the current version's. */
export async function art15Now(db: Db = getDb()): Promise<InformationSection[]> {
  return art15Of((await currentRecord(db)).record, db);
}

/** The sections a new version changes from the one before. */
export function changedSections(
  before: ProcessingRecord,
  after: ProcessingRecord,
): RecordSection[] {
  return RECORD_SECTIONS.filter((s) => JSON.stringify(before[s]) !== JSON.stringify(after[s]));
}

/**
 * Saves an edit as a new version, made from `baseVersion` (the version the form showed): refused
 * (409) when another edit came first, so no edit silently undoes another; refused (400) when it
 * changes nothing. Audited (the version and the sections changed, never their text) in the same
 * transaction.
 */
export async function saveRecord(
  actor: Actor,
  baseVersion: number,
  input: ProcessingRecord,
): Promise<{ version: number; changed: RecordSection[] }> {
  if (actor.kind === 'staff' && !actor.permissions.has('privacy:process')) {
    throw new ForbiddenError(
      'Editing the record of processing takes the privacy:process permission',
    );
  }
  const record = ProcessingRecordSchema.parse(input);
  const policies = new Set(await retentionPolicyNames());
  record.categories.forEach((c, i) => {
    if (c.policy && !policies.has(c.policy)) {
      throw new InputError(`categories.${i}.policy`, 'Choose one of the listed retention policies');
    }
  });
  return getDb().transaction(async (tx) => {
    const current = await currentRecord(tx);
    if (current.version !== baseVersion) {
      throw new ConflictError(
        `The record changed since you opened it (version ${baseVersion}; it is now version ${current.version}): reload it and make your edit again`,
      );
    }
    const changed = changedSections(current.record, record);
    if (changed.length === 0) throw new InputError('form', 'Nothing changed: no new version made');
    const version = current.version + 1;
    // Two edits from the same version: the second waits on the first's key, then finds it taken.
    const inserted = await tx
      .insert(processingRecordVersions)
      .values({ version, content: record, editedBy: staffIdOf(actor), editedAt: now() })
      .onConflictDoNothing()
      .returning({ version: processingRecordVersions.version });
    if (inserted.length === 0) {
      throw new ConflictError(
        `The record changed since you opened it (version ${baseVersion}): reload it and make your edit again`,
      );
    }
    await recordAudit(
      actor,
      {
        action: 'privacy.record_edit',
        outcome: 'allowed',
        details: { version, from: current.version, changed },
      },
      tx,
    );
    return { version, changed };
  });
}
