import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRelayFetch } from '../../src/relay/client.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { Browser } from '../oauth/browser.ts';
import { confirm, deliver, RETURN_TO, returnedTo, sandboxConsent, sdkFor } from '../oauth/flow-helpers.ts';

/**
 * The relay with a real connection: a user connects the built-in sandbox provider through the connect flow, then
 * the app calls the sandbox API through Pipes — with a plain HTTP client, with the fetch helper, and with a relay
 * token — without ever holding the token.
 */
describe('relay end to end with a sandbox connection', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startPublicTestPipes();
    const workos = sdkFor(pipes, pipes.sandboxKey);
    await workos.pipes.createDataIntegration({
      provider: 'sandbox',
      enabled: true,
      credentials: { type: 'shared' } as never,
    });
    const { url } = await workos.pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId: 'user_relay',
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const callback = await sandboxConsent(browser, await confirm(browser, url), { account: 'ada' });
    assert.equal(returnedTo(await deliver(browser, callback)).searchParams.get('status'), 'connected');
  });
  after(() => pipes.close());

  test('a plain HTTP client calls the provider API through the relay with the selection headers', async () => {
    const res = await api(pipes, 'GET', '/relay/sandbox/user', {
      key: pipes.sandboxKey,
      headers: { 'pipes-user-id': 'user_relay' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.login, 'ada');
    assert.ok(res.headers.get('x-ratelimit-limit'), "the provider's rate-limit headers pass through");

    const created = await api(pipes, 'POST', '/relay/sandbox/items', {
      key: pipes.sandboxKey,
      headers: { 'pipes-user-id': 'user_relay' },
      body: { name: 'from the relay' },
    });
    assert.ok(created.status === 201 || created.status === 403, created.text);
  });

  test('the fetch helper and a relay token reach the same account; unknown users are not_installed', async () => {
    const relayFetch = createRelayFetch({
      baseUrl: pipes.url,
      apiKey: pipes.sandboxKey,
      provider: 'sandbox',
      userId: 'user_relay',
    });
    const viaHelper = await relayFetch('/user');
    assert.equal(viaHelper.status, 200);
    assert.equal(((await viaHelper.json()) as { login: string }).login, 'ada');

    const minted = await api(pipes, 'POST', '/relay/tokens', {
      key: pipes.sandboxKey,
      body: { provider: 'sandbox', user_id: 'user_relay', ttl_seconds: 60 },
    });
    assert.equal(minted.status, 201, minted.text);
    const viaToken = await fetch(`${minted.json.base_url}/user`);
    assert.equal(viaToken.status, 200);
    assert.equal(((await viaToken.json()) as { login: string }).login, 'ada');

    const nobody = await api(pipes, 'GET', '/relay/sandbox/user', {
      key: pipes.sandboxKey,
      headers: { 'pipes-user-id': 'someone_else' },
    });
    assert.equal(nobody.status, 404);
    assert.equal(nobody.headers.get('pipes-error'), 'not_installed');
    // Another environment's key sees nothing of this connection.
    const otherEnv = await api(pipes, 'GET', '/relay/sandbox/user', {
      key: pipes.productionKey,
      headers: { 'pipes-user-id': 'user_relay' },
    });
    assert.equal(otherEnv.status, 404);
  });
});
