import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ApiKeyAuthenticator,
  createApiKeyAuthenticator,
} from '../../src/api/middleware/authenticate.ts';
import { revokeApiKey } from '../../src/store/api-keys.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';

/**
 * The API-key authenticator answers a recently seen key at once (not a promise), so hot paths (the relay, token
 * vending) skip a wait; a key it has not seen is looked up in the database, and an unknown or revoked key is refused
 * either way.
 */
describe('API-key authenticator', () => {
  let pipes: TestPipes;
  let authenticate: ApiKeyAuthenticator;

  before(async () => {
    pipes = await startTestPipes();
    authenticate = createApiKeyAuthenticator(pipes.server.ctx);
  });
  after(() => pipes.close());

  test('the first lookup is waited for; the next ones are answered at once', async () => {
    const header = `Bearer ${pipes.sandboxKey}`;
    const first = authenticate(header);
    assert.ok(first instanceof Promise, 'a key not seen yet needs the database');
    const found = await first;
    assert.equal(found?.environment.kind, 'sandbox');
    const again = authenticate(header);
    assert.ok(!(again instanceof Promise), 'a key just seen is answered from memory');
    assert.equal(again?.keyId, found?.keyId);
  });

  test('malformed and unknown keys are refused', async () => {
    assert.equal(authenticate(undefined), null);
    assert.equal(authenticate('Basic abc'), null);
    assert.equal(await authenticate('Bearer sk_test_not_a_real_key'), null);
  });

  test('a cached key is found in any spelling of Bearer, and only as the whole value', async () => {
    const key = pipes.sandboxKey;
    assert.ok(await authenticate(`Bearer ${key}`), 'now in the cache');
    // Other spellings take the regular expression, then the same cache.
    assert.ok(authenticate(`bearer ${key}`));
    assert.ok(authenticate(`Bearer \t ${key}`));
    // The fast path must not accept a cached key followed or preceded by anything.
    assert.equal(await authenticate(`Bearer ${key} `), null);
    assert.equal(await authenticate(`Bearer ${key} extra`), null);
    assert.equal(await authenticate(`Bearer  ${key}x`), null);
    assert.equal(await authenticate(`Bearer x${key}`), null);
  });

  test('a key revoked through this instance is refused on the next call', async () => {
    const header = `Bearer ${pipes.productionKey}`;
    const found = await authenticate(header);
    assert.ok(found);
    await revokeApiKey(
      pipes.server.ctx.store.db,
      found.environment.id,
      found.keyId,
      pipes.server.ctx.clock.now(),
    );
    pipes.server.ctx.apiKeyCache.forget(found.keyId);
    assert.equal(await authenticate(header), null);
  });
});
