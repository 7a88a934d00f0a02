import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { leafHash } from './merkle.ts';
import {
  NoteError,
  formatCheckpoint,
  keyId,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  rawPublicKey,
  signNote,
  verifierKeyFor,
  verifierKeyString,
} from './note.ts';

function testdataDir(): string {
  const local = path.resolve(process.cwd(), '../shared/testdata');
  return fs.existsSync(local) ? local : '/work/shared/testdata';
}

const example = JSON.parse(
  fs.readFileSync(path.join(testdataDir(), 'signed-note/example.json'), 'utf8'),
) as { verifierKey: string; note: string; valid: boolean };

function signer(name: string) {
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  return { name, privateKey };
}

const root = leafHash(Buffer.from('root'));

describe('the C2SP known-answer example', () => {
  it('verifies', () => {
    expect(example.valid).toBe(true);
    expect(openNote(example.note, [example.verifierKey])).toEqual({
      text: 'This is an example message.\n',
      verifiedBy: ['example.com/foo'],
    });
  });

  it('fails after any one-character change, at every position', () => {
    const note = example.note;
    // Every base64 character, so that flipping only the unused low bits of the final base64
    // character (which a lax decoder ignores) is tried too.
    const replacements = [
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=',
      ...[' ', '\n', '\u2014', '\t', 'é', '-', '.'],
    ];
    const variants = new Set<string>();
    for (let i = 0; i <= note.length; i++) {
      const before = note.slice(0, i);
      const after = note.slice(i);
      for (const c of replacements) variants.add(before + c + after);
      if (i < note.length) {
        variants.add(before + note.slice(i + 1));
        const code = note.charCodeAt(i);
        variants.add(before + String.fromCharCode(code ^ 1) + note.slice(i + 1));
        for (const c of replacements) variants.add(before + c + note.slice(i + 1));
      }
    }
    variants.delete(note);
    expect(variants.size).toBeGreaterThan(note.length * 70);
    for (const variant of variants) {
      expect(() => openNote(variant, [example.verifierKey]), JSON.stringify(variant)).toThrow(
        NoteError,
      );
    }
  });

  it('parses and reproduces the verifier key', () => {
    const key = parseVerifierKey(example.verifierKey);
    expect(key.name).toBe('example.com/foo');
    expect(key.keyId).toBe(0x530d903a);
    expect(keyId(key.name, key.publicKey)).toBe(0x530d903a);
    expect(verifierKeyString(key.name, key.publicKey)).toBe(example.verifierKey);
  });
});

describe('verifier keys', () => {
  it('round-trips a generated key, whose base64 may contain +', () => {
    for (let i = 0; i < 20; i++) {
      const s = signer(`custodian.example/log${i}`);
      const text = verifierKeyFor(s);
      const parsed = parseVerifierKey(text);
      expect(parsed.publicKey).toEqual(rawPublicKey(s.privateKey));
      expect(rawPublicKey(crypto.createPublicKey(s.privateKey))).toEqual(parsed.publicKey);
      const id = crypto
        .createHash('sha256')
        .update(`custodian.example/log${i}\n\u0001`)
        .update(parsed.publicKey)
        .digest()
        .readUInt32BE(0);
      expect(text.split('+')[1]).toBe(id.toString(16).padStart(8, '0'));
    }
  });

  it('rejects malformed keys', () => {
    const good = example.verifierKey;
    const [name, id, key] = good.split('+') as [string, string, string];
    for (const bad of [
      '',
      name,
      `${name}+${id}`,
      `${name}+${id.slice(1)}+${key}`,
      `${name}+00000000+${key}`,
      `other.example+${id}+${key}`,
      `has space+${id}+${key}`,
      `${name}+${id}+${key.slice(0, -4)}`,
      `${name}+${id}+Ag${key.slice(2)}`,
      `${name}+${id}+${key} `,
    ]) {
      expect(() => parseVerifierKey(bad), bad).toThrow(NoteError);
    }
  });
});

describe('signing and opening notes', () => {
  const alice = signer('alice.example/log');
  const bob = signer('bob.example/witness');
  const aliceKey = verifierKeyFor(alice);
  const bobKey = verifierKeyFor(bob);

  it('round-trips, with the exact C2SP layout', () => {
    const note = signNote('hello\nworld\n', alice);
    expect(note).toMatch(/^hello\nworld\n\n\u2014 alice\.example\/log [A-Za-z0-9+/]{91}=\n$/);
    expect(openNote(note, [aliceKey])).toEqual({
      text: 'hello\nworld\n',
      verifiedBy: [alice.name],
    });
    expect(openNote(Buffer.from(note), [aliceKey]).verifiedBy).toEqual([alice.name]);
  });

  it('allows empty lines inside the text, splitting at the last blank line', () => {
    const text = 'first\n\nsecond\n';
    const note = signNote(text, alice);
    expect(openNote(note, [aliceKey]).text).toBe(text);
    const quasimodo =
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n' +
      '\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';
    expect(parseNote(quasimodo).text).toBe(
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
    );
  });

  it('ignores unknown keys but needs one known key', () => {
    const note = signNote('cosigned\n', [bob, alice]);
    expect(openNote(note, [aliceKey]).verifiedBy).toEqual([alice.name]);
    expect(openNote(note, [aliceKey, bobKey]).verifiedBy).toEqual([bob.name, alice.name]);
    expect(() => openNote(signNote('x\n', bob), [aliceKey])).toThrow(/not signed by any known key/);
    expect(() => openNote(note, [])).toThrow(/not signed by any known key/);
  });

  const sigLine = (note: string) => note.slice(note.lastIndexOf('\n\n') + 2);

  it('ignores a key sharing only the name, or only the id, with a known key', () => {
    const impostor = signer(alice.name);
    const note = signNote('same name\n', [impostor, alice]);
    expect(openNote(note, [aliceKey]).verifiedBy).toEqual([alice.name]);
    const line = sigLine(signNote('same id\n', alice));
    const renamed = `same id\n\n${line.replace(alice.name, 'mallory.example')}${line}`;
    expect(openNote(renamed, [aliceKey]).verifiedBy).toEqual([alice.name]);
  });

  it('rejects a note whose known-key signature fails, even beside a good one', () => {
    const good = sigLine(signNote('message\n', alice));
    const payload = Buffer.from(good.split(' ').at(-1)!.trim(), 'base64');
    payload[10]! ^= 1;
    const bad = `\u2014 ${alice.name} ${payload.toString('base64')}\n`;
    expect(() => openNote(`message\n\n${bad}`, [aliceKey])).toThrow(/does not verify/);
    expect(() =>
      openNote(`message\n\n${sigLine(signNote('message\n', bob))}${bad}`, [aliceKey, bobKey]),
    ).toThrow(/does not verify/);
    const truncated = `\u2014 ${alice.name} ${payload.subarray(0, 40).toString('base64')}\n`;
    expect(() => openNote(`message\n\n${truncated}`, [aliceKey])).toThrow(/does not verify/);
  });

  it('rejects malformed notes', () => {
    const note = signNote('body\n', alice);
    const sig = note.split('\n\n')[1]!;
    for (const bad of [
      'body\n',
      note.slice(0, -1),
      `body\n${sig}`,
      `body\n\n\n`,
      `body\u0007\n\n${sig}`,
      `body\r\n\n${sig}`,
      `body\n\n${sig.replace('\u2014', '-')}`,
      `body\n\n${sig.replace('\u2014 ', '\u2014')}`,
      `body\n\n${sig}garbage\n`,
      `body\n\n${sig.replace(' ', '  ')}`,
      `body\n\n\u2014 ${alice.name} AAAA\n`,
      `body\n\n\u2014 ${alice.name} ${'A'.repeat(95)}\n`,
      `\ud800body\n\n${sig}`,
    ]) {
      expect(() => openNote(bad, [aliceKey]), JSON.stringify(bad)).toThrow(NoteError);
    }
    expect(() => openNote(Buffer.from([0x62, 0xff, 0x0a, 0x0a]), [aliceKey])).toThrow(/UTF-8/);
  });

  it('refuses to sign text that is not a note text', () => {
    expect(() => signNote('no newline', alice)).toThrow(/newline/);
    expect(() => signNote('', alice)).toThrow(/newline/);
    expect(() => signNote('tab\there\n', alice)).toThrow(/control/);
    expect(() => signNote('ok\n', { ...alice, name: 'bad name' })).toThrow(/key name/);
    expect(() => signNote('ok\n', [])).toThrow(/signer/);
  });

  it('refuses two different keys under one name and id', () => {
    const key = parseVerifierKey(aliceKey);
    // Forging a colliding id is easy; the verifier list must not be ambiguous.
    const other = Buffer.concat([Buffer.from([1]), crypto.randomBytes(32)]).toString('base64');
    const colliding = `${key.name}+${aliceKey.split('+')[1]}+${other}`;
    expect(() => openNote('x\n\n', [aliceKey, colliding])).toThrow(NoteError);
  });
});

describe('checkpoints', () => {
  it('formats the three mandatory lines and extensions', () => {
    const text = formatCheckpoint({ origin: 'custodian.example/audit', size: 42, rootHash: root });
    expect(text).toBe(`custodian.example/audit\n42\n${root.toString('base64')}\n`);
    const stamped = formatCheckpoint({
      origin: 'custodian.example/audit',
      size: 0,
      rootHash: root,
      timestamp: new Date('2025-03-04T05:06:07.089Z'),
      extensions: ['note one'],
    });
    expect(stamped.split('\n').slice(1)).toEqual([
      '0',
      root.toString('base64'),
      'timestamp 2025-03-04T05:06:07.089Z',
      'note one',
      '',
    ]);
    expect(parseCheckpoint(stamped)).toEqual({
      origin: 'custodian.example/audit',
      size: 0,
      rootHash: root,
      timestamp: new Date('2025-03-04T05:06:07.089Z'),
      extensions: ['timestamp 2025-03-04T05:06:07.089Z', 'note one'],
    });
  });

  it('parses the tlog-checkpoint example', () => {
    const cp = parseCheckpoint(
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(cp.rootHash.toString('base64')).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    expect(cp.extensions).toEqual([]);
    expect(cp.timestamp).toBeUndefined();
  });

  it('parses strictly', () => {
    const r = root.toString('base64');
    for (const bad of [
      `o\n1\n${r}`,
      `o\n1\n`,
      `\n1\n${r}\n`,
      `o\n01\n${r}\n`,
      `o\n+1\n${r}\n`,
      `o\n-1\n${r}\n`,
      `o\n1.0\n${r}\n`,
      `o\n 1\n${r}\n`,
      `o\n99999999999999999999\n${r}\n`,
      `o\n1\n${r.slice(0, -4)}\n`,
      `o\n1\n${r.slice(0, -2)}9=\n`,
      `o\n1\n${r}\n\n`,
      `o\n1\n${r}\next\n\nmore\n`,
      `o\n1\n${r}\ntimestamp 2025-01-01\n`,
      `o\n1\n${r}\ntimestamp 2025-01-01T00:00:00.000Z\ntimestamp 2025-01-01T00:00:00.000Z\n`,
    ]) {
      expect(() => parseCheckpoint(bad), JSON.stringify(bad)).toThrow(NoteError);
    }
    expect(() => formatCheckpoint({ origin: '', size: 1, rootHash: root })).toThrow(/origin/);
    expect(() => formatCheckpoint({ origin: 'o', size: -1, rootHash: root })).toThrow(/size/);
    expect(() => formatCheckpoint({ origin: 'o', size: 1, rootHash: root.subarray(1) })).toThrow(
      /32 bytes/,
    );
    expect(() =>
      formatCheckpoint({ origin: 'o', size: 1, rootHash: root, extensions: [''] }),
    ).toThrow(/extension/);
  });

  describe('key validity', () => {
    const old = signer('custodian.example/audit');
    const next = signer('custodian.example/audit');
    const rotation = new Date('2025-06-01T00:00:00.000Z');
    const keys = [
      { key: verifierKeyFor(old), notAfter: rotation },
      { key: verifierKeyFor(next), notBefore: rotation },
    ];
    const checkpoint = (timestamp?: Date) =>
      formatCheckpoint({ origin: 'custodian.example/audit', size: 3, rootHash: root, timestamp });
    const before = new Date('2025-05-31T23:59:59.000Z');
    const after = new Date('2025-06-01T00:00:01.000Z');

    it('accepts each key inside its window, by the timestamp line', () => {
      expect(openCheckpoint(signNote(checkpoint(before), old), keys).verifiedBy).toEqual([
        old.name,
      ]);
      expect(openCheckpoint(signNote(checkpoint(after), next), keys).checkpoint.size).toBe(3);
      expect(openCheckpoint(signNote(checkpoint(rotation), old), keys).verifiedBy).toHaveLength(1);
    });

    it('rejects a checkpoint signed by a key outside its window', () => {
      expect(() => openCheckpoint(signNote(checkpoint(after), old), keys)).toThrow(
        /not valid at 2025-06-01T00:00:01.000Z/,
      );
      expect(() => openCheckpoint(signNote(checkpoint(before), next), keys)).toThrow(/not valid/);
    });

    it('counts only the keys valid at the time when several signed', () => {
      const both = signNote(checkpoint(after), [old, next]);
      expect(openCheckpoint(both, keys).verifiedBy).toEqual([next.name]);
    });

    it('uses the given time without a timestamp line, and fails closed with neither', () => {
      const note = signNote(checkpoint(), old);
      expect(openCheckpoint(note, keys, { at: before }).verifiedBy).toEqual([old.name]);
      expect(() => openCheckpoint(note, keys, { at: after })).toThrow(/not valid/);
      expect(() => openCheckpoint(note, keys)).toThrow(/without a timestamp/);
      expect(openCheckpoint(note, [verifierKeyFor(old)]).verifiedBy).toEqual([old.name]);
    });

    it('prefers the signed timestamp line over the given time', () => {
      const note = signNote(checkpoint(before), old);
      expect(openCheckpoint(note, keys, { at: after }).verifiedBy).toEqual([old.name]);
    });

    it('checks the origin when asked', () => {
      const note = signNote(checkpoint(before), old);
      expect(() => openCheckpoint(note, keys, { origin: 'elsewhere' })).toThrow(/origin/);
    });
  });
});
