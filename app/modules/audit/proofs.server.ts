import type postgres from 'postgres';
import {
  assembleProof,
  consistencyProofNodes,
  inclusionProofNodes,
  MerkleFrontier,
  nodeHash,
  rangeNodes,
  type NodeId,
  type ProofNode,
} from './merkle.ts';

// Inclusion and consistency proofs from the stored perfect-subtree hashes (audit_leaves for level
// 0, audit_nodes above): O(log n) rows read in one query, whatever the size of the log.

async function fetchNodes(sql: postgres.Sql, proof: readonly ProofNode[]) {
  const wanted: NodeId[] = proof.flat();
  const leaves = wanted.filter((n) => n.level === 0).map((n) => n.index);
  const inner = wanted.filter((n) => n.level > 0);
  const found = new Map<string, Buffer>();
  if (leaves.length) {
    const rows = (await sql`
      select seq, leaf_hash from console.audit_leaves where seq = any(${leaves}::bigint[])`) as unknown as {
      seq: string;
      leaf_hash: Buffer;
    }[];
    for (const r of rows) found.set(`0:${r.seq}`, r.leaf_hash);
  }
  if (inner.length) {
    const rows = (await sql`
      select n.level, n.idx, n.hash from console.audit_nodes n
      join unnest(${inner.map((n) => n.level)}::smallint[], ${inner.map((n) => n.index)}::bigint[])
        as w(level, idx) on w.level = n.level and w.idx = n.idx`) as unknown as {
      level: number;
      idx: string;
      hash: Buffer;
    }[];
    for (const r of rows) found.set(`${r.level}:${r.idx}`, r.hash);
  }
  return (level: number, index: number) => {
    const hash = found.get(`${level}:${index}`);
    if (!hash) throw new Error(`the log lacks the hash of subtree ${level}/${index}`);
    return hash;
  };
}

export async function inclusionProofFor(sql: postgres.Sql, seq: number, treeSize: number) {
  const nodes = inclusionProofNodes(seq, treeSize);
  return assembleProof(nodes, await fetchNodes(sql, nodes));
}

export async function consistencyProofFor(sql: postgres.Sql, size1: number, size2: number) {
  const nodes = consistencyProofNodes(size1, size2);
  return assembleProof(nodes, await fetchNodes(sql, nodes));
}

interface CheckpointRow {
  tree_size: string;
  root: Buffer;
  note: string;
  created_at: Date;
}

function checkpointOf(row: CheckpointRow | undefined) {
  return row
    ? { treeSize: Number(row.tree_size), root: row.root, note: row.note, createdAt: row.created_at }
    : null;
}

export async function latestCheckpoint(sql: postgres.Sql) {
  const [row] = (await sql`
    select tree_size, root, note, created_at from console.audit_checkpoints
    order by tree_size desc, id desc limit 1`) as unknown as CheckpointRow[];
  return checkpointOf(row);
}

/** The checkpoint covering an entry: the first one whose tree includes it. */
export async function checkpointCovering(sql: postgres.Sql, seq: number) {
  const [row] = (await sql`
    select tree_size, root, note, created_at from console.audit_checkpoints
    where tree_size > ${seq} order by tree_size, id limit 1`) as unknown as CheckpointRow[];
  return checkpointOf(row);
}

/** The root of the first `size` entries, from the stored perfect-subtree hashes. */
export async function rootAt(sql: postgres.Sql, size: number): Promise<Buffer> {
  const nodes = rangeNodes(0, size);
  const hashAt = await fetchNodes(sql, [nodes]);
  let root = hashAt(nodes[nodes.length - 1]!.level, nodes[nodes.length - 1]!.index);
  for (let i = nodes.length - 2; i >= 0; i--)
    root = nodeHash(hashAt(nodes[i]!.level, nodes[i]!.index), root);
  return root;
}

/** The frontier of the first `size` entries, from the stored perfect-subtree hashes. */
export async function frontierAt(sql: postgres.Sql, size: number): Promise<MerkleFrontier> {
  if (size === 0) return new MerkleFrontier();
  const nodes = rangeNodes(0, size);
  return MerkleFrontier.fromHashAt(await fetchNodes(sql, [nodes]), size);
}
