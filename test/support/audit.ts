import postgres from 'postgres';
import { sequenceBatch, sequencerConnection } from '#app/modules/audit/sequencer.server.ts';
import { sequencerUrl } from './db.ts';

// Audit entries as the log holds them: sequence what is queued, then read the entries back.

export interface LoggedEntry {
  seq: number;
  action: string;
  outcome: string;
  actor: { staffId: string; roles: string[] } | null;
  subjectStaffId: string | null;
  userId: string | null;
  sessionId: string | null;
  client: { address: string | null; userAgent: string | null };
  details: Record<string, unknown>;
  raw: string;
}

export async function flushAudit(url = process.env.DATABASE_URL!) {
  const sql = sequencerConnection(sequencerUrl(url), 1);
  try {
    while ((await sequenceBatch(sql)).appended > 0);
  } finally {
    await sql.end();
  }
}

/** Every entry after `afterSeq`, oldest first. */
export async function readAudit(
  afterSeq = -1,
  url = process.env.DATABASE_URL!,
): Promise<LoggedEntry[]> {
  await flushAudit(url);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ body: string }[]>`
      select body from console.audit_entries where seq > ${afterSeq} order by seq`;
    return rows.map((r) => {
      const raw = r.body;
      return { ...(JSON.parse(raw) as Omit<LoggedEntry, 'raw'>), raw };
    });
  } finally {
    await sql.end();
  }
}

export async function lastSeq(url = process.env.DATABASE_URL!): Promise<number> {
  await flushAudit(url);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<
      { seq: string | null }[]
    >`select max(seq) as seq from console.audit_entries`;
    return row?.seq === null || row?.seq === undefined ? -1 : Number(row.seq);
  } finally {
    await sql.end();
  }
}
