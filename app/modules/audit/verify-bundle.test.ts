import { spawnSync } from 'node:child_process';
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize } from './canonical.ts';
import { MerkleFrontier, leafHash, rootOf } from './merkle.ts';
import {
  formatCheckpoint,
  keyFingerprint,
  openNote,
  parseCheckpoint,
  parseNote,
  signNote,
  verifierKeyFor,
} from './note.ts';
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

/** verify.mjs as an auditor runs it; `args` go before DIR. */
function run(...args: string[]) {
  const result = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  return { status: result.status, out: result.stdout, err: result.stderr };
}

const LOG_KEY = verifierKeyFor(logKey);

/** Verified with the log's real key, given on the command line. */
function verify(dir: string, ...args: string[]) {
  return run('--key', LOG_KEY, ...args, dir);
}

interface JsonReport {
  ok: boolean;
  authenticated: boolean;
  entries: number;
  checkpoints: number;
  firstBadSeq: number | null;
  problems: { seq: number | null; kind: string; message: string }[];
  signedBy: { key: string; fingerprint: string }[];
  notes: string[];
}

function verifyJson(dir: string, ...args: string[]): JsonReport {
  const { out } = verify(dir, '--json', ...args);
  return JSON.parse(out) as JsonReport;
}

describe('an intact bundle', () => {
  it('verifies with exit 0', () => {
    const dir = writeBundle();
    const signer = `${LOG_KEY} (${keyFingerprint(LOG_KEY)})`;
    expect(verify(dir)).toEqual({
      status: 0,
      out: `OK: 60 entries, 3 checkpoints, signed by ${signer}\n`,
      err: '',
    });
    expect(verifyJson(dir)).toEqual({
      ok: true,
      authenticated: true,
      entries: 60,
      purged: 0,
      checkpoints: 3,
      firstBadSeq: null,
      problems: [],
      signedBy: [{ key: LOG_KEY, fingerprint: keyFingerprint(LOG_KEY) }],
      notes: [],
    });
  });

  it('verifies without the leaf-hash file, and as a partial range from a frontier', () => {
    expect(verify(writeBundle({ leafHashes: false })).status).toBe(0);
    const partial = writeBundle({ firstSeq: 20, checkpoints: [20, 45, 60] });
    expect(verify(partial).out).toMatch(/^OK: 40 entries, 3 checkpoints, signed by /);
    expect(verify(writeBundle({ firstSeq: 21, checkpoints: [45, 60] })).status).toBe(0);
  });

  it('prints usage for a bad command line', () => {
    const bare = run();
    expect(bare.status).toBe(2);
    expect(bare.err).toMatch(/usage/);
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
    const expired = writeBundle();
    const windowed = path.join(expired, '..', `trusted-${counter}.json`);
    fs.writeFileSync(
      windowed,
      JSON.stringify([{ key: LOG_KEY, notAfter: new Date(start + 30_000).toISOString() }]),
    );
    const report = JSON.parse(run('--json', '--trusted-keys', windowed, expired).out) as JsonReport;
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

// A log as the sequencer writes it: every entry links to the previous leaf (`prev`).
function chainedBundle() {
  const dir = path.join(tmp, `chained-${counter++}`);
  fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  const chained: string[] = [];
  let prev: string | null = null;
  for (let seq = 0; seq < 40; seq++) {
    const line = canonicalize({
      seq,
      prev,
      time: new Date(start + seq * 1000).toISOString(),
      action: 'user.view',
      outcome: seq === 17 ? 'denied' : 'allowed',
      details: { n: seq },
    });
    chained.push(line);
    prev = leafHash(Buffer.from(line)).toString('base64');
  }
  const leaves = chained.map((l) => leafHash(Buffer.from(l)));
  fs.writeFileSync(path.join(dir, 'entries.jsonl'), chained.join('\n') + '\n');
  fs.writeFileSync(
    path.join(dir, 'leaf-hashes.txt'),
    leaves.map((h) => h.toString('base64')).join('\n') + '\n',
  );
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ origin: ORIGIN, firstSeq: 0 }),
  );
  fs.writeFileSync(path.join(dir, 'keys.json'), JSON.stringify([{ key: LOG_KEY }]));
  for (const size of [10, 25, 40]) {
    const text = formatCheckpoint({
      origin: ORIGIN,
      size,
      rootHash: rootOf(leaves.slice(0, size)),
      timestamp: new Date(start + size * 1000),
    });
    writeCheckpoint(dir, size, signNote(text, logKey));
  }
  return dir;
}

/**
 * What a forger with the bundle in hand does: change one entry, recompute the chain, the leaf
 * hashes and every checkpoint's root, sign every checkpoint with a key of their own, and put that
 * key in keys.json. Works on any bundle of a whole log (firstSeq 0), the console's exports too.
 */
function forge(from: string, seq: number, edit: (entry: Record<string, unknown>) => void) {
  const dir = path.join(tmp, `forged-${counter++}`);
  fs.cpSync(from, dir, { recursive: true });
  const list = entriesOf(dir);
  const leaves: Buffer[] = [];
  for (let i = 0; i < list.length; i++) {
    if (i >= seq) {
      const entry = JSON.parse(list[i]!) as Record<string, unknown>;
      if (i === seq) edit(entry);
      if ('prev' in entry && i > 0) entry.prev = leaves[i - 1]!.toString('base64');
      list[i] = canonicalize(entry);
    }
    leaves.push(leafHash(Buffer.from(list[i]!)));
  }
  setEntries(dir, list);
  fs.writeFileSync(
    path.join(dir, 'leaf-hashes.txt'),
    leaves.map((h) => h.toString('base64')).join('\n') + '\n',
  );
  for (const name of fs.readdirSync(path.join(dir, 'checkpoints'))) {
    const file = path.join(dir, 'checkpoints', name);
    const cp = parseCheckpoint(parseNote(fs.readFileSync(file, 'utf8')).text);
    const text = formatCheckpoint({
      origin: cp.origin,
      size: cp.size,
      rootHash: rootOf(leaves.slice(0, cp.size)),
      timestamp: cp.timestamp,
      extensions: cp.extensions.filter((l) => !l.startsWith('timestamp ')),
    });
    fs.writeFileSync(file, signNote(text, rogueKey));
  }
  fs.writeFileSync(
    path.join(dir, 'keys.json'),
    JSON.stringify([{ key: verifierKeyFor(rogueKey) }]),
  );
  return dir;
}

describe('trust from outside the bundle', () => {
  it('a forged bundle is consistent on its own, and fails against the real key', () => {
    const genuine = chainedBundle();
    expect(verify(genuine).status).toBe(0);
    const forged = forge(genuine, 17, (entry) => {
      entry.outcome = 'allowed';
    });
    expect(entriesOf(forged)[17]).toContain('"outcome":"allowed"');

    // Without a key the forgery is internally consistent: exit 3, never "OK".
    const bare = run(forged);
    expect(bare.status).toBe(3);
    expect(bare.out).not.toMatch(/\bOK\b/);
    expect(bare.out).toMatch(/^NOT VERIFIED: the 40 entries and 3 checkpoints agree/);
    expect(bare.out).toContain(keyFingerprint(verifierKeyFor(rogueKey)));
    const bareJson = JSON.parse(run('--json', forged).out) as JsonReport;
    expect(bareJson).toMatchObject({ ok: false, authenticated: false, problems: [] });

    // With the log's real key: exit 1, naming the problem, first position first.
    const real = verify(forged);
    expect(real.status).toBe(1);
    expect(real.out.split('\n')[0]).toBe(
      'FAIL seq 0: seq 0 to 39 are not covered by any valid checkpoint',
    );
    expect(real.out).toMatch(/checkpoints\/000010\.txt: not signed by any known key/);
    expect(real.out).toMatch(/note: keys\.json lists a key that was not given, ignored/);
    expect(real.out).toMatch(/note: keys\.json does not list the given key/);
    const report = verifyJson(forged);
    expect(report).toMatchObject({ ok: false, authenticated: true, firstBadSeq: 0 });
    expect(report.problems.filter((p) => p.kind === 'checkpoint')).toHaveLength(3);

    // The genuine bundle with the rogue key given fails the same way: only given keys count.
    expect(run('--key', verifierKeyFor(rogueKey), genuine).status).toBe(1);
    // Several keys may be given; one that signed is enough.
    expect(run('--key', verifierKeyFor(rogueKey), '--key', LOG_KEY, genuine).status).toBe(0);
  });

  it('a bundle checked without a key is never OK, even when genuine', () => {
    const genuine = chainedBundle();
    const bare = run(genuine);
    expect(bare.status).toBe(3);
    expect(bare.out).not.toMatch(/^OK/m);
    expect(bare.out).toContain('no key was given');
    // A problem found without a key is still a problem.
    const list = entriesOf(genuine);
    list[5] = list[5]!.replace('"n":5', '"n":6');
    setEntries(genuine, list);
    const broken = run(genuine);
    expect(broken.status).toBe(1);
    expect(broken.out).toMatch(/^FAIL seq 5: /);
  });

  it('takes keys with validity periods from --trusted-keys', () => {
    const genuine = chainedBundle();
    const file = path.join(tmp, `trusted-${counter++}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify([
        { key: verifierKeyFor(rogueKey), notAfter: '2020-01-01T00:00:00.000Z' },
        { key: LOG_KEY, notBefore: '2024-01-01T00:00:00.000Z' },
      ]),
    );
    expect(run('--trusted-keys', file, genuine).status).toBe(0);
    // The rogue key, trusted only until 2020, does not vouch for checkpoints made in 2025.
    const forged = forge(genuine, 3, (entry) => {
      entry.details = { n: 99 };
    });
    const out = run('--trusted-keys', file, forged);
    expect(out.status).toBe(1);
    expect(out.out).toMatch(/signed only by keys not valid at 2025-/);
  });

  it('takes a folder of published checkpoints with --checkpoint', () => {
    const genuine = chainedBundle();
    const published = path.join(tmp, `published-${counter++}`);
    fs.cpSync(path.join(genuine, 'checkpoints'), published, { recursive: true });
    // Cut the log back to 25 entries and drop the checkpoint beyond.
    setEntries(genuine, entriesOf(genuine).slice(0, 25));
    const hints = fs.readFileSync(path.join(genuine, 'leaf-hashes.txt'), 'utf8').split('\n');
    fs.writeFileSync(path.join(genuine, 'leaf-hashes.txt'), hints.slice(0, 25).join('\n') + '\n');
    fs.rmSync(path.join(genuine, 'checkpoints', '000040.txt'));
    expect(verify(genuine).status).toBe(0);
    const caught = verify(genuine, '--checkpoint', published);
    expect(caught.status).toBe(1);
    expect(caught.out).toMatch(/^FAIL seq 25: entry missing: .*000040\.txt covers 40 entries/);
    // Signed after the bundle's newest checkpoint, it may also be the log growing since: said so.
    expect(caught.out).toContain('the log was cut, or it grew after the bundle');
  });

  it('answers bad usage with exit 2 and a clear message', () => {
    const dir = chainedBundle();
    const cases: [string[], RegExp][] = [
      [['--kee', LOG_KEY, dir], /Unknown option '--kee'/],
      [['--key', 'not-a-key', dir], /--key \(1\): malformed verifier key "not-a-key"/],
      [['--key', LOG_KEY.slice(0, -4) + 'AAA=', dir], /--key \(1\): /],
      [['--key'], /--key/],
      [['--key', LOG_KEY], /give the bundle folder DIR/],
      [
        ['--key', LOG_KEY, path.join(tmp, 'no-such-folder')],
        /DIR: .*no-such-folder is not a folder/,
      ],
      [['--key', LOG_KEY, dir, dir], /one DIR only/],
      [
        ['--trusted-keys', path.join(tmp, 'missing.json'), dir],
        /--trusted-keys .*missing\.json: cannot read/,
      ],
      [
        ['--checkpoint', path.join(tmp, 'missing.txt'), '--key', LOG_KEY, dir],
        /--checkpoint: .* does not exist/,
      ],
    ];
    const bad = path.join(tmp, `bad-trusted-${counter++}.json`);
    fs.writeFileSync(bad, JSON.stringify([{ key: LOG_KEY, notAfter: 'soon' }]));
    cases.push([['--trusted-keys', bad, dir], /\[0\]\.notAfter is not a date/]);
    const empty = path.join(tmp, `empty-trusted-${counter++}.json`);
    fs.writeFileSync(empty, '[]');
    cases.push([['--trusted-keys', empty, dir], /lists no key/]);
    for (const [args, message] of cases) {
      const result = run(...args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.out).toBe('');
      expect(result.err).toMatch(message);
      expect(result.err).toMatch(/usage: node verify\.mjs/);
    }
  });
});

describe('fingerprints', () => {
  it('are the same in verify.mjs and note.ts, and what sha256sum prints', () => {
    expect(standalone.keyFingerprint(LOG_KEY)).toBe(keyFingerprint(LOG_KEY));
    const digest = crypto.createHash('sha256').update(LOG_KEY).digest('hex');
    expect(keyFingerprint(LOG_KEY)).toBe(`SHA256:${digest}`);
  });
});

describe('entries whose contents the retention policy removed (ADR 033)', () => {
  // Ten entries; the last one, when `record` is set, is the log's record of purge run 7 emptying
  // entries 0 to 3.
  function purgedBundle({ record = true, purged = [0, 1, 2, 3], leaf = (h: Buffer) => h } = {}) {
    const own = Array.from({ length: 10 }, (_, seq) =>
      canonicalize(
        seq === 9 && record
          ? { seq, action: 'audit.contents_purged', details: { run: 7, fromSeq: 0, toSeq: 3 } }
          : { seq, action: 'user.view', detail: { note: `entry ${seq}` } },
      ),
    );
    const leaves = own.map((l) => leafHash(Buffer.from(l)));
    const dir = path.join(tmp, `purged-${counter++}`);
    fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
    const written = own.map((l, seq) =>
      purged.includes(seq)
        ? JSON.stringify({ purged: { leaf: leaf(leaves[seq]!).toString('base64'), run: 7 }, seq })
        : l,
    );
    setEntries(dir, written);
    fs.writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ origin: ORIGIN, firstSeq: 0 }),
    );
    fs.writeFileSync(path.join(dir, 'keys.json'), JSON.stringify([{ key: LOG_KEY }]));
    const note = signNote(
      formatCheckpoint({
        origin: ORIGIN,
        size: 10,
        rootHash: rootOf(leaves),
        timestamp: new Date(start),
      }),
      logKey,
    );
    writeCheckpoint(dir, 10, note);
    return dir;
  }

  it('verifies by their leaf hashes and the purge record, and counts them apart', () => {
    const dir = purgedBundle();
    const text = verify(dir);
    expect(text.status).toBe(0);
    expect(text.out).toMatch(/^OK: 10 entries \(4 with contents removed by retention policy\),/);
    expect(verifyJson(dir)).toMatchObject({ ok: true, purged: 4, entries: 10, problems: [] });
  });

  it('reports a content missing without a purge record covering it as missing', () => {
    const outside = verifyJson(purgedBundle({ purged: [0, 5] }));
    expect(outside.ok).toBe(false);
    expect(outside.problems).toEqual([expect.objectContaining({ seq: 5, kind: 'missing' })]);
    const unrecorded = verifyJson(purgedBundle({ record: false }));
    expect(unrecorded.ok).toBe(false);
    expect(unrecorded.problems.map((p) => [p.seq, p.kind])).toEqual([
      [0, 'missing'],
      [1, 'missing'],
      [2, 'missing'],
      [3, 'missing'],
    ]);
  });

  it('a purged line with another leaf hash breaks the signed root', () => {
    const report = verifyJson(purgedBundle({ leaf: (h) => Buffer.alloc(32, h[0]! ^ 1) }));
    expect(report.ok).toBe(false);
    expect(report.problems.some((p) => p.kind === 'root')).toBe(true);
  });
});
