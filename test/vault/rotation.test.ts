import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Vault } from '../../src/vault/index.ts';
import { assertUnreadable, binding, keyWithId, ringOf } from './helpers.ts';

const K1 = keyWithId('k1');
const K2 = keyWithId('key-two');
const SECRET = '1//0gLrefresh-token-value';
// The data part (IV, tag, ciphertext) is the tail of the blob in every format-1 blob.
const dataPartLength = 12 + 16 + Buffer.byteLength(SECRET);

describe('key rotation', () => {
  const before = new Vault(ringOf(K1));
  const during = new Vault(ringOf(K2, K1));
  const after = new Vault(ringOf(K2));

  it('opens k1 blobs while k2 is active, and flags them for rewrap', () => {
    const blob = before.seal(SECRET, binding);
    assert.equal(before.needsRewrap(blob), false);
    assert.equal(during.open(blob, binding), SECRET);
    assert.equal(during.keyIdOf(blob), 'k1');
    assert.equal(during.needsRewrap(blob), true);
  });

  it('seals new secrets under the active key', () => {
    const blob = during.seal(SECRET, binding);
    assert.equal(during.keyIdOf(blob), 'key-two');
    assert.equal(during.needsRewrap(blob), false);
    assert.equal(after.open(blob, binding), SECRET);
  });

  it('rewraps only the DEK: new key id, same data part, readable without k1', () => {
    const blob = before.seal(SECRET, binding);
    const rewrapped = during.rewrap(blob, binding);
    assert.equal(during.keyIdOf(rewrapped), 'key-two');
    assert.equal(during.needsRewrap(rewrapped), false);
    assert.deepEqual(rewrapped.subarray(-dataPartLength), blob.subarray(-dataPartLength));
    assert.notDeepEqual(rewrapped.subarray(0, -dataPartLength), blob.subarray(0, -dataPartLength));
    assert.equal(after.open(rewrapped, binding), SECRET);
    assertUnreadable(() => before.open(rewrapped, binding));
  });

  it('is idempotent: rewrapping a blob already under the active key returns it unchanged', () => {
    const blob = during.rewrap(before.seal(SECRET, binding), binding);
    assert.deepEqual(during.rewrap(blob, binding), blob);
  });

  it('refuses to rewrap a corrupt blob instead of re-sealing the corruption', () => {
    const blob = before.seal(SECRET, binding);
    const corrupt = Buffer.from(blob);
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 0x01;
    assertUnreadable(() => during.rewrap(corrupt, binding));
  });

  it('cannot open or rewrap a k1 blob once k1 has left the ring', () => {
    const blob = before.seal(SECRET, binding);
    assertUnreadable(() => after.open(blob, binding));
    assertUnreadable(() => after.rewrap(blob, binding));
    assert.equal(after.needsRewrap(blob), true);
  });
});
