import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { INVALID_API_KEY_MESSAGE } from '../../src/api/middleware/authenticate.ts';
import { generateApiKey } from '../../src/lib/api-key-format.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';

async function countKeys(pipes: TestPipes): Promise<number> {
  const row = await pipes.server.ctx.store.db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('WorkOS API conventions', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startTestPipes({ env: { PIPES_MAX_BODY_BYTES: '2048' } });
  });
  after(() => pipes.close());

  test('health and readiness answer without a key', async () => {
    assert.deepEqual((await api(pipes, 'GET', '/health')).json, { status: 'ok' });
    const ready = await api(pipes, 'GET', '/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
  });

  test('X-Request-ID is echoed when sane and generated otherwise, on errors too', async () => {
    const echoed = await api(pipes, 'GET', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      headers: { 'x-request-id': 'my-trace-123' },
    });
    assert.equal(echoed.headers.get('x-request-id'), 'my-trace-123');
    const generated = await api(pipes, 'GET', '/nope');
    assert.match(generated.headers.get('x-request-id') ?? '', /^req_[0-9A-Z]{26}$/);
    const hostile = await api(pipes, 'GET', '/health', { headers: { 'x-request-id': 'a b<script>' } });
    assert.match(hostile.headers.get('x-request-id') ?? '', /^req_/);
  });

  test('a missing, malformed, garbled, unknown or revoked key gets the same 401 JSON body (T1)', async () => {
    const unknown = generateApiKey('test');
    const garbled = `${pipes.sandboxKey.slice(0, -1)}${pipes.sandboxKey.endsWith('A') ? 'B' : 'A'}`;
    const created = await api(pipes, 'POST', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      body: { name: 'doomed' },
    });
    assert.equal(created.status, 201);
    const revoked = await api(pipes, 'DELETE', `/pipes/api-keys/${created.json.id}`, {
      key: pipes.sandboxKey,
    });
    assert.equal(revoked.status, 204);
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      notBearer: { authorization: `Basic ${pipes.sandboxKey}` },
      noPrefix: { authorization: 'Bearer 12345' },
      garbled: { authorization: `Bearer ${garbled}` },
      unknown: { authorization: `Bearer ${unknown}` },
      revoked: { authorization: `Bearer ${created.json.key}` },
    };
    const bodies = new Set<string>();
    for (const [name, headers] of Object.entries(cases)) {
      const res = await api(pipes, 'GET', '/pipes/api-keys', { headers });
      assert.equal(res.status, 401, name);
      assert.equal(res.headers.get('content-type')?.startsWith('application/json'), true, name);
      assert.equal(res.json.message, INVALID_API_KEY_MESSAGE, name);
      bodies.add(res.text);
    }
    assert.equal(bodies.size, 1, 'every 401 body is identical');
    assert.match(INVALID_API_KEY_MESSAGE, /sk_test_/);
    // The routes that need a key reveal nothing about existing objects without one.
    assert.equal((await api(pipes, 'GET', '/data-integrations/github')).status, 401);
  });

  test('an unknown route with a valid key is a JSON 404', async () => {
    const res = await api(pipes, 'GET', '/no/such/route', { key: pipes.sandboxKey });
    assert.equal(res.status, 404);
    assert.equal(res.json.code, 'route_not_found');
    assert.match(res.json.message, /GET \/no\/such\/route/);
  });

  test('malformed JSON, a wrong content type and an oversized body are clear errors that change nothing', async () => {
    const before = await countKeys(pipes);
    const malformed = await api(pipes, 'POST', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      body: '{"name": ',
    });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.code, 'invalid_json');
    const wrongType = await api(pipes, 'POST', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      body: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.json.code, 'unsupported_media_type');
    const oversized = await api(pipes, 'POST', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      body: { name: 'x'.repeat(5000) },
    });
    assert.equal(oversized.status, 413);
    assert.equal(oversized.json.code, 'request_too_large');
    const invalid = await api(pipes, 'POST', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      body: { name: 42, x: 1 },
    });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.json.code, 'invalid_request_parameters');
    assert.ok(invalid.json.errors.some((e: { field: string }) => e.field === 'name'));
    assert.equal(await countKeys(pipes), before);
  });

  test('invalid pagination parameters are a 422', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'order=sideways']) {
      const res = await api(pipes, 'GET', `/pipes/api-keys?${q}`, { key: pipes.sandboxKey });
      assert.equal(res.status, 422, q);
      assert.equal(res.json.code, 'invalid_request_parameters');
    }
  });
});

describe('pagination', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startTestPipes();
  });
  after(() => pipes.close());

  async function walk(order: 'asc' | 'desc', limit: number) {
    const seen: string[] = [];
    let after: string | null | undefined;
    do {
      const q = new URLSearchParams({ order, limit: String(limit) });
      if (after) q.set('after', after);
      const res = await api(pipes, 'GET', `/pipes/api-keys?${q}`, { key: pipes.sandboxKey });
      assert.equal(res.status, 200);
      assert.equal(res.json.object, 'list');
      seen.push(...res.json.data.map((k: { id: string }) => k.id));
      after = res.json.list_metadata.after;
    } while (after);
    return seen;
  }

  test('walks more than 100 objects in both orders with no gap or repeat, and pages backwards', async () => {
    for (let i = 0; i < 104; i++) {
      const res = await api(pipes, 'POST', '/pipes/api-keys', {
        key: pipes.sandboxKey,
        body: { name: `k${i}` },
      });
      assert.equal(res.status, 201);
    }
    const asc = await walk('asc', 100);
    const desc = await walk('desc', 7);
    assert.equal(asc.length, 105); // 104 created + the test key
    assert.equal(new Set(asc).size, asc.length);
    assert.deepEqual([...asc].sort(), asc);
    assert.deepEqual(desc, [...asc].reverse());

    // `before` walks back: the page before the third desc page is the second one.
    const page = (q: string) => api(pipes, 'GET', `/pipes/api-keys?${q}`, { key: pipes.sandboxKey });
    const first = await page('order=desc&limit=10');
    assert.equal(first.json.list_metadata.before, null);
    const second = await page(`order=desc&limit=10&after=${first.json.list_metadata.after}`);
    const back = await page(`order=desc&limit=10&before=${second.json.data[0].id}`);
    assert.deepEqual(back.json.data, first.json.data);
    assert.equal(back.json.list_metadata.before, null);
    // Default limit is 10, default order is desc.
    const defaults = await page('');
    assert.equal(defaults.json.data.length, 10);
    assert.deepEqual(
      defaults.json.data.map((k: { id: string }) => k.id),
      desc.slice(0, 10),
    );
    // Keys are listed by last 4 characters only.
    for (const k of defaults.json.data) {
      assert.equal(k.key, undefined);
      assert.match(k.last_4, /^[0-9A-Za-z]{4}$/);
      assert.match(k.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });
});

describe('environments are isolated', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startTestPipes();
  });
  after(() => pipes.close());

  test("a sandbox key sees only sandbox keys, and another environment's object is a 404 like a missing one (T2)", async () => {
    const prodList = await api(pipes, 'GET', '/pipes/api-keys?limit=100', { key: pipes.productionKey });
    const prodKeyId = prodList.json.data[0].id as string;
    const sandboxList = await api(pipes, 'GET', '/pipes/api-keys?limit=100', { key: pipes.sandboxKey });
    assert.ok(!sandboxList.json.data.some((k: { id: string }) => k.id === prodKeyId));
    assert.ok(pipes.productionKey.startsWith('sk_live_'));
    assert.ok(pipes.sandboxKey.startsWith('sk_test_'));

    const crossEnv = await api(pipes, 'DELETE', `/pipes/api-keys/${prodKeyId}`, { key: pipes.sandboxKey });
    const missing = await api(pipes, 'DELETE', '/pipes/api-keys/key_01J0000000000000000000000Z', {
      key: pipes.sandboxKey,
    });
    assert.equal(crossEnv.status, 404);
    assert.equal(missing.status, 404);
    assert.deepEqual(crossEnv.json, missing.json);
    // The production key still works.
    assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key: pipes.productionKey })).status, 200);
  });

  test('revocation takes effect on the next request', async () => {
    const created = await api(pipes, 'POST', '/pipes/api-keys', { key: pipes.sandboxKey, body: {} });
    assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key: created.json.key })).status, 200);
    await api(pipes, 'DELETE', `/pipes/api-keys/${created.json.id}`, { key: pipes.sandboxKey });
    assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key: created.json.key })).status, 401);
  });
});

describe('rate limit', () => {
  test('a key over its request rate gets 429 with Retry-After and a JSON body', async () => {
    const pipes = await startTestPipes({ env: { PIPES_RATE_LIMIT_PER_MINUTE: '5' } });
    try {
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof api>> | undefined;
      for (let i = 0; i < 8; i++) {
        const res = await api(pipes, 'GET', '/pipes/api-keys', { key: pipes.sandboxKey });
        statuses.push(res.status);
        if (res.status === 429) limited = res;
      }
      assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
      assert.ok(limited, 'the sixth request onwards is limited');
      assert.equal(limited.json.code, 'rate_limit_exceeded');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      // Another key has its own allowance.
      assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key: pipes.productionKey })).status, 200);
    } finally {
      await pipes.close();
    }
  });
});
