import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateMasterKey, keyCheckValue, parseMasterKey, verifyKeyCheck } from '../../src/vault/index.ts';
import { assertPipesError, keyWithId, ringOf } from './helpers.ts';

describe('keyCheckValue', () => {
  it('is a deterministic hex fingerprint that differs per key and is not the key', () => {
    const value = generateMasterKey();
    const check = keyCheckValue(parseMasterKey(value).key);
    assert.match(check, /^[0-9a-f]{64}$/);
    assert.equal(keyCheckValue(parseMasterKey(value).key), check);
    assert.equal(keyCheckValue(Buffer.from(value, 'base64')), check);
    assert.notEqual(keyCheckValue(parseMasterKey(generateMasterKey()).key), check);
    assert.equal(check.includes(Buffer.from(value, 'base64').toString('hex').slice(0, 16)), false);
  });
});

describe('verifyKeyCheck (V3)', () => {
  const K1 = keyWithId('k1');
  const K2 = keyWithId('k2');
  const record = (value: string) => {
    const key = parseMasterKey(value);
    return { keyId: key.id, check: keyCheckValue(key.key) };
  };

  it('asks a fresh store to record the active key', () => {
    assert.deepEqual(verifyKeyCheck(ringOf(K1), []), [record(K1)]);
  });

  it('accepts the key the store already knows', () => {
    assert.deepEqual(verifyKeyCheck(ringOf(K1), [record(K1)]), []);
  });

  it('detects another key under a known id, even with no secrets stored', () => {
    const wrong = keyWithId('k1');
    const error = assertPipesError(
      () => verifyKeyCheck(ringOf(wrong), [record(K1)]),
      'master_key_mismatch',
      500,
    );
    assert.match(error.message, /"k1"/);
    assertPipesError(
      () => verifyKeyCheck(ringOf(wrong), [record(K1)], { hasSecrets: false }),
      'master_key_mismatch',
    );
    assertPipesError(() => verifyKeyCheck(ringOf(K2, wrong), [record(K1)]), 'master_key_mismatch');
  });

  it('detects a different bare key (different derived id) when secrets are stored', () => {
    const original = generateMasterKey();
    const other = generateMasterKey();
    const error = assertPipesError(
      () => verifyKeyCheck(ringOf(other), [record(original)]),
      'master_key_mismatch',
      500,
    );
    assert.equal(error.message.includes(original), false);
    assert.equal(error.message.includes(other), false);
  });

  it('lets an operator replace the key of a store that holds no secret', () => {
    assert.deepEqual(verifyKeyCheck(ringOf(K2), [record(K1)], { hasSecrets: false }), [record(K2)]);
  });

  it('allows a rotation: new active key plus the old one as an older key', () => {
    assert.deepEqual(verifyKeyCheck(ringOf(K2, K1), [record(K1)]), [record(K2)]);
    assert.deepEqual(verifyKeyCheck(ringOf(K2, K1), [record(K1), record(K2)]), []);
    assert.deepEqual(verifyKeyCheck(ringOf(K2), [record(K1), record(K2)]), []);
  });

  it('rejects a new active key when the old one was dropped too early', () => {
    assertPipesError(() => verifyKeyCheck(ringOf(K2), [record(K1)]), 'master_key_mismatch');
  });
});
