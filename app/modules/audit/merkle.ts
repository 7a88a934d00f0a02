import crypto from 'node:crypto';

// RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256.
//
// Trees are described by their leaf hashes. Proof generation is written against a `HashAt`
// function returning the hash of a *perfect* subtree: `hashAt(level, index)` is the root of the
// 2^level leaves [index * 2^level, (index + 1) * 2^level). Level 0 is the leaf hashes themselves.
// Every node of a proof is either such a perfect subtree or a right-edge range that folds from a
// few of them, so a store that keeps leaf hashes (and optionally interior levels) can answer
// proofs. When the store is asynchronous, call `inclusionProofNodes` / `consistencyProofNodes` to
// learn which perfect subtrees are needed, fetch them in one query, then `assembleProof`.

export const HASH_SIZE = 32;

export type HashAt = (level: number, index: number) => Buffer;

/** A perfect subtree: the 2^level leaves starting at leaf index * 2^level. */
export interface NodeId {
  level: number;
  index: number;
}

/** One proof element: the Merkle hash of the range covered by these perfect subtrees, left to right. */
export type ProofNode = NodeId[];

// crypto.hash (Node >= 20.12) is a one-shot digest, about 40% faster than createHash for the
// small inputs of a tree; fall back to createHash on older runtimes.
const oneShot = (crypto as { hash?: unknown }).hash as
  ((algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer) | undefined;

function sha256(data: Uint8Array): Buffer {
  return oneShot
    ? oneShot('sha256', data, 'buffer')
    : crypto.createHash('sha256').update(data).digest();
}

const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
let leafScratch = Buffer.alloc(1024);

export const EMPTY_ROOT: Buffer = sha256(new Uint8Array(0));

export function emptyRoot(): Buffer {
  return Buffer.from(EMPTY_ROOT);
}

export function leafHash(entry: Uint8Array): Buffer {
  if (entry.length + 1 > leafScratch.length) {
    leafScratch = Buffer.alloc(Math.max(entry.length + 1, leafScratch.length * 2));
  }
  leafScratch[0] = 0x00;
  leafScratch.set(entry, 1);
  return sha256(leafScratch.subarray(0, entry.length + 1));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeScratch[0] = 0x01;
    nodeScratch.set(left, 1);
    nodeScratch.set(right, 1 + HASH_SIZE);
    return sha256(nodeScratch);
  }
  return sha256(Buffer.concat([Buffer.from([0x01]), left, right]));
}

/** MTH(D[n]) over the given leaf hashes; the empty tree hashes to SHA-256(""). */
export function rootOf(leafHashes: readonly Uint8Array[]): Buffer {
  if (leafHashes.length === 0) return emptyRoot();
  // Pairing level by level and promoting an odd last node unchanged gives the same tree as the
  // RFC's split at the largest power of two.
  let level: Uint8Array[] = leafHashes.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return Buffer.from(level[0]!);
}

function checkSize(name: string, value: number) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The perfect subtrees covering [lo, hi), largest first, for the ranges RFC 6962 proofs use. */
export function rangeNodes(lo: number, hi: number): NodeId[] {
  const nodes: NodeId[] = [];
  while (lo < hi) {
    let level = 0;
    let size = 1;
    while (lo % (size * 2) === 0 && lo + size * 2 <= hi) {
      size *= 2;
      level++;
    }
    nodes.push({ level, index: lo / size });
    lo += size;
  }
  return nodes;
}

function foldRange(nodes: ProofNode, hashAt: HashAt): Buffer {
  const last = nodes[nodes.length - 1];
  if (!last) throw new RangeError('empty proof node');
  let hash = hashAt(last.level, last.index);
  for (let i = nodes.length - 2; i >= 0; i--) {
    const node = nodes[i]!;
    hash = nodeHash(hashAt(node.level, node.index), hash);
  }
  return hash;
}

/** RFC 9162 §2.1.3.1 PATH(index, D[treeSize]) as ranges of perfect subtrees. */
export function inclusionProofNodes(index: number, treeSize: number): ProofNode[] {
  checkSize('index', index);
  checkSize('treeSize', treeSize);
  if (index >= treeSize) throw new RangeError(`index ${index} is not below treeSize ${treeSize}`);
  const out: ProofNode[] = [];
  const path = (m: number, lo: number, hi: number) => {
    const n = hi - lo;
    if (n === 1) return;
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      path(m, lo, lo + k);
      out.push(rangeNodes(lo + k, hi));
    } else {
      path(m - k, lo + k, hi);
      out.push(rangeNodes(lo, lo + k));
    }
  };
  path(index, 0, treeSize);
  return out;
}

/**
 * RFC 9162 §2.1.4.1 PROOF(size1, D[size2]) as ranges of perfect subtrees. Empty when
 * size1 == size2 or size1 == 0 (there is nothing to prove).
 */
export function consistencyProofNodes(size1: number, size2: number): ProofNode[] {
  checkSize('size1', size1);
  checkSize('size2', size2);
  if (size1 > size2) throw new RangeError(`size1 ${size1} is greater than size2 ${size2}`);
  const out: ProofNode[] = [];
  if (size1 === 0 || size1 === size2) return out;
  const subproof = (m: number, lo: number, hi: number, complete: boolean) => {
    const n = hi - lo;
    if (m === n) {
      if (!complete) out.push(rangeNodes(lo, hi));
      return;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      subproof(m, lo, lo + k, complete);
      out.push(rangeNodes(lo + k, hi));
    } else {
      subproof(m - k, lo + k, hi, false);
      out.push(rangeNodes(lo, lo + k));
    }
  };
  subproof(size1, 0, size2, true);
  return out;
}

export function assembleProof(nodes: readonly ProofNode[], hashAt: HashAt): Buffer[] {
  return nodes.map((node) => foldRange(node, hashAt));
}

/**
 * A HashAt over an in-memory array of leaf hashes, memoizing interior nodes. Computing a proof
 * this way hashes O(treeSize) nodes once; keep the returned function to amortise many proofs.
 */
export function hashAtFromLeaves(leafHashes: readonly Uint8Array[]): HashAt {
  const cache = new Map<string, Buffer>();
  const hashAt: HashAt = (level, index) => {
    if (level === 0) {
      const leaf = leafHashes[index];
      if (!leaf) throw new RangeError(`leaf ${index} is not available`);
      return Buffer.from(leaf);
    }
    const key = `${level}:${index}`;
    let hash = cache.get(key);
    if (!hash) {
      hash = nodeHash(hashAt(level - 1, 2 * index), hashAt(level - 1, 2 * index + 1));
      cache.set(key, hash);
    }
    return hash;
  };
  return hashAt;
}

type HashSource = readonly Uint8Array[] | HashAt;

function toHashAt(source: HashSource): HashAt {
  return typeof source === 'function' ? source : hashAtFromLeaves(source);
}

/** The inclusion proof of leaf `index` in the tree of the first `treeSize` leaves. */
export function inclusionProof(source: HashSource, index: number, treeSize: number): Buffer[] {
  return assembleProof(inclusionProofNodes(index, treeSize), toHashAt(source));
}

/** The consistency proof between the trees of the first `size1` and `size2` leaves. */
export function consistencyProof(source: HashSource, size1: number, size2: number): Buffer[] {
  return assembleProof(consistencyProofNodes(size1, size2), toHashAt(source));
}

type Size = number | bigint;

function toBig(value: Size): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n ? value : undefined;
  return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** RFC 9162 §2.1.3.2. Hashes must be 32 bytes; any malformed input is simply `false`. */
export function verifyInclusion(
  leafIdx: Size,
  treeSize: Size,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const index = toBig(leafIdx);
  const size = toBig(treeSize);
  if (index === undefined || size === undefined || index >= size) return false;
  if (leaf.length !== HASH_SIZE || root.length !== HASH_SIZE) return false;
  let fn = index;
  let sn = size - 1n;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0n || p.length !== HASH_SIZE) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(r, root);
}

/**
 * RFC 9162 §2.1.4.2, whose algorithm presumes 0 < size1 < size2. Outside that: size1 == 0 is
 * rejected (nothing can be proven about an empty tree), and size1 == size2 holds exactly when the
 * proof is empty and the two roots are the same bytes.
 */
export function verifyConsistency(
  size1: Size,
  size2: Size,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  const first = toBig(size1);
  const second = toBig(size2);
  if (first === undefined || second === undefined) return false;
  if (first === 0n || second < first) return false;
  if (first === second) return proof.length === 0 && equalBytes(root1, root2);
  if (proof.length === 0) return false;
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE) return false;
  if (proof.some((p) => p.length !== HASH_SIZE)) return false;
  const path: Uint8Array[] = (first & (first - 1n)) === 0n ? [root1, ...proof] : [...proof];
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(fr, root1) && equalBytes(sr, root2);
}

export interface FrontierJSON {
  size: number;
  /** base64 hashes of the perfect subtrees along the right edge, largest (leftmost) first. */
  hashes: string[];
}

function popcount(n: number): number {
  let count = 0;
  while (n > 0) {
    count += n % 2;
    n = Math.floor(n / 2);
  }
  return count;
}

/**
 * The compact range [0, size): one perfect-subtree hash per set bit of `size`. Appending is
 * O(log n) amortised O(1) hashes and the root is O(log n), so a sequencer can extend a log of
 * millions of entries without rereading it.
 */
export class MerkleFrontier {
  #size = 0;
  // Left to right: the largest perfect subtree first.
  #hashes: Buffer[] = [];

  get size(): number {
    return this.#size;
  }

  /** Copies of the right-edge hashes, leftmost first. */
  get hashes(): Buffer[] {
    return this.#hashes.map((h) => Buffer.from(h));
  }

  /** Appends a leaf; `onNode` hears of each perfect subtree the leaf completes (level ≥ 1). */
  append(hash: Uint8Array, onNode?: (level: number, index: number, hash: Buffer) => void): void {
    if (hash.length !== HASH_SIZE) throw new RangeError(`a leaf hash is ${HASH_SIZE} bytes`);
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('the tree is full');
    let h: Buffer = Buffer.from(hash);
    let level = 0;
    for (let s = this.#size; s % 2 === 1; s = Math.floor(s / 2)) {
      h = nodeHash(this.#hashes.pop()!, h);
      level++;
      onNode?.(level, Math.floor(s / 2), h);
    }
    this.#hashes.push(h);
    this.#size++;
  }

  appendEntry(entry: Uint8Array): void {
    this.append(leafHash(entry));
  }

  root(): Buffer {
    const n = this.#hashes.length;
    if (n === 0) return emptyRoot();
    let r = this.#hashes[n - 1]!;
    for (let i = n - 2; i >= 0; i--) r = nodeHash(this.#hashes[i]!, r);
    return Buffer.from(r);
  }

  clone(): MerkleFrontier {
    return MerkleFrontier.fromJSON(this.toJSON());
  }

  toJSON(): FrontierJSON {
    return { size: this.#size, hashes: this.#hashes.map((h) => h.toString('base64')) };
  }

  static fromJSON(json: unknown): MerkleFrontier {
    const { size, hashes } = (json ?? {}) as { size?: unknown; hashes?: unknown };
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new TypeError('frontier.size must be a non-negative safe integer');
    }
    if (!Array.isArray(hashes) || hashes.length !== popcount(size)) {
      throw new TypeError(`frontier.hashes must hold one hash per set bit of size ${size}`);
    }
    const frontier = new MerkleFrontier();
    frontier.#size = size;
    frontier.#hashes = hashes.map((h, i) => {
      const bytes = typeof h === 'string' ? decodeBase64Strict(h) : undefined;
      if (!bytes || bytes.length !== HASH_SIZE) {
        throw new TypeError(`frontier.hashes[${i}] is not a base64 SHA-256 hash`);
      }
      return bytes;
    });
    return frontier;
  }

  /** The frontier of the first `size` leaves of a store of perfect-subtree hashes. */
  static fromHashAt(hashAt: HashAt, size: number): MerkleFrontier {
    checkSize('size', size);
    const frontier = new MerkleFrontier();
    frontier.#size = size;
    frontier.#hashes = rangeNodes(0, size).map((n) => hashAt(n.level, n.index));
    return frontier;
  }
}

/** Whether a stored frontier (JSON, as a tree-head row holds it) is exactly this one. */
export function sameFrontier(stored: unknown, frontier: MerkleFrontier): boolean {
  const { size, hashes } = (stored ?? {}) as { size?: unknown; hashes?: unknown };
  const expected = frontier.toJSON();
  return (
    size === expected.size &&
    Array.isArray(hashes) &&
    hashes.length === expected.hashes.length &&
    hashes.every((h, i) => h === expected.hashes[i])
  );
}

/** Standard base64 with padding, and only its canonical form (no stray bits, no whitespace). */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
