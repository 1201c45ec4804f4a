import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRelayFetch } from '../../src/relay/client.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import {
  bodyOf,
  type FakeProvider,
  json,
  MemoryRelayDeps,
  startFakeProvider,
  testProvider,
} from './helpers.ts';

describe('relay routing and credential injection', () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  let other: FakeProvider;
  const deps = new MemoryRelayDeps();
  let sandboxId = '';

  before(async () => {
    provider = await startFakeProvider((req, res, recorded) => {
      json(res, 200, {
        method: req.method,
        url: req.url,
        body: recorded.body.toString('utf8'),
      });
    });
    other = await startFakeProvider((_req, res) =>
      json(res, 200, { host: 'other' }, { link: `<${other.url}/upload?page=2>; rel="next"` }),
    );
    pipes = await startTestPipes({ startOptions: { relayDeps: deps } });
    deps.bind(pipes.server.ctx);
    sandboxId = (await requireEnvironment(pipes.server.ctx.store.db, 'sandbox')).id;
    const add = (slug: string, api: Parameters<typeof testProvider>[2], secret: string, extra = {}) =>
      deps.add({
        environmentId: sandboxId,
        slug,
        userId: 'user_1',
        accountId: `acct_${slug}`,
        provider: testProvider(slug, `${provider.url}/v1`, api, extra),
        credential: { authMethod: 'oauth', value: secret },
      });
    add('bearer-api', {}, 'tok-bearer-0123456789');
    add(
      'header-api',
      { auth_style: 'header', auth_header: 'X-Token', auth_format: 'Token {access_token}' },
      'tok-header-0123456789',
    );
    add('basic-api', { auth_style: 'basic', auth_format: '{access_token}:' }, 'tok-basic-0123456789');
    add('query-api', { auth_style: 'query', auth_query_param: 'access_token' }, 'tok-query-0123456789');
    add(
      'extra-api',
      { extra_headers: { Accept: 'application/vnd.test+json', 'X-Api-Version': '7' } },
      'tok-extra-0123456789',
    );
    add('origins-api', { allowed_origins: [other.url] }, 'tok-origins-0123456789');
    deps.add({
      environmentId: sandboxId,
      slug: 'key-api',
      userId: 'user_1',
      accountId: 'acct_key',
      provider: testProvider('key-api', `${provider.url}/v1`),
      credential: { authMethod: 'api_key', value: 'apikey-0123456789' },
    });
  });
  after(async () => {
    await pipes.close();
    await provider.close();
    await other.close();
  });

  const relay = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(`${pipes.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${pipes.sandboxKey}`, 'pipes-user-id': 'user_1', ...init.headers },
    });

  test('a GET reaches the provider under its base path, with method and query kept and a bearer token attached', async () => {
    const response = await relay('/relay/bearer-api/repos/a%20b/issues?state=open&labels=x%2Cy');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('pipes-upstream'), 'true');
    assert.match(response.headers.get('pipes-request-id') ?? '', /^req_/);
    const body = await bodyOf(response);
    assert.equal(body.url, '/v1/repos/a%20b/issues?state=open&labels=x%2Cy');
    assert.equal(provider.requests.at(-1)?.headers.authorization, 'Bearer tok-bearer-0123456789');
  });

  test('a POST body reaches the provider intact', async () => {
    const response = await relay('/relay/bearer-api/items', {
      method: 'POST',
      body: JSON.stringify({ title: 'hello' }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(response.status, 200);
    const body = await bodyOf(response);
    assert.equal(body.method, 'POST');
    assert.equal(body.body, '{"title":"hello"}');
  });

  test('header, basic, query and API-key styles each attach the credential their way', async () => {
    await relay('/relay/header-api/x');
    assert.equal(provider.requests.at(-1)?.headers['x-token'], 'Token tok-header-0123456789');
    assert.equal(provider.requests.at(-1)?.headers.authorization, undefined);

    await relay('/relay/basic-api/x');
    assert.equal(
      provider.requests.at(-1)?.headers.authorization,
      `Basic ${Buffer.from('tok-basic-0123456789:').toString('base64')}`,
    );

    // The caller's own access_token parameter is replaced, not duplicated.
    await relay('/relay/query-api/x?a=1&access_token=mine&b=%2F');
    assert.equal(provider.requests.at(-1)?.url, '/v1/x?a=1&b=%2F&access_token=tok-query-0123456789');

    await relay('/relay/key-api/x', { headers: { 'x-api-key': 'caller-chosen' } });
    assert.equal(provider.requests.at(-1)?.headers['x-api-key'], 'Key apikey-0123456789');
  });

  test('extra_headers are added and the caller may override a non-credential one', async () => {
    await relay('/relay/extra-api/x');
    assert.equal(provider.requests.at(-1)?.headers.accept, 'application/vnd.test+json');
    assert.equal(provider.requests.at(-1)?.headers['x-api-version'], '7');
    await relay('/relay/extra-api/x', { headers: { accept: 'text/plain' } });
    assert.equal(provider.requests.at(-1)?.headers.accept, 'text/plain');
  });

  test('Pipes-Target-Origin reaches an allow-listed origin, and only those', async () => {
    const allowed = await relay('/relay/origins-api/upload', {
      headers: { 'pipes-target-origin': other.url },
    });
    assert.equal(allowed.status, 200);
    assert.deepEqual(await bodyOf(allowed), { host: 'other' });
    // A plain relay URL would lead to the provider's main origin, so an API-key call's links to the other origin
    // stay as sent; a relay token carries its target origin, so its links lead back through the relay.
    assert.equal(allowed.headers.get('link'), `<${other.url}/upload?page=2>; rel="next"`);
    const minted = await fetch(`${pipes.url}/relay/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pipes.sandboxKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'origins-api', user_id: 'user_1', target_origin: other.url }),
    });
    assert.equal(minted.status, 201);
    const { token } = await bodyOf(minted);
    const viaToken = await fetch(`${pipes.url}/relay/t/${token}/origins-api/upload`);
    assert.deepEqual(await bodyOf(viaToken), { host: 'other' });
    assert.equal(
      viaToken.headers.get('link'),
      `<${pipes.config.publicUrl}/relay/t/${token}/origins-api/upload?page=2>; rel="next"`,
    );
    const before = other.requests.length;
    const refused = await relay('/relay/bearer-api/upload', {
      headers: { 'pipes-target-origin': other.url },
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get('pipes-error'), 'blocked_destination');
    assert.equal(other.requests.length, before);
  });

  test('Pipes errors have one shape and are told apart from provider responses', async () => {
    const noKey = await fetch(`${pipes.url}/relay/bearer-api/x`, { headers: { 'pipes-user-id': 'user_1' } });
    assert.equal(noKey.status, 401);
    assert.equal(noKey.headers.get('pipes-error'), 'unauthorized');
    assert.equal(noKey.headers.get('pipes-upstream'), null);
    const body = await bodyOf(noKey);
    assert.equal(body.error.source, 'pipes');
    assert.equal(body.error.code, 'unauthorized');
    assert.equal(typeof body.error.message, 'string');

    const noSelection = await fetch(`${pipes.url}/relay/bearer-api/x`, {
      headers: { authorization: `Bearer ${pipes.sandboxKey}` },
    });
    assert.equal(noSelection.status, 400);
    assert.equal((await bodyOf(noSelection)).error.code, 'invalid_selection');

    const unknown = await relay('/relay/bearer-api/x', { headers: { 'pipes-user-id': 'user_nobody' } });
    assert.equal(unknown.status, 404);
    assert.equal((await bodyOf(unknown)).error.code, 'not_installed');

    const badOwner = await relay('/relay/bearer-api/x', { headers: { 'pipes-connection-owner': 'team' } });
    assert.equal(badOwner.status, 400);

    const noRoute = await relay('/relay/');
    assert.equal(noRoute.status, 404);
    assert.equal((await bodyOf(noRoute)).error.code, 'route_not_found');

    const badSlug = await relay('/relay/Bad_Slug/x');
    assert.equal(badSlug.status, 400);
    assert.equal(badSlug.headers.get('pipes-error'), 'invalid_relay_path');
  });

  test("a selection must name the connection's owner, and the error says how, in both forms", async () => {
    const before = provider.requests.length;
    const key = { authorization: `Bearer ${pipes.sandboxKey}` };
    // A connection id alone, or an organization alone, does not say whose connection it is.
    for (const selection of [
      { 'pipes-connected-account-id': 'acct_bearer-api' },
      { 'pipes-organization-id': 'org_1' },
    ]) {
      const response = await fetch(`${pipes.url}/relay/bearer-api/x`, { headers: { ...key, ...selection } });
      assert.equal(response.status, 400);
      const { error } = await bodyOf(response);
      assert.equal(error.code, 'invalid_selection');
      assert.match(error.message, /Pipes-User-Id \(user_id when minting a relay token\)/);
    }
    const orgWithoutId = await fetch(`${pipes.url}/relay/bearer-api/x`, {
      headers: { ...key, 'pipes-connection-owner': 'organization', 'pipes-user-id': 'user_1' },
    });
    assert.equal(orgWithoutId.status, 400);
    assert.match((await bodyOf(orgWithoutId)).error.message, /needs Pipes-Organization-Id/);
    // Minting checks the same rule before it looks anything up.
    const minted = await fetch(`${pipes.url}/relay/tokens`, {
      method: 'POST',
      headers: { ...key, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'bearer-api', connected_account_id: 'acct_bearer-api' }),
    });
    assert.equal(minted.status, 400);
    assert.equal((await bodyOf(minted)).error.code, 'invalid_selection');
    // With the user, the same connection id is found.
    const found = await relay('/relay/bearer-api/x', {
      headers: { 'pipes-connected-account-id': 'acct_bearer-api' },
    });
    assert.equal(found.status, 200);
    assert.equal(provider.requests.length, before + 1, 'only the complete selection reached the provider');
  });

  test('the rest of the API still answers next to the relay', async () => {
    const health = await fetch(`${pipes.url}/health`);
    assert.equal(health.status, 200);
    const keys = await fetch(`${pipes.url}/pipes/api-keys`, {
      headers: { authorization: `Bearer ${pipes.sandboxKey}` },
    });
    assert.equal(keys.status, 200);
  });

  test('a relay token gives an SDK a base URL that needs no API key', async () => {
    const minted = await fetch(`${pipes.url}/relay/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pipes.sandboxKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'bearer-api', user_id: 'user_1', ttl_seconds: 60 }),
    });
    assert.equal(minted.status, 201);
    const { token, base_url, expires_at } = await bodyOf(minted);
    assert.match(token, /^prt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.equal(base_url, `${pipes.config.publicUrl}/relay/t/${token}/bearer-api`);
    assert.ok(Date.parse(expires_at) > Date.now());
    // The token does not reveal the user id it carries.
    assert.ok(!Buffer.from(token.split('.')[1], 'base64url').toString('latin1').includes('user_1'));

    const localBase = `${pipes.url}/relay/t/${token}/bearer-api`;
    const response = await fetch(`${localBase}/user?x=1`, {
      headers: { authorization: 'token whatever-the-sdk-sends' },
    });
    assert.equal(response.status, 200);
    const body = await bodyOf(response);
    assert.equal(body.url, '/v1/user?x=1');
    assert.equal(provider.requests.at(-1)?.headers.authorization, 'Bearer tok-bearer-0123456789');

    // Tampered, wrong provider, garbage: one 401.
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    for (const path of [
      `/relay/t/${token.slice(0, -1)}${last}/bearer-api/user`,
      `/relay/t/${token}/header-api/user`,
      '/relay/t/prt_nope.AAAA/bearer-api/user',
    ]) {
      const refused = await fetch(`${pipes.url}${path}`);
      assert.equal(refused.status, 401, path);
      assert.equal(refused.headers.get('pipes-error'), 'invalid_relay_token');
    }
  });

  test('relay tokens expire, die with their API key, and are minted only for existing connections', async () => {
    const created = await fetch(`${pipes.url}/pipes/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pipes.sandboxKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'short-lived' }),
    });
    const key = await bodyOf(created);
    const mint = (body: unknown, apiKey = key.key as string) =>
      fetch(`${pipes.url}/relay/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const tooLong = await mint({ provider: 'bearer-api', user_id: 'user_1', ttl_seconds: 3601 });
    assert.equal(tooLong.status, 422);
    const missing = await mint({ provider: 'bearer-api', user_id: 'user_nobody' });
    assert.equal(missing.status, 404);
    assert.equal((await bodyOf(missing)).error.code, 'not_installed');

    const { token } = await bodyOf(await mint({ provider: 'bearer-api', user_id: 'user_1' }));
    assert.equal((await fetch(`${pipes.url}/relay/t/${token}/bearer-api/x`)).status, 200);
    const revoked = await fetch(`${pipes.url}/pipes/api-keys/${key.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${pipes.sandboxKey}` },
    });
    assert.equal(revoked.status, 204);
    assert.equal((await fetch(`${pipes.url}/relay/t/${token}/bearer-api/x`)).status, 401);

    const expired = await mint(
      { provider: 'bearer-api', user_id: 'user_1', ttl_seconds: 1 },
      pipes.sandboxKey,
    );
    const expiredToken = (await bodyOf(expired)).token;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await fetch(`${pipes.url}/relay/t/${expiredToken}/bearer-api/x`)).status, 401);
  });

  test('createRelayFetch points a fetch-based SDK at the relay', async () => {
    const relayFetch = createRelayFetch({
      baseUrl: pipes.url,
      apiKey: pipes.sandboxKey,
      provider: 'bearer-api',
      userId: 'user_1',
      upstreamBaseUrl: 'https://api.example.com/v1',
    });
    const response = await relayFetch('https://api.example.com/v1/repos?page=2', {
      headers: { authorization: 'token sdk-default' },
    });
    assert.equal(response.status, 200);
    const body = await bodyOf(response);
    assert.equal(body.url, '/v1/repos?page=2');
    assert.equal(provider.requests.at(-1)?.headers.authorization, 'Bearer tok-bearer-0123456789');
    const posted = await relayFetch(
      new Request('https://api.example.com/v1/items', { method: 'POST', body: 'abc' }),
    );
    assert.equal((await bodyOf(posted)).body, 'abc');
  });
});
