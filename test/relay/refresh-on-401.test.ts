import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { createFakeIntegration, importGrant } from '../tokens/setup.ts';
import { relayHeaders } from './helpers.ts';

/**
 * A provider 401 through the real token service: the relay's forced refresh goes through the single-flight refresh
 * to a real token endpoint with rotating refresh tokens, and a token Pipes has just obtained is not refreshed again
 * because of a 401 (a provider that keeps answering 401 would otherwise cost a refresh per call).
 */
describe('relay 401 with the real token service', () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  const clock = new ManualClock(Date.now());

  before(async () => {
    provider = await new FakeProvider({ rotation: 'rotate', accessTokenTtlSeconds: 3600 }).start();
    pipes = await startTestPipes({ clock });
    await createFakeIntegration(pipes, pipes.sandboxKey, provider, 'acme', ['read'], {
      api_base_url: `${provider.url}/api`,
    });
    await importGrant(pipes, pipes.sandboxKey, provider, { expiresAt: new Date(clock.now() + 3_600_000) });
  });
  after(async () => {
    await pipes.close();
    await provider.stop();
  });

  const me = (method = 'GET') =>
    fetch(`${pipes.url}/relay/acme/me`, { method, headers: relayHeaders(pipes.sandboxKey) });

  test('a refused token is refreshed once and the call retried; a token just obtained is not refreshed again until it has aged', async () => {
    const working = await me();
    assert.equal(working.status, 200, await working.clone().text());
    assert.deepEqual(await working.json(), { id: 'u1', login: 'ada' });
    assert.equal(provider.refreshCount(), 0);

    // The provider revokes the access token (imported, never refreshed by Pipes): one refresh, one retry.
    provider.accessTokens.clear();
    const recovered = await me();
    assert.equal(recovered.status, 200, await recovered.clone().text());
    assert.deepEqual(await recovered.json(), { id: 'u1', login: 'ada' });
    assert.equal(provider.refreshCount(), 1);

    // The provider now refuses the brand-new token too: a 401 that is not about the token's age. It passes
    // through, and neither a GET nor a POST sends Pipes to the token endpoint again.
    provider.accessTokens.clear();
    for (const method of ['GET', 'POST', 'GET']) {
      const refused = await me(method);
      assert.equal(refused.status, 401, method);
      assert.equal(refused.headers.get('pipes-upstream'), 'true');
      assert.equal(refused.headers.get('pipes-credential-refreshed'), null);
      assert.deepEqual(await refused.json(), { error: 'invalid_token' });
    }
    assert.equal(provider.refreshCount(), 1, 'no refresh for a token obtained moments ago');

    // Once the token is 30 s old, a 401 refreshes it again, with the rotated refresh token.
    clock.advance(30_000);
    const later = await me();
    assert.equal(later.status, 200, await later.clone().text());
    assert.equal(provider.refreshCount(), 2);
    const [first, second] = provider.tokenRequests.filter((r) => r.grantType === 'refresh_token');
    assert.notEqual(second?.refreshToken, first?.refreshToken, 'the rotated refresh token was used');
  });

  test('a connection disconnected while its call was with the provider answers not_installed', async () => {
    await importGrant(pipes, pipes.sandboxKey, provider, {
      userId: 'user_gone',
      expiresAt: new Date(clock.now() + 3_600_000),
    });
    clock.advance(30_000);
    // The provider is slow to answer; meanwhile the application disconnects the account, and the answer is a 401.
    provider.beforeApiAnswer = async () => {
      provider.beforeApiAnswer = undefined;
      const deleted = await api(pipes, 'DELETE', '/user_management/users/user_gone/connected_accounts/acme', {
        key: pipes.sandboxKey,
      });
      assert.equal(deleted.status, 204, deleted.text);
      provider.accessTokens.clear();
    };
    const refreshesBefore = provider.refreshCount();
    const gone = await fetch(`${pipes.url}/relay/acme/me`, {
      headers: { ...relayHeaders(pipes.sandboxKey), 'pipes-user-id': 'user_gone' },
    });
    assert.equal(gone.status, 404, await gone.clone().text());
    assert.equal(gone.headers.get('pipes-error'), 'not_installed');
    assert.equal(provider.refreshCount(), refreshesBefore, 'no refresh for a connection that is gone');
  });

  test('a 401 whose refresh finds the grant revoked answers 424 needs_reauthorization at once', async () => {
    // The user revokes the app at the provider: its refresh tokens and access tokens stop working.
    for (const token of provider.issuedRefreshTokens()) {
      await fetch(`${provider.url}/revoke`, { method: 'POST', body: new URLSearchParams({ token }) });
    }
    provider.accessTokens.clear();
    clock.advance(30_000);
    const refreshesBefore = provider.refreshCount();

    const refused = await me();
    assert.equal(refused.status, 424, await refused.clone().text());
    assert.equal(refused.headers.get('pipes-error'), 'needs_reauthorization');
    assert.equal(refused.headers.get('pipes-upstream'), null);
    const body = (await refused.json()) as { error: { source: string; code: string } };
    assert.equal(body.error.source, 'pipes');
    assert.equal(provider.refreshCount(), refreshesBefore + 1, 'one refresh attempt');

    // The connection is marked, and the next call is answered by Pipes without another refresh.
    const account = await api(pipes, 'GET', '/user_management/users/user_1/connected_accounts/acme', {
      key: pipes.sandboxKey,
    });
    assert.equal(account.status, 200, account.text);
    assert.equal((account.json as { state: string }).state, 'needs_reauthorization');
    const next = await me();
    assert.equal(next.status, 424);
    assert.equal(next.headers.get('pipes-error'), 'needs_reauthorization');
    assert.equal(provider.refreshCount(), refreshesBefore + 1);
  });
});
