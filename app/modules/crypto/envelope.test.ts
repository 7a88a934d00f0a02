import fc from 'fast-check';
import {
  decryptField,
  DecryptionError,
  emailBlindIndex,
  encryptField,
  maskEmail,
  newDataKey,
  unwrapDataKey,
  wrapDataKey,
} from './envelope.server.ts';
import { versioned } from './keys.server.ts';

const ring = {
  master: versioned(Buffer.alloc(32, 7)),
  previousMasters: [],
  index: versioned(Buffer.alloc(32, 9)),
};
const userA = '5b1c7a1e-0000-4000-8000-000000000001';
const userB = '5b1c7a1e-0000-4000-8000-000000000002';

describe('envelope encryption', () => {
  it('round-trips any text, hostile or not', () => {
    const key = newDataKey(userA);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        expect(
          decryptField(key, 'users.email', userA, encryptField(key, 'users.email', userA, text)),
        ).toBe(text);
      }),
    );
  });

  it('never reuses an IV, across the pooled buffer it draws them from', () => {
    // Layout: format (1) | key version (2) | IV (12) | … ; 5,000 values span several pools.
    const key = newDataKey(userA);
    const ivs = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const sealed = encryptField(key, 'users.email', userA, 'same text');
      ivs.add(sealed.subarray(3, 15).toString('hex'));
    }
    expect(ivs.size).toBe(5_000);
  });

  it('refuses a ciphertext copied to another field, row or user', () => {
    const key = newDataKey(userA);
    const sealed = encryptField(key, 'users.email', userA, 'jane@example.com');
    expect(() => decryptField(key, 'users.display_name', userA, sealed)).toThrow(DecryptionError);
    expect(() => decryptField(key, 'users.email', userB, sealed)).toThrow(DecryptionError);
    const keyB = { ...newDataKey(userB), key: key.key };
    expect(() => decryptField(keyB, 'users.email', userB, sealed)).toThrow(DecryptionError);
  });

  it('refuses a tampered ciphertext', () => {
    const key = newDataKey(userA);
    const sealed = encryptField(key, 'messages.content', 'row-1', 'hello');
    sealed[sealed.length - 20]! ^= 1;
    expect(() => decryptField(key, 'messages.content', 'row-1', sealed)).toThrow(DecryptionError);
  });

  it('wraps data keys under the master key, bound to their user', () => {
    const key = newDataKey(userA);
    const wrapped = wrapDataKey(key, ring.master);
    expect(wrapped.masterKeyId).toBe(ring.master.id);
    expect(unwrapDataKey(wrapped, ring).key.equals(key.key)).toBe(true);
    expect(() => unwrapDataKey({ ...wrapped, userId: userB }, ring)).toThrow(DecryptionError);
    const otherMaster = { ...ring, master: versioned(Buffer.alloc(32, 8)) };
    expect(() => unwrapDataKey(wrapped, otherMaster)).toThrow(/not loaded/);
    // After rotation the old master still unwraps, as a previous key.
    expect(unwrapDataKey(wrapped, { ...otherMaster, previousMasters: [ring.master] }).key).toEqual(
      key.key,
    );
  });

  it('indexes emails by a keyed hash, case- and space-insensitive', () => {
    const a = emailBlindIndex(ring.index, ' Jane@Example.com ');
    expect(a.equals(emailBlindIndex(ring.index, 'jane@example.com'))).toBe(true);
    expect(a.equals(emailBlindIndex(versioned(Buffer.alloc(32, 3)), 'jane@example.com'))).toBe(
      false,
    );
    expect(a.toString('utf8')).not.toContain('jane');
  });

  it('masks emails for lookup cards', () => {
    expect(maskEmail('jane.doe@example.com')).toBe('j•••@example.com');
    expect(maskEmail('😀x@example.com')).toBe('😀•••@example.com');
    expect(maskEmail('broken')).toBe('•••');
  });
});
