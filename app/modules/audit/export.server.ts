import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type postgres from 'postgres';
import { MerkleFrontier, rangeNodes } from './merkle.ts';
import type { TrustedKey } from './note.ts';
import { checkpointCovering } from './proofs.server.ts';

// An audit bundle anyone can verify with Node.js alone: entries.jsonl (each line's bytes are the
// leaf), the checkpoints, the verifier keys (informational: verify.mjs checks against keys given
// on its command line), a manifest with the frontier of the entries before the range, the stored
// leaf hashes (a locator for errors), verify.mjs, and a README.txt on the trust model.

const here = path.dirname(fileURLToPath(import.meta.url));
export const VERIFIER_SOURCE = path.join(here, 'verify-bundle.mjs');

/** The bundle's own explanation: what it proves, against whom, and where the key must come from. */
export const BUNDLE_README = `Custodian audit bundle
======================

entries.jsonl      the log's entries, one JSON object a line; each line's bytes are a leaf of an
                   RFC 6962 Merkle tree, and each entry links to the previous leaf ("prev")
checkpoints/       C2SP checkpoints: the tree's size and root, signed with the log's Ed25519 key
manifest.json      the log's name (origin) and where this range starts
leaf-hashes.txt    the leaf hash the log recorded for each line (to name an edited entry exactly)
                   A line {"purged": {"leaf", "run"}, "seq"} is an entry whose contents the
                   retention policy removed: its leaf hash stays, and the log's
                   audit.contents_purged entry of that run, also here, records the removal
keys.json          the keys the exporting console trusted: informational only, see below
verify.mjs         a standalone verifier (Node.js built-ins only)

Verify it
---------

  node verify.mjs --key '<the log's verifier key>' .
  node verify.mjs --trusted-keys keys-with-periods.json --checkpoint <published folder> .

Exit codes: 0 intact and signed by a key you gave; 1 a problem found (the first position is
named first); 2 bad usage; 3 consistent, but no key was given: NOT VERIFIED.

What this proves, and against whom
----------------------------------

When verify.mjs exits 0, every entry here is exactly what the log held when a checkpoint signed
with the log's key covered it: nothing was changed, removed, reordered or inserted since, by the
database's administrators, by whoever stored or sent this bundle, or by anyone else without that
key. It does not prove that the console recorded every action, nor anything against the holder of
the signing key. Everything in this folder, verify.mjs and keys.json included, is in the hands of
whoever handed it to you: a forger can rewrite entries, recompute every hash and root, sign new
checkpoints with a key of their own and put that key in keys.json. So the key must reach you by
another channel than the bundle: ask the log's operator for the output of
\`npx custodian audit key\` (the verifier key, e.g. custodian.local/audit+1a2b3c4d+AX...) in
person or over a channel you already trust, and compare its fingerprint
(printf %s "$KEY" | sha256sum) with the one the console shows on /audit/verify and prints at
start-up. Prefer a verify.mjs you obtained yourself (app/modules/audit/verify-bundle.mjs in the
Custodian source) to the copy here. A log cut back together with its last checkpoints looks
intact on its own: pass the checkpoints the console published outside its database with
--checkpoint FILE or --checkpoint FOLDER to catch that.
`;

export interface ExportResult {
  dir: string;
  firstSeq: number;
  entries: number;
  checkpoints: number;
}

export async function exportBundle(options: {
  sql: postgres.Sql;
  out: string;
  origin: string;
  trusted: TrustedKey[];
  from?: Date;
  to?: Date;
}): Promise<ExportResult> {
  const { sql } = options;
  const [range] = (await sql`
    select min(seq) as first, max(seq) as last from console.audit_entries
    where (${options.from ?? null}::timestamptz is null or occurred_at >= ${options.from ?? null})
      and (${options.to ?? null}::timestamptz is null or occurred_at < ${options.to ?? null})`) as unknown as {
    first: string | null;
    last: string | null;
  }[];
  fs.mkdirSync(path.join(options.out, 'checkpoints'), { recursive: true });
  const firstSeq = range?.first === null || range?.first === undefined ? 0 : Number(range.first);
  // The range runs to the end of the first checkpoint that covers its last entry.
  const covering =
    range?.last !== null && range?.last !== undefined
      ? await checkpointCovering(sql, Number(range.last))
      : null;
  // Without a covering checkpoint the bundle still carries every entry (its verifier will say
  // which ones no checkpoint vouches for).
  let end = covering
    ? covering.treeSize
    : range?.last !== null && range?.last !== undefined
      ? Number(range.last) + 1
      : firstSeq;
  // An entry emptied by the retention purge is verified by the log's record of its run (ADR 033):
  // the bundle reaches as far as the last such record of a run that emptied an entry in it.
  const [record] = (await sql`
    select max(r.seq)::text as seq from console.audit_entries r
    where r.action = 'audit.contents_purged'
      and (r.body::jsonb #>> '{details,run}')::bigint in (
        select distinct purged_by from console.audit_entries
        where seq >= ${firstSeq} and seq < ${end} and purged_by is not null)`) as unknown as {
    seq: string | null;
  }[];
  if (record?.seq !== null && record?.seq !== undefined && Number(record.seq) >= end) {
    const last = Number(record.seq);
    end = (await checkpointCovering(sql, last))?.treeSize ?? last + 1;
  }

  const entriesFile = fs.createWriteStream(path.join(options.out, 'entries.jsonl'));
  const hashes: string[] = [];
  let after = firstSeq - 1;
  let count = 0;
  while (after + 1 < end) {
    const rows = (await sql`
      select e.seq, e.body, e.raw, e.purged_by, l.leaf_hash from console.audit_entries e
      join console.audit_leaves l using (seq)
      where e.seq > ${after} and e.seq < ${end} order by e.seq limit 20000`) as unknown as {
      seq: string;
      body: string | null;
      raw: Buffer | null;
      purged_by: string | null;
      leaf_hash: Buffer;
    }[];
    if (rows.length === 0) break;
    for (const row of rows) {
      // An invalid entry (ADR 018) is written as the bytes that were queued, which are its leaf;
      // an entry emptied by the retention purge (ADR 033) as its leaf hash and the run.
      const line =
        row.body ??
        (row.purged_by !== null && row.raw === null
          ? JSON.stringify({
              purged: { leaf: row.leaf_hash.toString('base64'), run: Number(row.purged_by) },
              seq: Number(row.seq),
            })
          : Buffer.concat([row.raw ?? Buffer.alloc(0), Buffer.from('\n')]));
      if (!entriesFile.write(typeof line === 'string' ? `${line}\n` : line)) {
        await new Promise<void>((r) => entriesFile.once('drain', () => r()));
      }
      hashes.push(row.leaf_hash.toString('base64'));
      count++;
    }
    after = Number(rows[rows.length - 1]!.seq);
  }
  await new Promise<void>((resolve, reject) =>
    entriesFile.end((e?: Error | null) => (e ? reject(e) : resolve())),
  );
  fs.writeFileSync(
    path.join(options.out, 'leaf-hashes.txt'),
    hashes.length ? `${hashes.join('\n')}\n` : '',
  );

  const checkpoints = (await sql`
    select id, tree_size, note from console.audit_checkpoints
    where tree_size > ${firstSeq} and tree_size <= ${end} order by tree_size, id`) as unknown as {
    id: string;
    tree_size: string;
    note: string;
  }[];
  for (const cp of checkpoints) {
    fs.writeFileSync(
      path.join(
        options.out,
        'checkpoints',
        `${String(cp.tree_size).padStart(12, '0')}-${cp.id}.txt`,
      ),
      cp.note,
    );
  }

  let frontier: MerkleFrontier | undefined;
  if (firstSeq > 0) {
    const nodes = rangeNodes(0, firstSeq);
    const found = new Map<string, Buffer>();
    for (const n of nodes) {
      const [row] = (n.level === 0
        ? await sql`select leaf_hash as hash from console.audit_leaves where seq = ${n.index}`
        : await sql`select hash from console.audit_nodes where level = ${n.level} and idx = ${n.index}`) as unknown as {
        hash: Buffer;
      }[];
      if (!row) throw new Error(`the log lacks subtree ${n.level}/${n.index}`);
      found.set(`${n.level}:${n.index}`, row.hash);
    }
    frontier = MerkleFrontier.fromHashAt(
      (level, index) => found.get(`${level}:${index}`)!,
      firstSeq,
    );
  }
  fs.writeFileSync(
    path.join(options.out, 'manifest.json'),
    `${JSON.stringify({ origin: options.origin, firstSeq, ...(frontier ? { frontier: frontier.toJSON() } : {}) }, null, 2)}\n`,
  );
  fs.writeFileSync(
    path.join(options.out, 'keys.json'),
    `${JSON.stringify(
      options.trusted.map((k) => ({
        key: k.key,
        ...(k.notBefore ? { notBefore: k.notBefore.toISOString() } : {}),
        ...(k.notAfter ? { notAfter: k.notAfter.toISOString() } : {}),
      })),
      null,
      2,
    )}\n`,
  );
  fs.copyFileSync(VERIFIER_SOURCE, path.join(options.out, 'verify.mjs'));
  fs.writeFileSync(path.join(options.out, 'README.txt'), BUNDLE_README);
  return { dir: options.out, firstSeq, entries: count, checkpoints: checkpoints.length };
}
