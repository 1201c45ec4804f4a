import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { generateMasterKey, MasterKeyRing, parseMasterKey, randomToken } from '../../src/vault/index.ts';
import { assertPipesError } from './helpers.ts';

describe('parseMasterKey', () => {
  it('derives a stable id for a bare key, different per key', () => {
    const value = generateMasterKey();
    const a = parseMasterKey(value);
    const b = parseMasterKey(`  ${value}\n`);
    assert.match(a.id, /^k[0-9a-f]{8}$/);
    assert.equal(a.id, b.id);
    assert.ok(a.key.equals(b.key));
    assert.notEqual(parseMasterKey(generateMasterKey()).id, a.id);
    assert.equal(a.key.symmetricKeySize, 32);
  });

  it('takes an explicit id before a colon', () => {
    const value = generateMasterKey();
    const key = parseMasterKey(`prod-2025_01:${value}`);
    assert.equal(key.id, 'prod-2025_01');
    assert.ok(key.key.equals(parseMasterKey(value).key));
  });

  it('accepts the URL-safe alphabet and a missing padding', () => {
    const raw = randomBytes(32);
    assert.ok(
      parseMasterKey(raw.toString('base64url')).key.equals(parseMasterKey(raw.toString('base64')).key),
    );
  });

  it('rejects wrong lengths, bad base64 and bad ids without echoing key material', () => {
    const cases = [
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      randomBytes(16).toString('base64'),
      randomBytes(64).toString('hex'),
      `${randomBytes(24).toString('base64')}!!!!`,
      '',
      '   ',
      `k1:${randomBytes(31).toString('base64')}`,
      `bad id:${generateMasterKey()}`,
      `${'x'.repeat(33)}:${generateMasterKey()}`,
      `:${generateMasterKey()}`,
    ];
    for (const value of cases) {
      const error = assertPipesError(() => parseMasterKey(value, 'PIPES_MASTER_KEY'), 'invalid_master_key');
      assert.match(error.message, /PIPES_MASTER_KEY/);
      assert.match(
        error.message,
        /32 random bytes, base64-encoded; generate one with: openssl rand -base64 32/,
      );
      const material = value.includes(':') ? value.slice(value.indexOf(':') + 1) : value.trim();
      if (material.length > 0) assert.equal(error.message.includes(material), false, error.message);
      assert.equal(error.message.includes(material.slice(0, 12) || '\0'), false, error.message);
    }
  });

  it('names the variable it was given', () => {
    const error = assertPipesError(() => parseMasterKey('short', 'PIPES_MASTER_KEYS'), 'invalid_master_key');
    assert.match(error.message, /^PIPES_MASTER_KEYS /);
  });
});

describe('MasterKeyRing', () => {
  it('knows its active and older keys', () => {
    const active = parseMasterKey(`k2:${generateMasterKey()}`);
    const older = parseMasterKey(`k1:${generateMasterKey()}`);
    const ring = new MasterKeyRing(active, [older]);
    assert.equal(ring.activeId, 'k2');
    assert.deepEqual(ring.ids, ['k2', 'k1']);
    assert.ok(ring.has('k1'));
    assert.equal(ring.has('k3'), false);
    assert.ok(ring.keyFor('k1')?.equals(older.key));
    assert.equal(ring.keyFor('k3'), undefined);
  });

  it('rejects two different keys with the same id, tolerates an exact duplicate', () => {
    const value = `k1:${generateMasterKey()}`;
    assertPipesError(
      () => new MasterKeyRing(parseMasterKey(value), [parseMasterKey(`k1:${generateMasterKey()}`)]),
      'invalid_master_key',
    );
    assert.deepEqual(new MasterKeyRing(parseMasterKey(value), [parseMasterKey(value)]).ids, ['k1']);
  });

  it('never prints key material when logged or serialized', () => {
    const raw = randomBytes(32);
    const ring = new MasterKeyRing(parseMasterKey(`k1:${raw.toString('base64')}`));
    for (const text of [inspect(ring, { showHidden: true, depth: 10 }), JSON.stringify(ring), String(ring)]) {
      for (const encoding of ['base64', 'hex', 'base64url', 'latin1'] as const) {
        assert.equal(text.includes(raw.toString(encoding)), false, text);
      }
    }
    assert.match(inspect(ring), /k1/);
  });
});

describe('generate', () => {
  it('generates master keys parseMasterKey accepts', () => {
    const value = generateMasterKey();
    assert.equal(Buffer.from(value, 'base64').length, 32);
    assert.notEqual(generateMasterKey(), value);
    assert.equal(parseMasterKey(value).key.symmetricKeySize, 32);
  });

  it('generates base64url random tokens of the requested size', () => {
    const token = randomToken(24);
    assert.match(token, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(Buffer.from(token, 'base64url').length, 24);
    assert.equal(Buffer.from(randomToken(), 'base64url').length, 32);
    assert.notEqual(randomToken(), randomToken());
    assert.throws(() => randomToken(0), RangeError);
    assert.throws(() => randomToken(1.5), RangeError);
  });
});
