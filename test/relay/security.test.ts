import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { providerEntrySchema } from '../../src/providers/catalog-schema.ts';
import type { Resolver } from '../../src/relay/egress/index.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import {
  bodyOf,
  type FakeProvider,
  json,
  MemoryRelayDeps,
  rawRequest,
  rawSocket,
  relayHeaders,
  startFakeProvider,
  testProvider,
} from './helpers.ts';

const SECRET = 'tok-security-0123456789abcdef';

/** A stub DNS: fixed answers per name. */
function stubResolver(answers: Record<string, string[]>): Resolver {
  return async (hostname) =>
    (answers[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

describe('relay security (security test plan P1–P16)', () => {
  let pipes: TestPipes;
  /** A second Pipes whose egress policy refuses loopback and private addresses, with a stub DNS. */
  let strict: TestPipes;
  let provider: FakeProvider;
  let canary: FakeProvider;
  const deps = new MemoryRelayDeps();
  const strictDeps = new MemoryRelayDeps();
  let sandboxId = '';
  let productionId = '';

  before(async () => {
    canary = await startFakeProvider((_req, res) => json(res, 200, { canary: true }));
    provider = await startFakeProvider((req, res) => {
      const path = req.url ?? '';
      if (path.startsWith('/v1/redirect')) {
        res.writeHead(302, { location: `${canary.url}/stolen?x=1` });
        res.end();
        return;
      }
      if (path.startsWith('/v1/dirty-headers')) {
        res.writeHead(
          200,
          [
            ['Content-Type', 'application/json'],
            ['Set-Cookie', 'session=provider; Path=/'],
            ['Access-Control-Allow-Origin', '*'],
            ['Access-Control-Allow-Credentials', 'true'],
            ['Strict-Transport-Security', 'max-age=63072000'],
            ['Proxy-Authenticate', 'Basic'],
            ['Connection', 'X-Hop'],
            ['X-Hop', 'hop-by-hop'],
            ['X-Echo', `Bearer ${SECRET}`],
            ['Pipes-Upstream', 'false'],
            ['X-Custom', 'kept'],
          ].flat(),
        );
        res.end('{}');
        return;
      }
      if (path.startsWith('/v1/echo-body')) {
        json(res, 200, { youSent: req.headers.authorization });
        return;
      }
      if (path.startsWith('/v1/echo-stream')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(100_000));
        res.end(`...${req.headers.authorization}...`);
        return;
      }
      json(res, 200, { path });
    });
    pipes = await startTestPipes({
      startOptions: {
        relayDeps: deps,
        serverTimeouts: { headersTimeoutMs: 400, requestTimeoutMs: 2000, checkIntervalMs: 50 },
      },
    });
    deps.bind(pipes.server.ctx);
    sandboxId = (await requireEnvironment(pipes.server.ctx.store.db, 'sandbox')).id;
    productionId = (await requireEnvironment(pipes.server.ctx.store.db, 'production')).id;
    deps.add({
      environmentId: sandboxId,
      slug: 'fake',
      userId: 'user_1',
      accountId: 'acct_sandbox',
      provider: testProvider('fake', `${provider.url}/v1`),
      credential: { authMethod: 'oauth', value: SECRET },
    });
    deps.add({
      environmentId: sandboxId,
      slug: 'tenant',
      userId: 'user_1',
      accountId: 'acct_tenant',
      provider: testProvider(
        'tenant',
        `${provider.url}/t/{config.tenant}`,
        {},
        {
          connect_config: [
            {
              name: 'tenant',
              label: 'Tenant',
              description: 'Tenant name.',
              pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
              example: 'acme',
              required: true,
              automated: false,
            },
          ],
        },
      ),
      config: { tenant: 'acme' },
      credential: { authMethod: 'oauth', value: SECRET },
    });
    deps.add({
      environmentId: sandboxId,
      slug: 'metadata',
      userId: 'user_1',
      accountId: 'acct_metadata',
      provider: testProvider('metadata', 'http://169.254.169.254/latest'),
      credential: { authMethod: 'oauth', value: SECRET },
    });
    deps.add({
      environmentId: productionId,
      slug: 'fake',
      userId: 'user_1',
      accountId: 'acct_production',
      provider: testProvider('fake', `${provider.url}/v1`),
      credential: { authMethod: 'oauth', value: 'tok-production-other-tenant' },
    });

    strict = await startTestPipes({
      env: { PIPES_ALLOW_PRIVATE_NETWORK: 'false', PIPES_ALLOW_INSECURE_HTTP: 'true' },
      startOptions: {
        relayDeps: strictDeps,
        relay: {
          resolver: stubResolver({
            'rebind.test': ['127.0.0.1'],
            'mixed.test': ['93.184.216.34', '127.0.0.1'],
            'metadata.test': ['169.254.169.254'],
            'nat64.test': ['64:ff9b::7f00:1'],
          }),
        },
      },
    });
    strictDeps.bind(strict.server.ctx);
    const strictEnv = (await requireEnvironment(strict.server.ctx.store.db, 'sandbox')).id;
    const canaryPort = new URL(canary.url).port;
    for (const host of [
      'rebind.test',
      'mixed.test',
      'metadata.test',
      'nat64.test',
      '127.0.0.1',
      '[::ffff:127.0.0.1]',
    ]) {
      const slug = host.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
      strictDeps.add({
        environmentId: strictEnv,
        slug,
        userId: 'user_1',
        accountId: `acct_${slug}`,
        provider: testProvider(slug, `http://${host}:${canaryPort}`),
        credential: { authMethod: 'oauth', value: SECRET },
      });
    }
  });
  after(async () => {
    await pipes.close();
    await strict.close();
    await provider.close();
    await canary.close();
  });

  const relayPath = (path: string, key = pipes.sandboxKey) =>
    rawRequest(pipes.url, { path, headers: relayHeaders(key) });

  test('P1: traversal and encoded dot segments are refused and never reach the provider', async () => {
    const before = provider.requests.length;
    for (const path of [
      '/relay/fake/../../admin',
      '/relay/fake/a/%2e%2e/%2e%2e/admin',
      '/relay/fake/%2e%2e%2fadmin',
      '/relay/fake/..%5cadmin',
      '/relay/fake/a/%252e%252e/admin',
      '/relay/fake/a/..;/admin',
      '/relay/fake/a%00b',
    ]) {
      const response = await relayPath(path);
      assert.equal(response.status, 400, path);
      assert.equal(response.headers['pipes-error'], 'invalid_relay_path', path);
    }
    assert.equal(provider.requests.length, before);
  });

  test('P2: //host, @host and absolute URLs in the path cannot change the authority', async () => {
    const providerBefore = provider.requests.length;
    const canaryHost = new URL(canary.url).host;
    for (const path of [
      `/relay/fake//${canaryHost}/x`,
      `/relay/fake/@${canaryHost}/x`,
      `/relay/fake/http://${canaryHost}/x`,
      `/relay/fake/%2F%2F${canaryHost}/x`,
      `/relay/fake/%40${canaryHost}`,
    ]) {
      const response = await relayPath(path);
      assert.equal(response.status, 400, path);
    }
    assert.equal(canary.requests.length, 0);
    assert.equal(provider.requests.length, providerBefore);
  });

  test('P3: hostile template values are refused at use; a good one stays under its base path', async () => {
    const good = await relayPath('/relay/tenant/items');
    assert.equal(good.status, 200);
    assert.equal(JSON.parse(good.body.toString()).path, '/t/acme/items');
    const account = deps.accounts.find((a) => a.slug === 'tenant')!;
    const before = provider.requests.length;
    for (const hostile of ['canary.test#', 'a.canary.test/', 'x@canary.test', '../admin', 'a b']) {
      account.config = { tenant: hostile };
      const response = await relayPath('/relay/tenant/items');
      assert.equal(response.status, 400, hostile);
      assert.equal(response.headers['pipes-error'], 'invalid_config', hostile);
      assert.ok(!response.body.toString().includes(hostile), 'the value is not echoed');
    }
    account.config = { tenant: 'acme' };
    assert.equal(provider.requests.length, before);
    assert.equal(canary.requests.length, 0);
  });

  test('P4: a provider redirect to another host is returned, not followed', async () => {
    const response = await relayPath('/relay/fake/redirect');
    assert.equal(response.status, 302);
    assert.equal(response.headers.location, `${canary.url}/stolen?x=1`);
    assert.equal(response.headers['pipes-upstream'], 'true');
    assert.equal(canary.requests.length, 0);
  });

  test('P5/P6: DNS rebinding, mixed answers, metadata, NAT64 and mapped loopback are refused at connect', async () => {
    for (const slug of [
      'rebind-test',
      'mixed-test',
      'metadata-test',
      'nat64-test',
      '127-0-0-1',
      'ffff-127-0-0-1',
    ]) {
      const response = await rawRequest(strict.url, {
        path: `/relay/${slug}/x`,
        headers: relayHeaders(strict.sandboxKey),
      });
      assert.equal(response.status, 502, slug);
      assert.equal(response.headers['pipes-error'], 'blocked_destination', slug);
      const body = JSON.parse(response.body.toString());
      assert.equal(body.error.source, 'pipes');
      assert.ok(
        !body.error.message.includes('127.0.0.1') || slug.startsWith('127'),
        'resolved IPs are not echoed',
      );
    }
    // The cloud metadata address stays refused even where loopback is allowed.
    const metadata = await relayPath('/relay/metadata/x');
    assert.equal(metadata.status, 502);
    assert.equal(metadata.headers['pipes-error'], 'blocked_destination');
    assert.equal(canary.requests.length, 0);
  });

  test("P7: the caller's credentials, cookies, routing and hop-by-hop headers never reach the provider", async () => {
    const response = await rawRequest(pipes.url, {
      path: '/relay/fake/headers',
      headers: {
        ...relayHeaders(pipes.sandboxKey),
        cookie: 'session=caller',
        'proxy-authorization': 'Basic Y2FsbGVyOnB3',
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'evil.test',
        forwarded: 'for=10.0.0.1',
        'x-real-ip': '10.0.0.1',
        connection: 'close, X-Secret',
        'x-secret': 'do-not-forward',
        'pipes-connected-account-id': 'acct_sandbox',
        'x-custom': 'kept',
      },
    });
    assert.equal(response.status, 200);
    const seen = provider.requests.at(-1)!.headers;
    assert.equal(seen.authorization, `Bearer ${SECRET}`);
    for (const name of [
      'cookie',
      'proxy-authorization',
      'x-forwarded-for',
      'x-forwarded-host',
      'forwarded',
      'x-real-ip',
      'x-secret',
      'pipes-user-id',
      'pipes-connected-account-id',
    ]) {
      assert.equal(seen[name], undefined, name);
    }
    assert.equal(seen['x-custom'], 'kept');
    assert.equal(seen.host, new URL(provider.url).host);

    // A chunked caller body is re-framed, not smuggled.
    const chunked = await rawSocket(
      pipes.port,
      `POST /relay/fake/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${pipes.sandboxKey}\r\nPipes-User-Id: user_1\r\n` +
        'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    assert.match(chunked, /^HTTP\/1\.1 200 /);
    assert.equal(provider.requests.at(-1)!.body.toString(), 'hello');
  });

  test('P8: CR/LF in a header value is a 400 and nothing is forwarded', async () => {
    const before = provider.requests.length;
    const answer = await rawSocket(
      pipes.port,
      `GET /relay/fake/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${pipes.sandboxKey}\r\nPipes-User-Id: user_1\r\n` +
        'X-Evil: a\rInjected: b\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 400 /);
    const control = await rawSocket(
      pipes.port,
      `GET /relay/fake/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${pipes.sandboxKey}\r\nPipes-User-Id: user_1\r\n` +
        'X-Evil: a\u0001b\r\nConnection: close\r\n\r\n',
    );
    assert.match(control, /^HTTP\/1\.1 400 /);
    assert.equal(provider.requests.length, before);
  });

  test("P9: the provider's cookies, CORS, HSTS, hop-by-hop and proxy headers are not passed on", async () => {
    const response = await relayPath('/relay/fake/dirty-headers');
    assert.equal(response.status, 200);
    for (const name of [
      'set-cookie',
      'access-control-allow-origin',
      'access-control-allow-credentials',
      'strict-transport-security',
      'proxy-authenticate',
      'x-hop',
      'x-echo',
    ]) {
      assert.equal(response.headers[name], undefined, name);
    }
    assert.equal(response.headers['x-custom'], 'kept');
    assert.equal(response.headers['pipes-upstream'], 'true');
  });

  test('a provider reflecting the credential never gets it to the caller', async () => {
    const small = await relayPath('/relay/fake/echo-body');
    assert.equal(small.status, 502);
    assert.equal(small.headers['pipes-error'], 'credential_reflected');
    assert.ok(!small.body.toString().includes(SECRET));

    const streamed = await rawRequest(pipes.url, {
      path: '/relay/fake/echo-stream',
      headers: relayHeaders(pipes.sandboxKey),
    }).catch((error: unknown) => error);
    if (!(streamed instanceof Error)) {
      assert.ok(!(streamed as { body: Buffer }).body.toString().includes(SECRET));
    }
    assert.ok(!pipes.logs.text().includes(SECRET), 'the credential is never logged');
  });

  test('P13: a slowloris caller is disconnected by the header timeout', async () => {
    const request = `GET /relay/fake/x HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(200)}\r\n\r\n`;
    const closed = await new Promise<{ sent: number; answer: string }>((resolve) => {
      const socket = connect(pipes.port, '127.0.0.1');
      let answer = '';
      socket.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
      });
      let sent = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= request.length) return;
        socket.write(request[sent]!);
        sent++;
      }, 100);
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ sent, answer });
      });
    });
    // Closed by the server before the request was complete, and never served.
    assert.ok(closed.sent < request.length, `the server waited for all ${closed.sent} bytes`);
    assert.doesNotMatch(closed.answer, /^HTTP\/1\.1 200/);
  });

  test('P15: TRACE and CONNECT get 405; an http base URL is refused by the catalog and by a strict policy', async () => {
    const before = provider.requests.length;
    const trace = await rawRequest(pipes.url, {
      method: 'TRACE',
      path: '/relay/fake/x',
      headers: relayHeaders(pipes.sandboxKey),
    });
    assert.equal(trace.status, 405);
    assert.equal(trace.headers['pipes-error'], 'method_not_allowed');
    assert.equal(provider.requests.length, before);
    // CONNECT never reaches a request handler: Node hands it to 'connect' listeners, and there are none.
    const connectAnswer = await rawSocket(
      pipes.port,
      'CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n',
      1000,
    );
    assert.doesNotMatch(connectAnswer, /^HTTP\/1\.1 200/);
    assert.equal(
      providerEntrySchema.safeParse({ ...testProvider('plain-http', 'http://api.example.com') }).success,
      false,
    );
    const production = await startTestPipes({
      env: {
        NODE_ENV: 'production',
        PIPES_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
        PIPES_PUBLIC_URL: 'https://pipes.example.com',
      },
      startOptions: { relayDeps: strictDeps },
    });
    try {
      const env = (await requireEnvironment(production.server.ctx.store.db, 'sandbox')).id;
      strictDeps.add({
        environmentId: env,
        slug: 'insecure',
        userId: 'user_1',
        accountId: 'acct_insecure',
        provider: testProvider('insecure', 'http://api.example.com'),
        credential: { authMethod: 'oauth', value: SECRET },
      });
      strictDeps.bind(production.server.ctx);
      const response = await rawRequest(production.url, {
        path: '/relay/insecure/x',
        headers: relayHeaders(production.sandboxKey),
      });
      assert.equal(response.status, 502);
      assert.equal(response.headers['pipes-error'], 'blocked_destination');
    } finally {
      strictDeps.bind(strict.server.ctx);
      await production.close();
    }
  });

  test("P16: one environment's key never reaches another environment's connection", async () => {
    const before = provider.requests.length;
    // The production key asks for the sandbox account by its user and id: not found, exactly like a missing one.
    const byId = await rawRequest(pipes.url, {
      path: '/relay/fake/x',
      headers: {
        authorization: `Bearer ${pipes.productionKey}`,
        'pipes-user-id': 'user_1',
        'pipes-connected-account-id': 'acct_sandbox',
      },
    });
    assert.equal(byId.status, 404);
    assert.equal(byId.headers['pipes-error'], 'not_installed');
    assert.equal(provider.requests.length, before);
    // The production key with the same user id gets the production connection, never the sandbox token.
    const own = await relayPath('/relay/fake/x', pipes.productionKey);
    assert.equal(own.status, 200);
    assert.equal(provider.requests.at(-1)!.headers.authorization, 'Bearer tok-production-other-tenant');
    for (const recorded of provider.requests.slice(before)) {
      assert.notEqual(recorded.headers.authorization, `Bearer ${SECRET}`);
    }
  });

  test('unauthenticated or unknown-key calls never reach the provider', async () => {
    const before = provider.requests.length;
    const none = await rawRequest(pipes.url, {
      path: '/relay/fake/x',
      headers: { 'pipes-user-id': 'user_1' },
    });
    assert.equal(none.status, 401);
    const bogus = await rawRequest(pipes.url, {
      path: '/relay/fake/x',
      headers: { authorization: 'Bearer sk_test_nope', 'pipes-user-id': 'user_1' },
    });
    assert.equal(bogus.status, 401);
    assert.equal(JSON.parse(bogus.body.toString()).error.code, 'unauthorized');
    assert.equal(provider.requests.length, before);
    await bodyOf(await fetch(`${pipes.url}/health`));
  });
});
