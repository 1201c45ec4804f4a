import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callApi, connect, type SandboxHarness, START_TIME, startSandbox } from './helpers.ts';

const postItem = (h: SandboxHarness, token: string, body: string, contentType = 'application/json') =>
  callApi(h, '/items', token, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('sandbox: resource API', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox();
  });
  after(async () => {
    await h.close();
  });

  test('GET /api/user needs the profile scope', async () => {
    const withProfile = await connect(h, { scope: 'profile', account: 'alan' });
    const user = await callApi(h, '/user', withProfile.access_token);
    assert.equal(user.status, 200);
    assert.deepEqual(await user.json(), {
      id: '1003',
      login: 'alan',
      name: 'Alan Turing',
      email: 'alan@sandbox.example',
    });

    const itemsOnly = await connect(h, { scope: 'items:read' });
    const denied = await callApi(h, '/user', itemsOnly.access_token);
    assert.equal(denied.status, 403);
    assert.equal(
      denied.headers.get('www-authenticate'),
      'Bearer realm="sandbox", error="insufficient_scope", scope="profile"',
    );
    assert.equal(((await denied.json()) as { error: string }).error, 'insufficient_scope');
  });

  test('items: seeded list, create with items:write, lists are per account', async () => {
    const writer = await connect(h, { scope: 'items:read items:write', account: 'grace' });
    const initial = (await (await callApi(h, '/items', writer.access_token)).json()) as {
      data: { id: string }[];
    };
    assert.equal(initial.data.length, 2);

    const created = await postItem(h, writer.access_token, JSON.stringify({ title: '  Buy milk  ' }));
    assert.equal(created.status, 201);
    const item = (await created.json()) as { id: string; title: string; created_at: string };
    assert.equal(item.title, 'Buy milk');
    assert.match(item.id, /^item_[0-9a-f]{32}$/);
    assert.equal(item.created_at, new Date(h.clock.now()).toISOString());

    const after = (await (await callApi(h, '/items', writer.access_token)).json()) as {
      data: { id: string }[];
    };
    assert.deepEqual(
      after.data.map((entry) => entry.id),
      [...initial.data.map((entry) => entry.id), item.id],
    );

    const someoneElse = await connect(h, { scope: 'items:read', account: 'ada' });
    const theirs = (await (await callApi(h, '/items', someoneElse.access_token)).json()) as {
      data: { id: string }[];
    };
    assert.ok(!theirs.data.some((entry) => entry.id === item.id));
  });

  test('POST /api/items needs items:write and a valid body', async () => {
    const reader = await connect(h, { scope: 'items:read' });
    const denied = await postItem(h, reader.access_token, JSON.stringify({ title: 'x' }));
    assert.equal(denied.status, 403);
    assert.match(denied.headers.get('www-authenticate') ?? '', /scope="items:write"/);

    const writer = await connect(h, { scope: 'items:write' });
    for (const body of [
      '{"title":""}',
      '{"title":42}',
      '{}',
      'not json',
      JSON.stringify({ title: 'x'.repeat(201) }),
    ]) {
      assert.equal((await postItem(h, writer.access_token, body)).status, 400, body);
    }
    // items:write alone does not allow reading.
    assert.equal((await callApi(h, '/items', writer.access_token)).status, 403);
  });

  test('no token, a garbage token, a non-Bearer scheme: 401 with a Bearer challenge', async () => {
    const none = await callApi(h, '/user');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="sandbox"');

    const garbage = await callApi(h, '/user', 'sbx_at_garbage');
    assert.equal(garbage.status, 401);
    assert.match(
      garbage.headers.get('www-authenticate') ?? '',
      /^Bearer realm="sandbox", error="invalid_token"/,
    );
    assert.equal(((await garbage.json()) as { error: string }).error, 'invalid_token');

    const tokens = await connect(h);
    const basic = await fetch(`${h.issuer}/api/user`, {
      headers: { authorization: `Basic ${Buffer.from(`x:${tokens.access_token}`).toString('base64')}` },
    });
    assert.equal(basic.status, 401);
    // A token in the query string is not accepted (secrets stay out of URLs).
    const query = await fetch(`${h.issuer}/api/user?access_token=${tokens.access_token}`);
    assert.equal(query.status, 401);
  });

  test('unknown API paths are 404 after authentication', async () => {
    const tokens = await connect(h);
    const response = await callApi(h, '/nothing-here', tokens.access_token);
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('x-ratelimit-limit'), '600');
  });
});

describe('sandbox: rate limiting', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox({ settings: { rateLimitPerWindow: 3, rateLimitWindowSeconds: 60 } });
  });
  after(async () => {
    await h.close();
  });

  test('headers on every response, 429 with Retry-After past the limit, reset with the next window', async () => {
    const tokens = await connect(h);
    const windowEnd = Math.ceil((START_TIME + 60_000) / 1000);
    h.clock.advance(15_000);

    for (const remaining of [2, 1, 0]) {
      const response = await callApi(h, '/user', tokens.access_token);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-ratelimit-limit'), '3');
      assert.equal(response.headers.get('x-ratelimit-remaining'), String(remaining));
      assert.equal(response.headers.get('x-ratelimit-reset'), String(windowEnd));
    }
    const limited = await callApi(h, '/user', tokens.access_token);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '45');
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    assert.equal(limited.headers.get('x-ratelimit-reset'), String(windowEnd));
    assert.equal(((await limited.json()) as { error: string }).error, 'rate_limited');

    // Another token has its own window.
    const other = await connect(h);
    assert.equal((await callApi(h, '/user', other.access_token)).status, 200);

    h.clock.advance(45_000);
    const fresh = await callApi(h, '/user', tokens.access_token);
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers.get('x-ratelimit-remaining'), '2');
    assert.equal(fresh.headers.get('x-ratelimit-reset'), String(windowEnd + 60));
  });

  test('error responses carry the headers too', async () => {
    const response = await callApi(h, '/user', 'sbx_at_not-a-token');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('x-ratelimit-limit'), '3');
    assert.ok(response.headers.get('x-ratelimit-remaining') !== null);
    assert.ok(response.headers.get('x-ratelimit-reset') !== null);
  });

  test('the limit can be changed at run time', async () => {
    h.provider.updateSettings({ rateLimitPerWindow: 1 });
    const tokens = await connect(h);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 200);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 429);
  });
});
