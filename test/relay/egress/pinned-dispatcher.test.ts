import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, fetch, request } from 'undici';
import { PipesError } from '../../../src/errors.ts';
import {
  createPinnedConnector,
  createPinnedDispatcher,
  type EgressPolicy,
  type PinnedDispatcherOptions,
  type Resolver,
  resolveAllowedAddresses,
} from '../../../src/relay/egress/index.ts';

const NO_LOOPBACK: EgressPolicy = { allowLoopback: false, allowPrivate: true, allowHttp: true };
const LOOPBACK: EgressPolicy = { allowLoopback: true, allowPrivate: false, allowHttp: true };
const TIMEOUTS = { connectTimeoutMs: 2_000, headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 };

interface Canary {
  server: Server;
  hits: number;
}

async function listen(server: Server, target: number | string): Promise<void> {
  await new Promise<void>((resolve) => {
    if (typeof target === 'string') server.listen(target, resolve);
    else server.listen(target, '127.0.0.1', resolve);
  });
}

function canaryServer(): Canary {
  const canary: Canary = {
    hits: 0,
    server: createServer((_req, res) => {
      canary.hits++;
      res.end('canary');
    }),
  };
  return canary;
}

function isBlocked(error: unknown): boolean {
  return error instanceof PipesError && error.code === 'blocked_destination' && error.status === 502;
}

/** A stub DNS: fixed answers per name, counting calls. */
function stubResolver(answers: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = async (hostname: string) => {
    calls.push(hostname);
    return (answers[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolver, { calls });
}

describe('createPinnedDispatcher', () => {
  const canary = canaryServer();
  let port = 0;

  before(async () => {
    await listen(canary.server, 0);
    port = (canary.server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => canary.server.close(() => resolve())));

  async function withDispatcher<T>(
    options: Omit<PinnedDispatcherOptions, keyof typeof TIMEOUTS>,
    fn: (dispatcher: ReturnType<typeof createPinnedDispatcher>) => Promise<T>,
  ): Promise<T> {
    const dispatcher = createPinnedDispatcher({ ...TIMEOUTS, ...options });
    try {
      return await fn(dispatcher);
    } finally {
      await dispatcher.destroy();
    }
  }

  test('refuses a literal loopback URL when loopback is not allowed; the canary sees nothing', async () => {
    const before = canary.hits;
    await withDispatcher({ policy: NO_LOOPBACK }, async (dispatcher) => {
      await assert.rejects(request(`http://127.0.0.1:${port}/`, { dispatcher }), isBlocked);
    });
    assert.equal(canary.hits, before);
  });

  test('reaches the literal loopback URL when loopback is allowed', async () => {
    const before = canary.hits;
    await withDispatcher({ policy: LOOPBACK }, async (dispatcher) => {
      const response = await request(`http://127.0.0.1:${port}/`, { dispatcher });
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), 'canary');
    });
    assert.equal(canary.hits, before + 1);
  });

  test('DNS rebinding: a name the resolver maps to 127.0.0.1 is refused at connect time', async () => {
    const before = canary.hits;
    const lookup = stubResolver({ 'rebind.test': ['127.0.0.1'] });
    await withDispatcher({ policy: NO_LOOPBACK, lookup }, async (dispatcher) => {
      await assert.rejects(request(`http://rebind.test:${port}/`, { dispatcher }), (error: unknown) => {
        assert.ok(isBlocked(error));
        // Names the host, never the internal address it resolved to.
        assert.match((error as Error).message, /rebind\.test/);
        assert.doesNotMatch((error as Error).message, /127\.0\.0\.1/);
        return true;
      });
    });
    assert.equal(canary.hits, before);
    assert.deepEqual(lookup.calls, ['rebind.test']);
  });

  test('the same name reaches the server when loopback is allowed, with exactly one resolution', async () => {
    const before = canary.hits;
    const lookup = stubResolver({ 'rebind.test': ['127.0.0.1'] });
    await withDispatcher({ policy: LOOPBACK, lookup }, async (dispatcher) => {
      const response = await request(`http://rebind.test:${port}/`, { dispatcher });
      assert.equal(await response.body.text(), 'canary');
    });
    assert.equal(canary.hits, before + 1);
    assert.deepEqual(lookup.calls, ['rebind.test']);
  });

  test('a mixed answer (public + loopback) is refused as a whole', async () => {
    const before = canary.hits;
    const lookup = stubResolver({ 'mixed.test': ['1.1.1.1', '127.0.0.1'] });
    await withDispatcher({ policy: NO_LOOPBACK, lookup }, async (dispatcher) => {
      await assert.rejects(request(`http://mixed.test:${port}/`, { dispatcher }), isBlocked);
    });
    assert.equal(canary.hits, before);
  });

  test('metadata and transition addresses are refused even under the most relaxed policy', async () => {
    const relaxed: EgressPolicy = { allowLoopback: true, allowPrivate: true, allowHttp: true };
    const lookup = stubResolver({
      'meta.test': ['169.254.169.254'],
      'mapped.test': ['::ffff:127.0.0.1'],
      'nat64.test': ['64:ff9b::7f00:1'],
    });
    await withDispatcher({ policy: relaxed, lookup }, async (dispatcher) => {
      for (const host of ['meta.test', 'mapped.test', 'nat64.test']) {
        await assert.rejects(request(`http://${host}:${port}/`, { dispatcher }), isBlocked, host);
      }
    });
  });

  test('localhost through the system resolver is refused without loopback', async () => {
    const before = canary.hits;
    await withDispatcher({ policy: NO_LOOPBACK }, async (dispatcher) => {
      await assert.rejects(request(`http://localhost:${port}/`, { dispatcher }), isBlocked);
    });
    assert.equal(canary.hits, before);
  });

  test('plain http is refused unless allowHttp', async () => {
    const before = canary.hits;
    const httpsOnly: EgressPolicy = { allowLoopback: true, allowPrivate: false, allowHttp: false };
    await withDispatcher({ policy: httpsOnly }, async (dispatcher) => {
      await assert.rejects(request(`http://127.0.0.1:${port}/`, { dispatcher }), isBlocked);
    });
    assert.equal(canary.hits, before);
  });

  test('fetch surfaces the refusal as the cause of its TypeError', async () => {
    await withDispatcher({ policy: NO_LOOPBACK }, async (dispatcher) => {
      await assert.rejects(fetch(`http://127.0.0.1:${port}/`, { dispatcher }), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.ok(isBlocked(error.cause));
        return true;
      });
    });
  });

  test('refuses socketPath and connect overrides at construction', () => {
    for (const key of ['socketPath', 'connect']) {
      const options = {
        policy: LOOPBACK,
        ...TIMEOUTS,
        [key]: '/tmp/x.sock',
      } as unknown as PinnedDispatcherOptions;
      assert.throws(() => createPinnedDispatcher(options), TypeError);
    }
  });
});

describe('createPinnedConnector', () => {
  const canary = canaryServer();
  const socketPath = join(tmpdir(), `pipes-egress-${process.pid}-${Date.now()}.sock`);

  before(() => listen(canary.server, socketPath));
  after(() => new Promise<void>((resolve) => canary.server.close(() => resolve())));

  test('refuses a socketPath handed to the connector by a client; the socket canary sees nothing', async () => {
    const connect = createPinnedConnector({ policy: LOOPBACK, connectTimeoutMs: 2_000 });
    const client = new Client('http://localhost', { socketPath, connect });
    try {
      await assert.rejects(client.request({ path: '/', method: 'GET' }), isBlocked);
    } finally {
      await client.destroy();
    }
    assert.equal(canary.hits, 0);
  });
});

describe('resolveAllowedAddresses', () => {
  test('returns every address when all are allowed, with families derived from the address', async () => {
    const lookup: Resolver = async () => [
      { address: '1.1.1.1', family: 6 },
      { address: '2606:4700:4700::1111', family: 4 },
    ];
    assert.deepEqual(await resolveAllowedAddresses('ok.test', NO_LOOPBACK, lookup), [
      { address: '1.1.1.1', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
  });

  test('refuses an empty answer and a garbage answer', async () => {
    await assert.rejects(
      resolveAllowedAddresses('none.test', NO_LOOPBACK, async () => []),
      (e: unknown) => e instanceof PipesError && e.code === 'destination_unreachable',
    );
    await assert.rejects(
      resolveAllowedAddresses('junk.test', NO_LOOPBACK, async () => [{ address: 'localhost', family: 4 }]),
      isBlocked,
    );
  });
});
