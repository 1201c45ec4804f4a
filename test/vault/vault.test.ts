import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENVELOPE_MAGIC, type SecretBinding, Vault } from '../../src/vault/index.ts';
import { assertPipesError, assertUnreadable, binding, keyWithId, ringOf } from './helpers.ts';

const K1 = keyWithId('k1');
const K2 = keyWithId('k2');
const vault = new Vault(ringOf(K1, K2));
const SECRET = 'gho_16C7e42F292c6912E7710c838347Ae178B4a';

function flip(blob: Buffer, index: number, mask = 0x01): Buffer {
  const copy = Buffer.from(blob);
  copy[index] = copy[index]! ^ mask;
  return copy;
}

// Offsets of format version 1 with the 2-byte key id "k1" (see src/vault/envelope.ts).
const L = 2;
const REGIONS = {
  magic: 0,
  version: 4,
  keyIdLength: 5,
  keyId: 6,
  dekIv: 6 + L,
  dekTag: 18 + L,
  wrappedDek: 34 + L,
  dataIv: 66 + L,
  dataTag: 78 + L,
  dataCiphertext: 94 + L,
};

describe('Vault seal/open', () => {
  it('round-trips ASCII, Unicode and long secrets', () => {
    for (const secret of [SECRET, 'x', 'pässwörd 🔑 密钥', 'a'.repeat(100_000)]) {
      const blob = vault.seal(secret, binding);
      assert.ok(Buffer.isBuffer(blob));
      assert.equal(vault.open(blob, binding), secret);
    }
  });

  it('writes the documented layout and never the plaintext', () => {
    const blob = vault.seal(SECRET, binding);
    assert.deepEqual(blob.subarray(0, 4), ENVELOPE_MAGIC);
    assert.equal(blob[4], 1);
    assert.equal(blob[5], L);
    assert.equal(blob.subarray(6, 6 + L).toString('ascii'), 'k1');
    assert.equal(blob.length, 94 + L + Buffer.byteLength(SECRET));
    assert.equal(blob.includes(Buffer.from(SECRET)), false);
    assert.equal(vault.keyIdOf(blob), 'k1');
  });

  it('opens a blob stored as a plain Uint8Array (as some drivers return it)', () => {
    const blob = vault.seal(SECRET, binding);
    const copy = new Uint8Array(blob.length + 3).subarray(3);
    copy.set(blob);
    assert.equal(vault.open(copy, binding), SECRET);
  });

  it('refuses to seal an empty secret', () => {
    assertPipesError(() => vault.seal('', binding), 'invalid_secret', 500);
  });

  it('rejects an incomplete binding or an unknown kind', () => {
    assertPipesError(() => vault.seal(SECRET, { ...binding, rowId: '' }), 'invalid_secret_binding');
    assertPipesError(
      () => vault.seal(SECRET, { ...binding, kind: 'password' as SecretBinding['kind'] }),
      'invalid_secret_binding',
    );
  });
});

describe('V1: tampering is detected', () => {
  for (const [region, index] of Object.entries(REGIONS)) {
    it(`rejects one flipped byte in the ${region}`, () => {
      const blob = vault.seal(SECRET, binding);
      const error = assertUnreadable(() => vault.open(flip(blob, index), binding));
      assert.equal(error.message.includes(SECRET), false);
    });
  }

  it('rejects a flipped bit at every position of the blob', () => {
    const blob = vault.seal(SECRET, binding);
    for (let index = 0; index < blob.length; index++) {
      for (const mask of [0x01, 0x80]) {
        assertUnreadable(() => vault.open(flip(blob, index, mask), binding));
      }
    }
  });

  it('rejects a blob relabelled with another configured key id', () => {
    const blob = vault.seal(SECRET, binding);
    const relabelled = Buffer.from(blob);
    relabelled.write('2', 7, 'ascii'); // "k1" -> "k2", both in the ring
    assert.equal(vault.keyIdOf(relabelled), 'k2');
    assertUnreadable(() => vault.open(relabelled, binding));
  });

  it('rejects truncated, extended, empty and non-byte blobs', () => {
    const blob = vault.seal(SECRET, binding);
    for (const length of [0, 3, 5, 6, 20, 94 + L, blob.length - 1]) {
      assertUnreadable(() => vault.open(blob.subarray(0, length), binding));
    }
    assertUnreadable(() => vault.open(Buffer.concat([blob, Buffer.from([0])]), binding));
    assertUnreadable(() => vault.open('not a blob' as unknown as Buffer, binding));
    assertUnreadable(() => vault.keyIdOf(Buffer.from('PVX')));
  });

  it('rejects a swapped wrapped-DEK between two blobs of the same binding', () => {
    const a = vault.seal(SECRET, binding);
    const b = vault.seal('another secret', binding);
    const mixed = Buffer.concat([a.subarray(0, REGIONS.dataIv), b.subarray(REGIONS.dataIv)]);
    assertUnreadable(() => vault.open(mixed, binding));
  });
});

describe('V2: a blob is bound to its table, row, environment and kind', () => {
  const others: Array<[string, SecretBinding]> = [
    ['table', { ...binding, table: 'data_integrations' }],
    ['rowId', { ...binding, rowId: 'data_installation_01HZX0000000000000000000ZZ' }],
    ['environmentId', { ...binding, environmentId: 'environment_01HZX0000000000000000000ZZ' }],
    ['kind', { ...binding, kind: 'refresh_token' }],
  ];
  for (const [field, other] of others) {
    it(`fails with another ${field}`, () => {
      const blob = vault.seal(SECRET, binding);
      assertUnreadable(() => vault.open(blob, other));
      assertUnreadable(() => vault.rewrap(blob, other));
      assert.equal(vault.open(blob, binding), SECRET);
    });
  }

  it('encodes the binding unambiguously (no concatenation collisions)', () => {
    const a: SecretBinding = { ...binding, table: 'ab', rowId: 'c' };
    const b: SecretBinding = { ...binding, table: 'a', rowId: 'bc' };
    const blob = vault.seal(SECRET, a);
    assert.equal(vault.open(blob, a), SECRET);
    assertUnreadable(() => vault.open(blob, b));
  });
});
