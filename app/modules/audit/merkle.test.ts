import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import {
  EMPTY_ROOT,
  MerkleFrontier,
  consistencyProof,
  consistencyProofNodes,
  hashAtFromLeaves,
  inclusionProof,
  inclusionProofNodes,
  leafHash,
  nodeHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';

function testdataDir(): string {
  const local = path.resolve(process.cwd(), '../shared/testdata');
  return fs.existsSync(local) ? local : '/work/shared/testdata';
}

function jsonFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

// Sizes in the vectors are uint64 (one is 2^64 - 1), beyond a JS number: read them as strings.
function readVector(file: string): Record<string, unknown> {
  const text = fs.readFileSync(file, 'utf8');
  return JSON.parse(text.replace(/("(?:leafIdx|treeSize|size1|size2)"\s*:\s*)(\d+)/g, '$1"$2"'));
}

const b64 = (s: unknown) => Buffer.from(typeof s === 'string' ? s : '', 'base64');
const b64s = (list: unknown) => ((list as string[] | null) ?? []).map(b64);

const rfc = path.join(testdataDir(), 'rfc6962');
const inclusionFiles = jsonFiles(path.join(rfc, 'inclusion'));
const consistencyFiles = jsonFiles(path.join(rfc, 'consistency'));

describe('RFC 6962 test vectors', () => {
  it('finds the vectors', () => {
    expect(inclusionFiles.length).toBeGreaterThan(50);
    expect(consistencyFiles.length).toBeGreaterThan(50);
  });

  it.each(inclusionFiles.map((f) => [path.relative(rfc, f), f]))('%s', (_name, file) => {
    const v = readVector(file);
    const ok = verifyInclusion(
      BigInt(v.leafIdx as string),
      BigInt(v.treeSize as string),
      b64(v.leafHash),
      b64s(v.proof),
      b64(v.root),
    );
    expect(ok).toBe(!v.wantErr);
  });

  it.each(consistencyFiles.map((f) => [path.relative(rfc, f), f]))('%s', (_name, file) => {
    const v = readVector(file);
    const ok = verifyConsistency(
      BigInt(v.size1 as string),
      BigInt(v.size2 as string),
      b64s(v.proof),
      b64(v.root1),
      b64(v.root2),
    );
    expect(ok).toBe(!v.wantErr);
  });
});

// The leaves behind the vectors (RFC 6962 reference test data).
const referenceLeaves = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((hex) => leafHash(Buffer.from(hex, 'hex')));

describe('proof generation against the vectors', () => {
  const happy = (dir: string) =>
    fs
      .readdirSync(path.join(rfc, dir))
      .filter((d) => /^\d+$/.test(d))
      .map((d) => readVector(path.join(rfc, dir, d, 'happy-path.json')));

  it('reproduces every happy-path inclusion proof and root', () => {
    for (const v of happy('inclusion')) {
      const size = Number(v.treeSize);
      const index = Number(v.leafIdx);
      const leaves = referenceLeaves.slice(0, size);
      expect(rootOf(leaves).toString('base64')).toBe(v.root);
      expect(leaves[index]!.toString('base64')).toBe(v.leafHash);
      expect(inclusionProof(leaves, index, size)).toEqual(b64s(v.proof));
    }
  });

  it('reproduces every happy-path consistency proof and roots', () => {
    for (const v of happy('consistency')) {
      const size1 = Number(v.size1);
      const size2 = Number(v.size2);
      expect(rootOf(referenceLeaves.slice(0, size1)).toString('base64')).toBe(v.root1);
      expect(rootOf(referenceLeaves.slice(0, size2)).toString('base64')).toBe(v.root2);
      expect(consistencyProof(referenceLeaves, size1, size2)).toEqual(b64s(v.proof));
    }
  });
});

// Straight from the RFC's recursive definition, as an independent reference.
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return crypto.createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

function leavesOf(count: number, seed = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => leafHash(Buffer.from(`entry ${seed}/${i}`)));
}

describe('tree hashing', () => {
  it('hashes leaves and nodes with domain separation', () => {
    const empty = crypto
      .createHash('sha256')
      .update(Buffer.from([0]))
      .digest();
    expect(leafHash(new Uint8Array(0))).toEqual(empty);
    const a = leafHash(Buffer.from('a'));
    const b = leafHash(Buffer.from('b'));
    expect(nodeHash(a, b)).toEqual(
      crypto
        .createHash('sha256')
        .update(Buffer.from([1]))
        .update(a)
        .update(b)
        .digest(),
    );
    expect(leafHash(Buffer.alloc(5000, 7))).toEqual(
      crypto
        .createHash('sha256')
        .update(Buffer.from([0]))
        .update(Buffer.alloc(5000, 7))
        .digest(),
    );
  });

  it('gives the empty tree the hash of the empty string', () => {
    expect(rootOf([]).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(new MerkleFrontier().root()).toEqual(EMPTY_ROOT);
  });

  it('matches the recursive definition of MTH', () => {
    const leaves = leavesOf(70);
    for (let n = 0; n <= leaves.length; n++) {
      expect(rootOf(leaves.slice(0, n))).toEqual(referenceRoot(leaves.slice(0, n)));
    }
  });
});

describe('MerkleFrontier', () => {
  it('has the root of rootOf at every size up to 300', () => {
    const leaves = leavesOf(300);
    const frontier = new MerkleFrontier();
    expect(frontier.root()).toEqual(rootOf([]));
    for (let n = 1; n <= leaves.length; n++) {
      frontier.append(leaves[n - 1]!);
      expect(frontier.size).toBe(n);
      expect(frontier.root()).toEqual(rootOf(leaves.slice(0, n)));
      expect(frontier.hashes.length).toBe(n.toString(2).replaceAll('0', '').length);
    }
  });

  it('resumes from its JSON form', () => {
    const leaves = leavesOf(77);
    const frontier = new MerkleFrontier();
    for (const leaf of leaves.slice(0, 45)) frontier.append(leaf);
    const json = JSON.parse(JSON.stringify(frontier));
    const resumed = MerkleFrontier.fromJSON(json);
    for (const leaf of leaves.slice(45)) resumed.append(leaf);
    expect(resumed.root()).toEqual(rootOf(leaves));
    expect(MerkleFrontier.fromHashAt(hashAtFromLeaves(leaves), 45).toJSON()).toEqual(json);
  });

  it('refuses malformed JSON', () => {
    const hash = leafHash(Buffer.from('x')).toString('base64');
    expect(() => MerkleFrontier.fromJSON({ size: 3, hashes: [hash] })).toThrow(/set bit/);
    expect(() => MerkleFrontier.fromJSON({ size: -1, hashes: [] })).toThrow(/size/);
    expect(() => MerkleFrontier.fromJSON({ size: 1, hashes: ['AAAA'] })).toThrow(/hashes\[0\]/);
    expect(() => MerkleFrontier.fromJSON(null)).toThrow(/size/);
    expect(() => new MerkleFrontier().append(Buffer.alloc(31))).toThrow(/32 bytes/);
  });

  it('appendEntry hashes the entry as a leaf', () => {
    const a = new MerkleFrontier();
    a.appendEntry(Buffer.from('hello'));
    expect(a.root()).toEqual(leafHash(Buffer.from('hello')));
  });
});

describe('generated proofs', () => {
  // Leaves are made distinct (random bytes plus their position) so that negative checks cannot be
  // satisfied by a structurally identical tree.
  const distinct = (leaves: Uint8Array[]) =>
    leaves.map((l, i) => leafHash(Buffer.concat([l, Buffer.from(`#${i}`)])));
  const tree = fc.integer({ min: 1, max: 200 }).chain((n) =>
    fc.record({
      leaves: fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: n, maxLength: n }),
      a: fc.nat(n - 1),
      b: fc.nat(n - 1),
    }),
  );

  it('inclusion proofs verify, and not for a different leaf or index', () => {
    fc.assert(
      fc.property(tree, ({ leaves, a: index, b }) => {
        const hashes = distinct(leaves);
        const size = hashes.length;
        const root = rootOf(hashes);
        const proof = inclusionProof(hashes, index, size);
        expect(verifyInclusion(index, size, hashes[index]!, proof, root)).toBe(true);
        expect(verifyInclusion(index, size, leafHash(Buffer.from('other')), proof, root)).toBe(
          false,
        );
        if (b !== index && !hashes[b]!.equals(hashes[index]!)) {
          expect(verifyInclusion(b, size, hashes[index]!, proof, root)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('consistency proofs verify, and not for other sizes or roots', () => {
    fc.assert(
      fc.property(tree, ({ leaves, a, b }) => {
        const hashes = distinct(leaves);
        const size2 = hashes.length;
        const size1 = Math.min(a, b) + 1;
        const root1 = rootOf(hashes.slice(0, size1));
        const root2 = rootOf(hashes);
        const proof = consistencyProof(hashes, size1, size2);
        expect(verifyConsistency(size1, size2, proof, root1, root2)).toBe(true);
        expect(verifyConsistency(size1, size2, proof, root2, root1)).toBe(size1 === size2);
        if (size1 < size2) {
          const otherRoot1 = rootOf([leafHash(Buffer.from('x')), ...hashes.slice(1, size1)]);
          expect(verifyConsistency(size1, size2, proof, otherRoot1, root2)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fails when any single bit of any proof hash flips', () => {
    const hashes = leavesOf(13, 1);
    const root = rootOf(hashes);
    for (let index = 0; index < hashes.length; index++) {
      const proof = inclusionProof(hashes, index, hashes.length);
      for (let i = 0; i < proof.length; i++) {
        for (let byte = 0; byte < 32; byte++) {
          for (let bit = 0; bit < 8; bit++) {
            const bad = proof.map((p) => Buffer.from(p));
            bad[i]![byte]! ^= 1 << bit;
            expect(verifyInclusion(index, hashes.length, hashes[index]!, bad, root)).toBe(false);
          }
        }
      }
    }
    for (let size1 = 1; size1 < hashes.length; size1++) {
      const proof = consistencyProof(hashes, size1, hashes.length);
      const root1 = rootOf(hashes.slice(0, size1));
      for (let i = 0; i < proof.length; i++) {
        for (let byte = 0; byte < 32; byte++) {
          const bad = proof.map((p) => Buffer.from(p));
          bad[i]![byte]! ^= 0x10;
          expect(verifyConsistency(size1, hashes.length, bad, root1, root)).toBe(false);
        }
      }
    }
  });

  it('fails when a random proof bit flips (property)', () => {
    fc.assert(
      fc.property(tree, fc.nat(), fc.nat(255), ({ leaves, a: index, b }, pick, bit) => {
        const hashes = distinct(leaves);
        const size = hashes.length;
        const proof = inclusionProof(hashes, index, size);
        const root = rootOf(hashes);
        if (proof.length > 0) {
          const bad = proof.map((p) => Buffer.from(p));
          bad[pick % bad.length]![bit % 32]! ^= 1 << (bit % 8);
          expect(verifyInclusion(index, size, hashes[index]!, bad, root)).toBe(false);
        }
        const size1 = Math.min(index, b) + 1;
        const cproof = consistencyProof(hashes, size1, size);
        if (cproof.length > 0) {
          cproof[pick % cproof.length]![bit % 32]! ^= 1 << (bit % 8);
          expect(verifyConsistency(size1, size, cproof, rootOf(hashes.slice(0, size1)), root)).toBe(
            false,
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('builds proofs from a HashAt as from the leaf array', () => {
    const hashes = leavesOf(100, 2);
    const hashAt = hashAtFromLeaves(hashes);
    for (const size of [1, 2, 7, 64, 65, 100]) {
      for (let i = 0; i < size; i += 3) {
        expect(inclusionProof(hashAt, i, size)).toEqual(inclusionProof(hashes, i, size));
      }
      for (let m = 1; m <= size; m += 5) {
        expect(consistencyProof(hashAt, m, size)).toEqual(consistencyProof(hashes, m, size));
      }
    }
  });

  it('names the perfect subtrees a proof needs', () => {
    // Leaf 5 of 7: sibling leaf 4, then leaf 6, then the left half [0, 4).
    expect(inclusionProofNodes(5, 7)).toEqual([
      [{ level: 0, index: 4 }],
      [{ level: 0, index: 6 }],
      [{ level: 2, index: 0 }],
    ]);
    // Leaf 0 of 7: the right range [4, 7) folds from [4, 6) and [6, 7).
    expect(inclusionProofNodes(0, 7).at(-1)).toEqual([
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(consistencyProofNodes(4, 4)).toEqual([]);
    expect(consistencyProofNodes(0, 4)).toEqual([]);
    expect(() => inclusionProofNodes(3, 3)).toThrow(/not below/);
    expect(() => consistencyProofNodes(5, 4)).toThrow(/greater/);
  });

  it('rejects sizes and indices that are negative or not integers', () => {
    const hashes = leavesOf(4);
    const root = rootOf(hashes);
    const proof = inclusionProof(hashes, 1, 4);
    expect(verifyInclusion(1, 4, hashes[1]!, proof, root)).toBe(true);
    expect(verifyInclusion(-1, 4, hashes[1]!, proof, root)).toBe(false);
    expect(verifyInclusion(1.5, 4, hashes[1]!, proof, root)).toBe(false);
    expect(verifyInclusion(1n, 4n, hashes[1]!, proof, root)).toBe(true);
    expect(verifyConsistency(-1, 4, [], root, root)).toBe(false);
    expect(verifyConsistency(4, 4, [], root, root)).toBe(true);
  });
});
