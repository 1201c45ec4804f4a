import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { INVALID_API_KEY_MESSAGE } from '../../src/api/middleware/authenticate.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { createFakeIntegration, importGrant } from '../tokens/setup.ts';

/**
 * `/token` and `/credentials` are served by a raw node:http listener, not the Hono app (speed). Every API convention
 * must still hold there exactly as on the app's routes: the one 401, X-Request-ID, 413/415/400/422, no-store, the
 * per-key rate limit shared with the rest of the API, other methods answered by the app.
 */
describe('token vending keeps the API conventions on its raw listener', () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  let accessToken: string;
  const RATE_LIMIT = 40;

  before(async () => {
    provider = await new FakeProvider({ rotation: 'none' }).start();
    pipes = await startTestPipes({
      env: { PIPES_MAX_BODY_BYTES: '2048', PIPES_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) },
      // Time stands still: the per-key allowance refills with time (one call every 1.5 s here), and the rate-limit
      // test counts on it not refilling between its last calls, however slow the machine.
      clock: new ManualClock(Date.now()),
    });
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const { grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    accessToken = grant.accessToken;
  });
  after(async () => {
    await pipes.close();
    await provider.stop();
  });

  const token = (options: Parameters<typeof api>[3] = {}, path = '/data-integrations/acme/token') =>
    api(pipes, 'POST', path, { key: pipes.sandboxKey, body: { user_id: 'user_1' }, ...options });

  test('a valid call: the token, JSON, no-store, a request id (echoed when sane)', async () => {
    const res = await token({ headers: { 'x-request-id': 'trace-42' } });
    assert.equal(res.status, 200);
    assert.equal(res.json.access_token.access_token, accessToken);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-request-id'), 'trace-42');
    const generated = await token({ headers: { 'x-request-id': 'no spaces <allowed>' } });
    assert.match(generated.headers.get('x-request-id') ?? '', /^req_[0-9A-Z]{26}$/);
    const credentials = await token({}, '/data-integrations/acme/credentials?ignored=1');
    assert.equal(credentials.status, 200);
    assert.equal(credentials.json.credential.value, accessToken);
  });

  test('the same 401 body as every other API route, for a missing, garbled or unknown key', async () => {
    const elsewhere = await api(pipes, 'GET', '/events', { key: 'sk_test_garbage' });
    for (const key of [undefined, 'sk_test_garbage', `sk_test_${'A'.repeat(51)}`]) {
      const res = await api(pipes, 'POST', '/data-integrations/acme/token', {
        ...(key ? { key } : {}),
        body: { user_id: 'user_1' },
      });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, elsewhere.json);
      assert.equal(res.json.message, INVALID_API_KEY_MESSAGE);
      assert.match(res.headers.get('x-request-id') ?? '', /^req_/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
  });

  test('bad bodies: 415 wrong type, 400 malformed JSON, 422 per field, 413 too large (declared or not)', async () => {
    const wrongType = await token({ body: 'user_id=user_1', headers: { 'content-type': 'text/plain' } });
    assert.equal(wrongType.status, 415);
    assert.equal(wrongType.json.code, 'unsupported_media_type');
    const malformed = await token({ body: '{"user_id":' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.code, 'invalid_json');
    const invalid = await token({ body: { user_id: 'user_1', connected_account_id: 'nope' } });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.json.errors[0].field, 'connected_account_id');
    const large = await token({ body: { user_id: 'x'.repeat(5000) } });
    assert.equal(large.status, 413);
    assert.equal(large.json.code, 'request_too_large');
    // Chunked (no Content-Length): the cap holds while reading.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(`${pipes.url}/data-integrations/acme/token`);
      const req = httpRequest(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${pipes.sandboxKey}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString('utf8');
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(`{"user_id":"${'y'.repeat(1500)}`);
      req.end(`${'y'.repeat(1500)}"}`);
    });
    assert.equal(chunked.status, 413);
    assert.equal(JSON.parse(chunked.body).code, 'request_too_large');
  });

  test('a kept-alive connection stays usable after an answer sent before the body was read', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (key: string) =>
      new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
        const req = httpRequest(`${pipes.url}/data-integrations/acme/token`, {
          agent,
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ user_id: 'user_1', padding: 'p'.repeat(1000) }));
      });
    try {
      const refused = await send('sk_test_garbage');
      assert.equal(refused.status, 401);
      const served = await send(pipes.sandboxKey);
      assert.equal(served.status, 200);
    } finally {
      agent.destroy();
    }
  });

  test('other methods on these paths are answered by the API app (404 route_not_found)', async () => {
    const res = await api(pipes, 'GET', '/data-integrations/acme/token', { key: pipes.sandboxKey });
    assert.equal(res.status, 404);
    assert.equal(res.json.code, 'route_not_found');
  });

  test('a percent-encoded slug means the same provider', async () => {
    const res = await token({}, '/data-integrations/%61cme/token');
    assert.equal(res.json.access_token.access_token, accessToken);
  });

  test('one rate limit per key across vending and the rest of the API (429 with Retry-After)', async () => {
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    for (let i = 0; i < RATE_LIMIT + 5 && limited === undefined; i++) {
      const res =
        i % 2 === 0
          ? await token()
          : await api(pipes, 'GET', '/data-integrations', { key: pipes.sandboxKey });
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, 'no 429 within the allowance plus five');
    const vending = await token();
    assert.equal(vending.status, 429);
    assert.equal(vending.json.code, 'rate_limit_exceeded');
    assert.match(vending.headers.get('retry-after') ?? '', /^\d+$/);
    const other = await api(pipes, 'GET', '/data-integrations', { key: pipes.sandboxKey });
    assert.equal(other.status, 429);
  });
});
