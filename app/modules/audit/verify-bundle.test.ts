import { spawnSync } from 'node:child_process';
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize } from './canonical.ts';
import { MerkleFrontier, leafHash, rootOf } from './merkle.ts';
import { formatCheckpoint, openNote, signNote, verifierKeyFor } from './note.ts';
import * as standalone from './verify-bundle.mjs';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'verify-bundle.mjs');
const ORIGIN = 'custodian.example/audit';

const logKey = { name: ORIGIN, privateKey: crypto.generateKeyPairSync('ed25519').privateKey };
const rogueKey = { name: ORIGIN, privateKey: crypto.generateKeyPairSync('ed25519').privateKey };
const start = Date.parse('2025-01-01T00:00:00.000Z');

const lines = Array.from({ length: 60 }, (_, seq) =>
  canonicalize({
    seq,
    at: new Date(start + seq * 1000).toISOString(),
    actor: `staff-${seq % 7}`,
    action: seq % 3 === 0 ? 'user.view' : 'grant.request',
    detail: { note: `entry ${seq}`, ok: true },
  }),
);
const hashes = lines.map((l) => leafHash(Buffer.from(l)));

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'custodian-bundle-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function checkpointFile(size: number, signer: { name: string; privateKey: KeyObject } = logKey) {
  const text = formatCheckpoint({
    origin: ORIGIN,
    size,
    rootHash: rootOf(hashes.slice(0, size)),
    timestamp: new Date(start + size * 1000),
  });
  return signNote(text, signer);
}

interface BundleOptions {
  firstSeq?: number;
  checkpoints?: number[];
  leafHashes?: boolean;
  keys?: object[];
}

let counter = 0;
function writeBundle({
  firstSeq = 0,
  checkpoints = [20, 45, 60],
  leafHashes = true,
  keys = [{ key: verifierKeyFor(logKey), notBefore: '2024-01-01T00:00:00.000Z' }],
}: BundleOptions = {}) {
  const dir = path.join(tmp, `bundle-${counter++}`);
  fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'entries.jsonl'), lines.slice(firstSeq).join('\n') + '\n');
  if (leafHashes) {
    const text = hashes.slice(firstSeq).map((h) => h.toString('base64'));
    fs.writeFileSync(path.join(dir, 'leaf-hashes.txt'), text.join('\n') + '\n');
  }
  const frontier = new MerkleFrontier();
  for (const h of hashes.slice(0, firstSeq)) frontier.append(h);
  const manifest = { origin: ORIGIN, firstSeq, ...(firstSeq > 0 ? { frontier } : {}) };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(dir, 'keys.json'), JSON.stringify(keys));
  for (const size of checkpoints) writeCheckpoint(dir, size, checkpointFile(size));
  return dir;
}

function writeCheckpoint(dir: string, size: number, note: string) {
  fs.writeFileSync(path.join(dir, 'checkpoints', `${String(size).padStart(6, '0')}.txt`), note);
}

const entriesOf = (dir: string) =>
  fs.readFileSync(path.join(dir, 'entries.jsonl'), 'utf8').split('\n').slice(0, -1);
const setEntries = (dir: string, list: string[]) =>
  fs.writeFileSync(path.join(dir, 'entries.jsonl'), list.join('\n') + '\n');

function verify(dir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [script, ...args, dir], { encoding: 'utf8' });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

interface JsonReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  firstBadSeq: number | null;
  problems: { seq: number | null; kind: string; message: string }[];
}

function verifyJson(dir: string, ...args: string[]): JsonReport {
  const { out } = verify(dir, '--json', ...args);
  return JSON.parse(out) as JsonReport;
}

describe('an intact bundle', () => {
  it('verifies with exit 0', () => {
    const dir = writeBundle();
    expect(verify(dir)).toEqual({ status: 0, out: 'OK: 60 entries, 3 checkpoints\n', err: '' });
    expect(verifyJson(dir)).toEqual({
      ok: true,
      entries: 60,
      checkpoints: 3,
      firstBadSeq: null,
      problems: [],
    });
  });

  it('verifies without the leaf-hash file, and as a partial range from a frontier', () => {
    expect(verify(writeBundle({ leafHashes: false })).status).toBe(0);
    const partial = writeBundle({ firstSeq: 20, checkpoints: [20, 45, 60] });
    expect(verify(partial).out).toBe('OK: 40 entries, 3 checkpoints\n');
    expect(verify(writeBundle({ firstSeq: 21, checkpoints: [45, 60] })).status).toBe(0);
  });

  it('prints usage for a bad command line', () => {
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/usage/);
  });
});

describe('a tampered bundle', () => {
  function expectFail(dir: string, seq: number, pattern?: RegExp) {
    const { status, out } = verify(dir);
    expect(status).toBe(1);
    expect(out.split('\n')[0]).toMatch(new RegExp(`^FAIL seq ${seq}: `));
    if (pattern) expect(out).toMatch(pattern);
    expect(verifyJson(dir).firstBadSeq).toBe(seq);
  }

  it('names the entry whose content changed', () => {
    const dir = writeBundle();
    const list = entriesOf(dir);
    list[41] = list[41]!.replace('entry 41', 'entry 14');
    setEntries(dir, list);
    expectFail(dir, 41, /leaf hash/);
    const report = verifyJson(dir);
    expect(report.problems.map((p) => [p.seq, p.kind])).toEqual([
      [41, 'entry'],
      [41, 'root'],
      [41, 'root'],
    ]);
  });

  it('without leaf hashes, places a changed entry between two checkpoints', () => {
    const dir = writeBundle({ leafHashes: false });
    const list = entriesOf(dir);
    list[41] = list[41]!.replace('"ok":true', '"ok":false');
    setEntries(dir, list);
    expectFail(dir, 20, /from seq 20 to 44 differs/);
  });

  it('names a deleted line', () => {
    const dir = writeBundle();
    const list = entriesOf(dir);
    list.splice(41, 1);
    setEntries(dir, list);
    expectFail(dir, 41, /should hold seq 41 but holds seq 42/);
    const kinds = verifyJson(dir).problems.map((p) => p.kind);
    expect(kinds.filter((k) => k === 'seq')).toHaveLength(1);
    expect(kinds).toContain('missing');
  });

  it('names two swapped lines', () => {
    const dir = writeBundle();
    const list = entriesOf(dir);
    [list[41], list[42]] = [list[42]!, list[41]!];
    setEntries(dir, list);
    expectFail(dir, 41);
    expect(
      verifyJson(dir)
        .problems.filter((p) => p.kind === 'seq')
        .map((p) => p.seq),
    ).toEqual([41, 42]);
  });

  it('names the first missing seq when the tail is cut below a checkpoint', () => {
    const dir = writeBundle();
    setEntries(dir, entriesOf(dir).slice(0, 50));
    expectFail(dir, 50, /000060\.txt covers 60 entries.*log was cut/);
  });

  it('rejects a tail cut and re-signed by an unknown key', () => {
    const dir = writeBundle();
    setEntries(dir, entriesOf(dir).slice(0, 50));
    writeCheckpoint(dir, 50, checkpointFile(50, rogueKey));
    expectFail(dir, 50, /log was cut/);
    expect(verifyJson(dir).problems.at(-1)).toEqual({
      seq: null,
      kind: 'checkpoint',
      message: 'checkpoints/000050.txt: not signed by any known key',
    });
  });

  it('rejects a cut hidden by removing the checkpoints beyond it', () => {
    const dir = writeBundle();
    setEntries(dir, entriesOf(dir).slice(0, 50));
    fs.rmSync(path.join(dir, 'checkpoints', '000060.txt'));
    writeCheckpoint(dir, 50, checkpointFile(50, rogueKey));
    // The bundle alone can only say that nothing vouches for seq 45 on ...
    expectFail(dir, 45, /seq 45 to 49 are not covered by any valid checkpoint/);
    // ... a checkpoint kept elsewhere (a witness) shows the cut.
    const witness = path.join(tmp, 'witness-60.txt');
    fs.writeFileSync(witness, checkpointFile(60));
    const { status, out } = verify(dir, '--checkpoint', witness);
    expect(status).toBe(1);
    expect(out).toMatch(/^FAIL seq 50: entry missing/);
  });

  it('rejects a modified checkpoint root', () => {
    const dir = writeBundle();
    const file = path.join(dir, 'checkpoints', '000060.txt');
    const note = fs.readFileSync(file, 'utf8');
    const forged = rootOf(hashes.slice(0, 59)).toString('base64');
    fs.writeFileSync(file, note.replace(rootOf(hashes).toString('base64'), forged));
    expectFail(dir, 45, /not covered/);
    expect(verifyJson(dir).problems.at(-1)?.message).toMatch(
      /000060\.txt: the signature .* does not verify/,
    );

    const middle = writeBundle();
    const file45 = path.join(middle, 'checkpoints', '000045.txt');
    const note45 = fs.readFileSync(file45, 'utf8');
    fs.writeFileSync(
      file45,
      note45.replace(rootOf(hashes.slice(0, 45)).toString('base64'), forged),
    );
    const { status, out } = verify(middle);
    expect(status).toBe(1);
    expect(out).toMatch(/^FAIL: checkpoints\/000045\.txt: the signature by .* does not verify/);
  });

  it('rejects a checkpoint whose signature is fine but whose root does not match', () => {
    const dir = writeBundle();
    const text = formatCheckpoint({
      origin: ORIGIN,
      size: 30,
      rootHash: rootOf(hashes.slice(0, 29)),
      timestamp: new Date(start),
    });
    writeCheckpoint(dir, 30, signNote(text, logKey));
    expectFail(dir, 20, /000030\.txt \(size 30\) does not match/);
  });

  it('rejects checkpoints signed outside the key window, or for another origin', () => {
    const expired = writeBundle({
      keys: [{ key: verifierKeyFor(logKey), notAfter: new Date(start + 30_000).toISOString() }],
    });
    const report = verifyJson(expired);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.message).join('\n')).toMatch(
      /000045\.txt: signed only by keys not valid at 2025-01-01T00:00:45\.000Z/,
    );
    expect(report.firstBadSeq).toBe(20);

    const other = writeBundle();
    const text = formatCheckpoint({
      origin: 'elsewhere',
      size: 60,
      rootHash: rootOf(hashes),
      timestamp: new Date(start),
    });
    writeCheckpoint(other, 61, signNote(text, logKey));
    expect(verifyJson(other).problems).toEqual([
      {
        seq: null,
        kind: 'checkpoint',
        message: 'checkpoints/000061.txt: origin is elsewhere, not custodian.example/audit',
      },
    ]);
  });

  it('rejects a forged frontier in a partial bundle', () => {
    const dir = writeBundle({ firstSeq: 21, checkpoints: [45, 60] });
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    manifest.frontier.hashes[0] = leafHash(Buffer.from('forged')).toString('base64');
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expectFail(dir, 21, /manifest frontier/);
    manifest.frontier.hashes.pop();
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(verify(dir).out).toMatch(/^FAIL: manifest\.frontier must be the frontier/);
  });

  it('rejects a line that is not an entry', () => {
    const dir = writeBundle();
    const list = entriesOf(dir);
    list[7] = 'not json';
    setEntries(dir, list);
    expectFail(dir, 7, /line 8 is not a JSON entry/);
  });
});

describe('agreement with merkle.ts and note.ts', () => {
  it('uses only Node built-ins', () => {
    const source = fs.readFileSync(script, 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const specifier of imports) expect(specifier).toMatch(/^node:/);
  });

  it('hashes and builds the same trees', () => {
    const frontier = new standalone.Frontier();
    const entries = Array.from({ length: 130 }, (_, i) => crypto.randomBytes(i % 50));
    expect(frontier.root()).toEqual(rootOf([]));
    for (let i = 0; i < entries.length; i++) {
      const h = standalone.leafHash(entries[i]!);
      expect(h).toEqual(leafHash(entries[i]!));
      frontier.append(h);
      expect(frontier.root()).toEqual(rootOf(entries.slice(0, i + 1).map((e) => leafHash(e))));
    }
  });

  it('accepts and rejects the same notes', () => {
    const keyString = verifierKeyFor(logKey);
    const trusted = [standalone.parseVerifierKey(keyString)];
    const note = signNote('some text\n', logKey);
    const variants = [note];
    for (let i = 0; i < note.length; i += 3) {
      variants.push(note.slice(0, i) + note.slice(i + 1));
      variants.push(note.slice(0, i) + 'A' + note.slice(i + 1));
    }
    const outcome = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch {
        return 'rejected';
      }
    };
    for (const v of variants) {
      expect(outcome(() => standalone.openNote(v, trusted))).toBe(
        outcome(() => openNote(v, [keyString])),
      );
    }
    expect(outcome(() => standalone.openNote(note, trusted))).toBe('ok');
  });
});
