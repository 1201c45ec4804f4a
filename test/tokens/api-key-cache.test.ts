import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createApiKeyCache } from '../../src/api/api-key-cache.ts';
import type { AuthenticatedKey } from '../../src/store/api-keys.ts';
import { createTestDatabase, testEngine } from '../helpers/database.ts';
import { api, startTestPipes } from '../helpers/pipes.ts';
import { eventually } from './harness.ts';

/** Row T7: the per-instance API-key cache that keeps the token hot path off the database, and its revocation bound. */
describe(`API-key lookups cached per instance (${testEngine()})`, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  test('the bound: an entry is reused for ttlMs after the lookup, never after; forget() drops it at once', () => {
    let now = 1_000;
    const cache = createApiKeyCache({ ttlMs: 1_000, now: () => now });
    const found = { keyId: 'key_1', environment: { id: 'environment_1' } } as AuthenticatedKey;
    cache.set('sk_test_a', found);
    now += 999;
    assert.equal(cache.get('sk_test_a'), found);
    now += 1;
    assert.equal(cache.get('sk_test_a'), undefined, 'expired at the bound');
    cache.set('sk_test_a', found);
    cache.set('sk_test_b', found);
    cache.forget('key_1');
    assert.equal(cache.get('sk_test_a'), undefined);
    assert.equal(cache.get('sk_test_b'), undefined, 'every entry of that key id');
    assert.equal(createApiKeyCache({ ttlMs: 0 }).get('sk_test_a'), undefined);
  });

  test('T7: a key revoked on one instance is refused there at once, and on another within the bound', async () => {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const env = { PIPES_MASTER_KEY: Buffer.alloc(32, 12).toString('base64') };
    const a = await startTestPipes({ db, env });
    cleanup.push(() => a.close());
    const b = await startTestPipes({ db, env });
    cleanup.push(() => b.close());
    const created = await api(a, 'POST', '/pipes/api-keys', {
      key: a.sandboxKey,
      body: { name: 'short-lived' },
    });
    assert.equal(created.status, 201, created.text);
    const key = created.json.key as string;
    const list = (pipes: { url: string }) => api(pipes, 'GET', '/pipes/api-keys', { key });
    assert.equal((await list(a)).status, 200);
    assert.equal((await list(b)).status, 200, 'now cached on B');

    const revoked = await api(a, 'DELETE', `/pipes/api-keys/${created.json.id}`, { key: a.sandboxKey });
    assert.equal(revoked.status, 204);
    const onA = await list(a);
    assert.equal(onA.status, 401, 'refused at once where it was revoked');
    // B learns it from the database once its cached lookup expires (1 s): polled, never more than a few seconds.
    await eventually(async () => (await list(b)).status === 401, 'B to refuse the revoked key', 1000);
    const onB = await list(b);
    assert.deepEqual(onB.json, onA.json, 'the same 401 body as any other bad key');
  });
});
