import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { type FakeProvider, json, rawRequest, relayHeaders, startFakeProvider } from './helpers.ts';

const ACCESS_TOKEN = 'at-custom-relay-0123456789';

/**
 * The Pipes extension `custom_provider.api_base_url` with the real token service behind the relay: calls go under
 * that base URL (not to the token endpoint's origin), and no other origin can be reached.
 */
describe('relay to a custom provider with api_base_url', () => {
  let pipes: TestPipes;
  /** The provider's OAuth server (authorization and token endpoints). */
  let oauthServer: FakeProvider;
  /** The provider's API, on another origin. */
  let apiServer: FakeProvider;
  before(async () => {
    oauthServer = await startFakeProvider((_req, res) => json(res, 200, { host: 'oauth' }));
    apiServer = await startFakeProvider((req, res) => json(res, 200, { host: 'api', url: req.url }));
    pipes = await startTestPipes();
  });
  after(async () => {
    await pipes.close();
    await apiServer.close();
    await oauthServer.close();
  });

  async function setUp(slug: string, apiBaseUrl: string | null) {
    const created = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: {
        provider: slug,
        enabled: true,
        credentials: { type: 'custom', client_id: 'relay-client', client_secret: 'relay-client-secret-1234' },
        custom_provider: {
          name: 'Acme API',
          authorization_url: `${oauthServer.url}/authorize`,
          token_url: `${oauthServer.url}/token`,
          ...(apiBaseUrl !== null ? { api_base_url: apiBaseUrl } : {}),
        },
      },
    });
    assert.equal(created.status, 201, created.text);
    const imported = await api(pipes, 'POST', `/user_management/users/user_1/connected_accounts/${slug}`, {
      key: pipes.sandboxKey,
      body: { access_token: ACCESS_TOKEN },
    });
    assert.equal(imported.status, 201, imported.text);
  }

  const relay = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${pipes.url}${path}`, { headers: { ...relayHeaders(pipes.sandboxKey), ...headers } });

  test('calls go under api_base_url, with the connection token', async () => {
    await setUp('acme-api', `${apiServer.url}/v2`);
    const response = await relay('/relay/acme-api/users/me?fields=id');
    assert.equal(response.status, 200, await response.clone().text());
    assert.deepEqual(await response.json(), { host: 'api', url: '/v2/users/me?fields=id' });
    const reached = apiServer.requests.at(-1);
    assert.equal(reached?.headers.authorization, `Bearer ${ACCESS_TOKEN}`);
    assert.equal(oauthServer.requests.length, 0, 'the token endpoint origin was not called');
  });

  test('another origin is refused: the token endpoint origin, and a path that climbs out of the prefix', async () => {
    const before = oauthServer.requests.length;
    const other = await relay('/relay/acme-api/users/me', { 'pipes-target-origin': oauthServer.url });
    assert.equal(other.status, 400);
    assert.equal(other.headers.get('pipes-error'), 'blocked_destination');
    assert.equal(oauthServer.requests.length, before, 'nothing reached the other origin');

    const apiCalls = apiServer.requests.length;
    // Raw, so that the encoded dot segment reaches Pipes as sent (fetch would normalise it away).
    const climbing = await rawRequest(pipes.url, {
      path: '/relay/acme-api/%2e%2e/admin',
      headers: relayHeaders(pipes.sandboxKey),
    });
    assert.equal(climbing.status, 400);
    assert.equal(climbing.headers['pipes-error'], 'invalid_relay_path');
    assert.equal(apiServer.requests.length, apiCalls);
  });

  test("naming the base URL's own origin as the target origin keeps the base path", async () => {
    const apiCalls = apiServer.requests.length;
    // Before, this reached `/admin/delete-everything` with the connection's token: the origin replaced the base.
    const header = await relay('/relay/acme-api/users/me', { 'pipes-target-origin': apiServer.url });
    assert.equal(header.status, 200, await header.clone().text());
    assert.deepEqual(await header.json(), { host: 'api', url: '/v2/users/me' });

    const minted = await api(pipes, 'POST', '/relay/tokens', {
      key: pipes.sandboxKey,
      body: { provider: 'acme-api', user_id: 'user_1', target_origin: apiServer.url },
    });
    assert.equal(minted.status, 201, minted.text);
    const viaToken = await fetch(
      `${pipes.url}/relay/t/${minted.json.token}/acme-api/admin/delete-everything`,
    );
    assert.equal(viaToken.status, 200, await viaToken.clone().text());
    assert.deepEqual(await viaToken.json(), { host: 'api', url: '/v2/admin/delete-everything' });
    assert.deepEqual(
      apiServer.requests.slice(apiCalls).map((r) => r.url),
      ['/v2/users/me', '/v2/admin/delete-everything'],
    );
  });

  test('without api_base_url the relay keeps the token endpoint origin (older definitions unchanged)', async () => {
    await setUp('acme-legacy', null);
    const response = await relay('/relay/acme-legacy/anything');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { host: 'oauth' });
    const refused = await relay('/relay/acme-legacy/anything', { 'pipes-target-origin': apiServer.url });
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get('pipes-error'), 'blocked_destination');
  });

  test('a connection reused from memory follows every change at once: new tokens, then a disconnect', async () => {
    await setUp('acme-fresh', `${apiServer.url}/v1`);
    for (let i = 0; i < 3; i++) {
      const warm = await relay('/relay/acme-fresh/me');
      assert.equal(warm.status, 200);
      await warm.arrayBuffer();
      assert.equal(apiServer.requests.at(-1)?.headers.authorization, `Bearer ${ACCESS_TOKEN}`);
    }
    const replaced = await api(pipes, 'PUT', '/user_management/users/user_1/connected_accounts/acme-fresh', {
      key: pipes.sandboxKey,
      body: { access_token: 'at-replaced-9876543210' },
    });
    assert.equal(replaced.status, 200, replaced.text);
    const afterReplace = await relay('/relay/acme-fresh/me');
    assert.equal(afterReplace.status, 200);
    await afterReplace.arrayBuffer();
    assert.equal(apiServer.requests.at(-1)?.headers.authorization, 'Bearer at-replaced-9876543210');

    const deleted = await api(
      pipes,
      'DELETE',
      '/user_management/users/user_1/connected_accounts/acme-fresh',
      {
        key: pipes.sandboxKey,
      },
    );
    assert.equal(deleted.status, 204, deleted.text);
    const calls = apiServer.requests.length;
    const afterDelete = await relay('/relay/acme-fresh/me');
    assert.equal(afterDelete.status, 404);
    assert.equal(afterDelete.headers.get('pipes-error'), 'not_installed');
    assert.equal(apiServer.requests.length, calls, 'nothing reached the provider');
  });
});
