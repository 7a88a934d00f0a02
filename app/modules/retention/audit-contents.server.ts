// A stand-in until the audit trail's contents path lands (issue 14's other half, built in
// app/modules/audit/retention.server.ts): the same two functions with the same signatures, which
// find nothing and empty nothing. The lead rewires this file to re-export the real ones at merge.

/** Entries whose contents a purge with this cut-off would empty. */
export async function countAuditContentsBefore(cutoff: Date): Promise<number> {
  void cutoff;
  return 0;
}

/** Empties the contents older than the cut-off through the audit module's narrow path. */
export async function purgeAuditContents(
  cutoff: Date,
): Promise<{ emptied: number; fromSeq: number | null; toSeq: number | null }> {
  void cutoff;
  return { emptied: 0, fromSeq: null, toSeq: null };
}
