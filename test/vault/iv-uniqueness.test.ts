import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Vault } from '../../src/vault/index.ts';
import { binding, keyWithId, ringOf } from './helpers.ts';

it('V6: 100 000 seals of the same plaintext use distinct IVs and produce distinct ciphertexts', () => {
  const vault = new Vault(ringOf(keyWithId('k1')));
  const plaintext = 'same-secret-every-time';
  const dataOffset = 66 + 2; // key id "k1"
  const dataIvs = new Set<string>();
  const dekIvs = new Set<string>();
  const ciphertexts = new Set<string>();
  const count = 100_000;
  for (let i = 0; i < count; i++) {
    const blob = vault.seal(plaintext, binding);
    dekIvs.add(blob.toString('latin1', 8, 20));
    dataIvs.add(blob.toString('latin1', dataOffset, dataOffset + 12));
    ciphertexts.add(blob.toString('latin1', dataOffset + 28));
  }
  assert.equal(dataIvs.size, count);
  assert.equal(dekIvs.size, count);
  assert.equal(ciphertexts.size, count);
});
