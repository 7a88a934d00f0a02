#!/usr/bin/env node
// Standalone verifier for an exported Custodian audit bundle. Node.js built-ins only: this file is
// copied into every bundle as verify.mjs, so it repeats the RFC 6962 hashing and C2SP signed-note
// checks of app/modules/audit/{merkle,note}.ts instead of importing them.
//
//   node verify.mjs [--json] [--key KEY]... [--trusted-keys FILE] [--checkpoint FILE|DIR]... DIR
//
// Trust comes from outside the bundle. Everything in DIR (this file included) is in the hands of
// whoever handed it over: a forger can rewrite entries, recompute every hash, sign new checkpoints
// with a key of their own and put that key in keys.json. So the checkpoints are checked against
// the keys given on the command line only, obtained from the log's operator by another channel
// (`npx custodian audit key` prints it, /audit/verify shows its fingerprint):
//
// --key KEY            a verifier key, `<name>+<8 hex digits>+<base64>` (repeatable).
// --trusted-keys FILE  a JSON file of keys with validity periods, the format of
//                      CUSTODIAN_AUDIT_TRUSTED_KEYS and keys.json:
//                      [{ "key": "<verifier key>", "notBefore"?: iso, "notAfter"?: iso }]
//                      A key with a period counts only for checkpoints whose timestamp falls in it.
// --checkpoint FILE|DIR  a checkpoint obtained elsewhere (a witness, the folder the console
//                      publishes to), so that a bundle cut back to an earlier checkpoint is still
//                      caught. A folder adds every *.txt in it (repeatable). Such a checkpoint older
//                      than a partial bundle's first entry is skipped; one larger than the bundle
//                      says the log was cut.
//
// keys.json is then ignored, except that a difference from the keys given is reported.
//
// Exit codes: 0 intact and signed by a given key; 1 a problem found (the first position first);
// 2 bad usage (unknown option, unreadable key or file, no DIR); 3 internally consistent, but no
// key was given, so the bundle was checked against its own keys.json, which proves nothing about
// who wrote it: never reported as OK.
//
// DIR/entries.jsonl    one JSON entry per line; a line's bytes (without its newline) are the leaf.
//                      Every entry has an integer "seq": its leaf index in the log, counted from 0.
//                      An entry whose contents the retention policy removed is the line
//                      {"purged":{"leaf":"<its leaf hash, base64>","run":N},"seq":S}: its leaf is the
//                      hash given (the signed roots and the next entry's link vouch for it), and
//                      the bundle must hold the log's "audit.contents_purged" entry of run N, after
//                      S, whose fromSeq..toSeq range holds S. Without that record the missing
//                      content is a problem (kind "missing"), as any other removal is.
// DIR/checkpoints/*.txt  C2SP checkpoints (signed notes) of the log.
// DIR/keys.json        the keys the exporting console trusted (informational, see above).
// DIR/manifest.json    { "origin", "firstSeq", "frontier"?: { "size", "hashes": base64[] } }
//                      A bundle holding a range that starts at firstSeq > 0 carries the frontier of
//                      the first firstSeq leaves (its right-edge subtree hashes, largest first), enough
//                      to recompute every later root. Checkpoints smaller than firstSeq cannot be
//                      checked and are reported.
// DIR/leaf-hashes.txt  optional: the leaf hash the log recorded for each line, base64, one a line.
//                      Only a locator: an edited entry is named exactly. The signed checkpoints
//                      remain the proof; without this file a mismatch is placed between checkpoints.
//
// Intact means: every checkpoint is signed by a trusted key that was valid at the checkpoint's
// `timestamp` line (keys with no validity window are always valid; keys with one need that line),
// names the manifest's origin, and has the root recomputed from the entries at its size; seqs run
// contiguously from firstSeq; and every entry is covered by some checkpoint.
//
// A key's fingerprint, as the console shows it, is SHA256: and the hex SHA-256 of the verifier key
// string: `printf %s "$KEY" | sha256sum` computes it.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const oneShot = typeof crypto.hash === 'function' ? crypto.hash : undefined;
const sha256 = (data) =>
  oneShot ? oneShot('sha256', data, 'buffer') : crypto.createHash('sha256').update(data).digest();

export function leafHash(bytes) {
  return sha256(Buffer.concat([Buffer.from([0]), bytes]));
}

export function nodeHash(left, right) {
  return sha256(Buffer.concat([Buffer.from([1]), left, right]));
}

// The right edge of the tree: one perfect-subtree hash per set bit of size, largest first.
export class Frontier {
  constructor(size = 0, hashes = []) {
    this.size = size;
    this.hashes = hashes;
  }
  append(hash) {
    let h = hash;
    for (let s = this.size; s % 2 === 1; s = Math.floor(s / 2)) h = nodeHash(this.hashes.pop(), h);
    this.hashes.push(h);
    this.size++;
  }
  root() {
    if (this.hashes.length === 0) return sha256(Buffer.alloc(0));
    let r = this.hashes[this.hashes.length - 1];
    for (let i = this.hashes.length - 2; i >= 0; i--) r = nodeHash(this.hashes[i], r);
    return r;
  }
}

function base64Strict(text) {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    return undefined;
  }
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

const validName = (name) => name.length > 0 && !/[\s\u0085+]/u.test(name);

function keyId(name, publicKey) {
  const digest = sha256(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([1]), publicKey]));
  return digest.readUInt32BE(0);
}

/** SHA256: and the hex SHA-256 of the verifier key string, as the console shows it. */
export function keyFingerprint(key) {
  return `SHA256:${sha256(Buffer.from(String(key), 'utf8')).toString('hex')}`;
}

export function parseVerifierKey(text) {
  const m = /^([^+]+)\+([0-9a-fA-F]{8})\+(.+)$/s.exec(String(text));
  const bytes = m && base64Strict(m[3]);
  if (!m || !validName(m[1]) || !bytes || bytes.length !== 33 || bytes[0] !== 1) {
    throw new Error(`malformed verifier key ${JSON.stringify(text)}`);
  }
  const publicKey = bytes.subarray(1);
  const id = keyId(m[1], publicKey);
  if (id !== parseInt(m[2], 16)) throw new Error(`key id of ${m[1]} does not match its key`);
  const key = crypto.createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') },
    format: 'jwk',
  });
  return { name: m[1], id, key, text: String(text) };
}

// C2SP signed-note: returns the note text and the names of the trusted keys that signed it and were
// valid at `at`. Unknown keys are ignored; a known key's bad signature is an error.
export function openNote(note, trusted, at) {
  // eslint-disable-next-line no-control-regex
  if (/\p{Surrogate}|[\u0000-\u0009\u000b-\u001f]/u.test(note)) throw new Error('malformed note');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n') || split + 2 === note.length) {
    throw new Error('malformed note');
  }
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > 100) throw new Error('too many signatures');
  const verified = [];
  const verifiedKeys = [];
  const outside = [];
  const seen = new Set();
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    const payload = m && base64Strict(m[2]);
    if (!m || !validName(m[1]) || !payload || payload.length < 5) {
      throw new Error('malformed signature line');
    }
    const id = payload.readUInt32BE(0);
    const known = trusted.filter((k) => k.name === m[1] && k.id === id);
    if (known.length === 0 || seen.has(`${m[1]}+${id}`)) continue;
    seen.add(`${m[1]}+${id}`);
    const sig = payload.subarray(4);
    if (sig.length !== 64 || !crypto.verify(null, Buffer.from(text), known[0].key, sig)) {
      throw new Error(`the signature by ${m[1]} does not verify`);
    }
    const inWindow = known.some(
      (k) =>
        (!k.notBefore && !k.notAfter) ||
        (at && (!k.notBefore || at >= k.notBefore) && (!k.notAfter || at <= k.notAfter)),
    );
    (inWindow ? verified : outside).push(m[1]);
    if (inWindow) verifiedKeys.push(known[0].text);
  }
  if (verified.length > 0) return { text, verifiedBy: verified, verifiedKeys };
  if (outside.length > 0) {
    const when = at ? `at ${at.toISOString()}` : 'without a timestamp';
    throw new Error(`signed only by keys not valid ${when}: ${outside.join(', ')}`);
  }
  throw new Error('not signed by any known key');
}

export function parseCheckpoint(text) {
  const lines = text.slice(0, -1).split('\n');
  if (!text.endsWith('\n') || lines.length < 3 || lines.some((l) => l === '')) {
    throw new Error('malformed checkpoint');
  }
  const [origin, sizeText, rootText, ...extensions] = lines;
  const size = Number(sizeText);
  const rootHash = base64Strict(rootText);
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(size)) {
    throw new Error('malformed checkpoint size');
  }
  if (!rootHash || rootHash.length !== 32) throw new Error('malformed checkpoint root hash');
  const stamps = extensions.filter((l) => l.startsWith('timestamp '));
  let timestamp;
  if (stamps.length > 1) throw new Error('more than one timestamp line');
  if (stamps.length === 1) {
    const value = stamps[0].slice('timestamp '.length);
    timestamp = new Date(value);
    if (Number.isNaN(timestamp.getTime()) || timestamp.toISOString() !== value) {
      throw new Error('malformed timestamp line');
    }
  }
  return { origin, size, rootHash, timestamp };
}

export function openCheckpoint(note, trusted) {
  const checkpoint = parseCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1));
  const { verifiedBy, verifiedKeys } = openNote(note, trusted, checkpoint.timestamp);
  return { ...checkpoint, verifiedBy, verifiedKeys };
}

// The lines of a file as raw bytes, read in chunks so that logs larger than memory still verify.
function* readLines(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let rest = Buffer.alloc(0);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const data = Buffer.concat([rest, chunk.subarray(0, n)]);
      let start = 0;
      for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
        yield data.subarray(start, nl);
        start = nl + 1;
      }
      rest = Buffer.from(data.subarray(start));
    }
    if (rest.length > 0) yield rest;
  } finally {
    fs.closeSync(fd);
  }
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${path.basename(file)}: ${error.message}`);
  }
}

// A list of { key, notBefore?, notAfter? } (keys.json, --trusted-keys) as trusted keys.
export function trustedKeysFrom(list, label) {
  if (!Array.isArray(list)) throw new Error(`${label} must be a JSON array of { "key": ... }`);
  const keys = list.map((entry, i) => {
    if (typeof entry?.key !== 'string') throw new Error(`${label}[${i}].key is missing`);
    const date = (field) => {
      if (entry[field] === undefined) return undefined;
      const d = new Date(entry[field]);
      if (typeof entry[field] !== 'string' || Number.isNaN(d.getTime())) {
        throw new Error(`${label}[${i}].${field} is not a date`);
      }
      return d;
    };
    let parsed;
    try {
      parsed = parseVerifierKey(entry.key);
    } catch (error) {
      throw new Error(`${label}[${i}].key: ${error.message}`);
    }
    return { ...parsed, notBefore: date('notBefore'), notAfter: date('notAfter') };
  });
  checkNoClash(keys, label);
  return keys;
}

function checkNoClash(keys, label) {
  for (const a of keys) {
    const clash = keys.find((b) => b.name === a.name && b.id === a.id && !b.key.equals(a.key));
    if (clash) throw new Error(`${label} holds two different keys named ${a.name} with one id`);
  }
}

function loadKeys(file) {
  return trustedKeysFrom(readJson(file), 'keys.json');
}

function loadManifest(file) {
  const m = readJson(file);
  if (typeof m?.origin !== 'string' || m.origin === '')
    throw new Error('manifest.origin is missing');
  if (!Number.isSafeInteger(m.firstSeq) || m.firstSeq < 0) {
    throw new Error('manifest.firstSeq must be a non-negative integer');
  }
  if (m.firstSeq === 0) return { origin: m.origin, firstSeq: 0, frontier: new Frontier() };
  const f = m.frontier;
  const hashes = Array.isArray(f?.hashes) ? f.hashes.map(base64Strict) : [];
  const bits = m.firstSeq.toString(2).replaceAll('0', '').length;
  if (f?.size !== m.firstSeq || hashes.length !== bits || hashes.some((h) => h?.length !== 32)) {
    throw new Error(`manifest.frontier must be the frontier of the first ${m.firstSeq} leaves`);
  }
  return { origin: m.origin, firstSeq: m.firstSeq, frontier: new Frontier(m.firstSeq, hashes) };
}

// What keys.json says against the keys given: informational, keys.json is not trusted.
function compareKeysJson(dir, trusted) {
  let listed;
  try {
    listed = loadKeys(path.join(dir, 'keys.json'));
  } catch (error) {
    return [`keys.json was ignored (${error.message})`];
  }
  const given = new Set(trusted.map((k) => k.text));
  const inFile = new Set(listed.map((k) => k.text));
  const notes = [];
  for (const k of inFile) {
    if (!given.has(k)) {
      notes.push(`keys.json lists a key that was not given, ignored: ${k} (${keyFingerprint(k)})`);
    }
  }
  for (const k of given) {
    if (!inFile.has(k))
      notes.push(`keys.json does not list the given key ${k} (${keyFingerprint(k)})`);
  }
  return notes;
}

/**
 * Verifies the bundle in `dir`. `trusted` (parsed verifier keys with optional windows) are the
 * keys checkpoints must be signed by; without them the bundle's own keys.json is used and the
 * result is at best consistent, never authenticated (`ok` stays false).
 */
export function verifyBundle(dir, { extraCheckpoints = [], trusted: given } = {}) {
  const problems = [];
  const notes = [];
  const signedBy = new Set();
  const authenticated = Array.isArray(given) && given.length > 0;
  const report = (seq, kind, message) => problems.push({ seq, kind, message });
  let purgedCount = 0;
  const result = (entries, checkpoints) => {
    problems.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
    const seqs = problems.map((p) => p.seq).filter((s) => s !== null);
    const firstBadSeq = seqs.length > 0 ? seqs[0] : null;
    return {
      ok: problems.length === 0 && authenticated,
      authenticated,
      entries,
      purged: purgedCount,
      checkpoints,
      firstBadSeq,
      problems,
      signedBy: [...signedBy].map((key) => ({ key, fingerprint: keyFingerprint(key) })),
      notes,
    };
  };

  let manifest;
  let trusted;
  try {
    manifest = loadManifest(path.join(dir, 'manifest.json'));
    if (authenticated) {
      trusted = given;
      notes.push(...compareKeysJson(dir, given));
    } else {
      trusted = loadKeys(path.join(dir, 'keys.json'));
    }
  } catch (error) {
    report(null, 'bundle', error.message);
    return result(0, 0);
  }
  const { origin, firstSeq, frontier } = manifest;

  const cpDir = path.join(dir, 'checkpoints');
  const cpFiles = [
    ...(fs.existsSync(cpDir)
      ? fs
          .readdirSync(cpDir)
          .filter((f) => f.endsWith('.txt'))
          .sort()
      : []
    ).map((f) => ({ file: path.join(cpDir, f), extra: false })),
    ...extraCheckpoints.map((file) => ({ file, extra: true })),
  ];
  const bySize = new Map();
  const valid = [];
  for (const { file, extra } of cpFiles) {
    const label = path.relative(dir, file).startsWith('..') ? file : path.relative(dir, file);
    try {
      const cp = openCheckpoint(fs.readFileSync(file, 'utf8'), trusted);
      if (cp.origin !== origin) throw new Error(`origin is ${cp.origin}, not ${origin}`);
      const entry = { ...cp, label, extra };
      if (extra && cp.size < firstSeq) {
        // A published checkpoint of the log before this range: nothing here to check it against.
        notes.push(
          `${label}: size ${cp.size} precedes the bundle's first seq ${firstSeq}, skipped`,
        );
        continue;
      }
      valid.push(entry);
      for (const key of cp.verifiedKeys) signedBy.add(key);
      if (cp.size < firstSeq) {
        report(
          null,
          'checkpoint',
          `${label}: size ${cp.size} precedes the bundle's first seq ${firstSeq} and cannot be checked`,
        );
      } else {
        bySize.set(cp.size, [...(bySize.get(cp.size) ?? []), entry]);
      }
    } catch (error) {
      report(null, 'checkpoint', `${label}: ${error.message}`);
    }
  }

  // A root mismatch only says that some entry after the last matching checkpoint differs; it is
  // named by the first entry found wrong there, else by the start of that stretch.
  let lastGood = firstSeq;
  const entryProblems = [];
  const checkRoots = (size) => {
    const due = bySize.get(size);
    if (!due) return;
    const root = frontier.root();
    for (const cp of due) {
      if (root.equals(cp.rootHash)) {
        lastGood = size;
        continue;
      }
      const seq = entryProblems.find((s) => s >= lastGood) ?? lastGood;
      const start = lastGood === firstSeq && firstSeq > 0 ? 'the manifest frontier or ' : '';
      report(
        seq,
        'root',
        `${cp.label} (size ${size}) does not match the entries: ${start}an entry from seq ${lastGood} to ${size - 1} differs from what was signed`,
      );
    }
  };
  checkRoots(firstSeq);

  const entriesFile = path.join(dir, 'entries.jsonl');
  if (!fs.existsSync(entriesFile)) {
    report(firstSeq, 'bundle', 'entries.jsonl is missing');
    return result(0, valid.length);
  }
  const hintsFile = path.join(dir, 'leaf-hashes.txt');
  const hints = fs.existsSync(hintsFile) ? readLines(hintsFile) : undefined;
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let count = 0;
  let lastDelta = 0;
  // Custodian entries carry `prev`, the leaf hash of the entry before: an entry rewritten together
  // with its recorded hash still breaks the link from the next one. (Unknown for the first line
  // of a partial range.)
  let prevHash = firstSeq === 0 ? null : undefined;
  const entryProblem = (seq, kind, message) => {
    if (entryProblems.at(-1) !== seq) entryProblems.push(seq);
    report(seq, kind, message);
  };
  // Lines standing for emptied entries, and the log's records of purge runs (ADR 033).
  const purgedLines = [];
  const purgeRecords = [];
  for (const line of readLines(entriesFile)) {
    const expected = firstSeq + count;
    let seq;
    let prev;
    let purgedLeaf;
    try {
      const entry = JSON.parse(utf8.decode(line));
      seq = entry?.seq;
      prev = entry?.prev;
      const keys = entry && typeof entry === 'object' ? Object.keys(entry).sort().join(',') : '';
      if (keys === 'purged,seq') {
        const leaf = base64Strict(entry.purged?.leaf);
        const run = entry.purged?.run;
        if (leaf?.length === 32 && Number.isSafeInteger(run) && Number.isSafeInteger(seq)) {
          purgedLeaf = leaf;
          purgedLines.push({ seq, run });
        } else {
          seq = undefined;
        }
      } else if (entry?.action === 'audit.contents_purged' && Number.isSafeInteger(seq)) {
        const d = entry.details ?? {};
        if ([d.run, d.fromSeq, d.toSeq].every(Number.isSafeInteger)) {
          purgeRecords.push({ seq, run: d.run, from: d.fromSeq, to: d.toSeq });
        }
      }
    } catch {
      seq = undefined;
    }
    // After a gap every later line is off by the same amount; report the gap once.
    if (!Number.isSafeInteger(seq)) {
      entryProblem(expected, 'entry', `line ${count + 1} is not a JSON entry with an integer seq`);
      lastDelta = 0;
    } else if (seq !== expected && seq - expected !== lastDelta) {
      lastDelta = seq - expected;
      entryProblem(
        expected,
        'seq',
        `line ${count + 1} should hold seq ${expected} but holds seq ${seq} (entries missing, repeated or out of order)`,
      );
    } else if (seq === expected) {
      lastDelta = 0;
      const linked = prevHash === null ? null : prevHash?.toString('base64');
      if (prev !== undefined && prevHash !== undefined && prev !== linked && seq > 0) {
        entryProblem(
          seq - 1,
          'entry',
          `entry ${seq - 1} differs from the leaf entry ${seq} links to`,
        );
      }
    }
    const hash = purgedLeaf ?? leafHash(line);
    prevHash = hash;
    const hint = hints?.next();
    // Lines already out of place would all mismatch their positional hints; one report is enough.
    const recorded = hint && !hint.done ? base64Strict(hint.value.toString()) : undefined;
    if (hint && !hint.done && seq === expected && !(recorded && hash.equals(recorded))) {
      entryProblem(expected, 'entry', 'the entry does not hash to the leaf hash the log recorded');
    }
    frontier.append(hash);
    count++;
    checkRoots(firstSeq + count);
  }
  hints?.return();
  for (const { seq, run } of purgedLines) {
    const record = purgeRecords.find(
      (r) => r.run === run && r.from <= seq && seq <= r.to && r.seq > seq,
    );
    if (record) purgedCount++;
    else {
      report(
        seq,
        'missing',
        `entry ${seq} has no content, and no audit.contents_purged entry in the bundle records purge run ${run} removing it`,
      );
    }
  }

  const end = firstSeq + count;
  let reaches = firstSeq;
  // The bundle's own newest checkpoint: a checkpoint from elsewhere of a larger tree signed before
  // it proves a cut; one signed after it may also be the log growing after the export, which this
  // bundle cannot tell from a cut, so it fails all the same and says so.
  const newest = valid
    .filter((cp) => !cp.extra && cp.timestamp)
    .reduce((a, cp) => (!a || cp.timestamp > a ? cp.timestamp : a), undefined);
  for (const cp of valid) {
    reaches = Math.max(reaches, cp.size);
    if (cp.size > end) {
      const later = cp.extra && newest && cp.timestamp && cp.timestamp > newest;
      const why = later
        ? `the log was cut, or it grew after the bundle's newest checkpoint (${newest.toISOString()}): then leave out the checkpoints made after it`
        : 'the log was cut';
      report(
        end,
        'missing',
        `entry missing: ${cp.label} covers ${cp.size} entries, the bundle has none from seq ${end} on (${why})`,
      );
    }
  }
  if (reaches < end) {
    report(
      reaches,
      'uncovered',
      `seq ${reaches} to ${end - 1} are not covered by any valid checkpoint`,
    );
  }
  return result(count, valid.length);
}

const USAGE =
  'usage: node verify.mjs [--json] [--key KEY]... [--trusted-keys FILE] [--checkpoint FILE|DIR]... DIR';

class UsageError extends Error {}

// The command line, checked before anything is verified: a mistake there is exit 2, not a finding.
export function parseCommandLine(args) {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        key: { type: 'string', multiple: true, default: [] },
        'trusted-keys': { type: 'string', multiple: true, default: [] },
        checkpoint: { type: 'string', multiple: true, default: [] },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  if (values.help) return { help: true };
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'give the bundle folder DIR'
        : `one DIR only, not ${positionals.length}`,
    );
  }
  const [dir] = positionals;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(`DIR: ${dir} is not a folder`);
  }
  const trusted = [];
  values.key.forEach((text, i) => {
    try {
      trusted.push(parseVerifierKey(text));
    } catch (error) {
      throw new UsageError(`--key (${i + 1}): ${error.message}`);
    }
  });
  for (const file of values['trusted-keys']) {
    let list;
    try {
      list = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      throw new UsageError(`--trusted-keys ${file}: cannot read it as JSON: ${error.message}`);
    }
    try {
      const keys = trustedKeysFrom(list, file);
      if (keys.length === 0) throw new Error('lists no key');
      trusted.push(...keys);
    } catch (error) {
      throw new UsageError(`--trusted-keys ${file}: ${error.message}`);
    }
  }
  try {
    checkNoClash(trusted, 'the keys given');
  } catch (error) {
    throw new UsageError(error.message);
  }
  const extraCheckpoints = [];
  for (const given of values.checkpoint) {
    if (!fs.existsSync(given)) throw new UsageError(`--checkpoint: ${given} does not exist`);
    if (fs.statSync(given).isDirectory()) {
      const files = fs
        .readdirSync(given)
        .filter((f) => f.endsWith('.txt') && !f.startsWith('.'))
        .sort();
      extraCheckpoints.push(...files.map((f) => path.join(given, f)));
    } else {
      extraCheckpoints.push(given);
    }
  }
  return { dir, json: values.json, trusted, extraCheckpoints };
}

const signers = (res) => res.signedBy.map((k) => `${k.key} (${k.fingerprint})`).join(', ');

function main(argv) {
  let options;
  try {
    options = parseCommandLine(argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`verify.mjs: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const res = verifyBundle(options.dir, options);
  const exit = res.problems.length > 0 ? 1 : res.authenticated ? 0 : 3;
  const out = [];
  if (options.json) {
    out.push(JSON.stringify(res));
  } else if (exit === 1) {
    const [first, ...rest] = res.problems;
    const where = (p) => (p.seq === null ? '' : ` seq ${p.seq}`);
    out.push(`FAIL${where(first)}: ${first.message}`);
    for (const p of rest.slice(0, 20)) out.push(`  also${where(p)}: ${p.message}`);
    if (rest.length > 20) out.push(`  (${rest.length - 20} more problems; --json lists them all)`);
    if (!res.authenticated) {
      out.push("(checked against the bundle's own keys.json: give --key to check the signer)");
    }
  } else if (exit === 3) {
    out.push(
      `NOT VERIFIED: the ${res.entries} entries and ${res.checkpoints} checkpoints agree with each other, but no key was given.`,
      `The checkpoints were checked against the bundle's own keys.json (${signers(res) || 'no key'}).`,
      'Whoever can change the bundle can rewrite it, sign it again and replace keys.json, so this',
      "proves nothing about who wrote the log. Give the log's verifier key, obtained from its",
      'operator by another channel (npx custodian audit key; the fingerprint on /audit/verify):',
      '  node verify.mjs --key KEY DIR   or   node verify.mjs --trusted-keys FILE DIR',
    );
  } else {
    const by = res.signedBy.length ? `, signed by ${signers(res)}` : '';
    const purged = res.purged ? ` (${res.purged} with contents removed by retention policy)` : '';
    out.push(`OK: ${res.entries} entries${purged}, ${res.checkpoints} checkpoints${by}`);
  }
  if (!options.json) for (const note of res.notes) out.push(`note: ${note}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return exit;
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  process.exitCode = main(process.argv);
}
