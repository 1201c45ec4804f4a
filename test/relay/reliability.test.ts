import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ProviderEntry } from '../../src/providers/catalog-schema.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import {
  bodyOf,
  type FakeProvider,
  json,
  MemoryRelayDeps,
  type RecordedRequest,
  relayHeaders,
  startFakeProvider,
  testProvider,
} from './helpers.ts';

/** A fake provider whose answers are scripted per test: each call takes the next answer of the current script. */
type Answer = (res: ServerResponse, recorded: RecordedRequest) => void;

describe('relay reliability: retries, refresh, throttle', () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  let script: Answer[] = [];
  const deps = new MemoryRelayDeps();
  const configDir = mkdtempSync(path.join(tmpdir(), 'pipes-relay-config-'));
  let env = '';
  const ok: Answer = (res) => json(res, 200, { ok: true });

  const account = (slug: string, providerEntry: ProviderEntry, refreshTo: string | null = null) =>
    deps.add({
      environmentId: env,
      slug,
      userId: 'user_1',
      accountId: `acct_${slug}`,
      provider: providerEntry,
      credential: { authMethod: 'oauth', value: `tok-${slug}-original` },
      refreshTo,
    });

  before(async () => {
    provider = await startFakeProvider((_req, res, recorded) => {
      const next = script.shift() ?? ok;
      next(res, recorded);
    });
    const configFile = path.join(configDir, 'pipes.json');
    writeFileSync(
      configFile,
      // One request every 2 s: the throttle test's three calls must fall in one interval even on a slow machine.
      JSON.stringify({ relay_throttle: { throttled: { requests_per_second: 0.5, burst: 1 } } }),
    );
    pipes = await startTestPipes({
      env: { PIPES_CONFIG_FILE: configFile },
      startOptions: {
        relayDeps: deps,
        relay: { retry: { baseDelayMs: 20, maxDelayMs: 100 }, random: () => 0 },
      },
    });
    deps.bind(pipes.server.ctx);
    env = (await requireEnvironment(pipes.server.ctx.store.db, 'sandbox')).id;
    account('plain', testProvider('plain', provider.url));
    account('refreshable', testProvider('refreshable', provider.url), 'tok-refreshable-fresh');
    account('dead', testProvider('dead', provider.url), null);
    account(
      'limited',
      testProvider('limited', provider.url, {
        rate_limit: {
          reset_header: 'x-rate-reset',
          remaining_header: 'x-rate-remaining',
          reset_unit: 'epoch_ms',
        },
      }),
    );
    account(
      'quota',
      testProvider('quota', provider.url, {
        rate_limit: {
          reset_header: 'x-rate-reset',
          remaining_header: 'x-rate-remaining',
          reset_unit: 'epoch_ms',
        },
      }),
    );
    account('throttled', testProvider('throttled', provider.url));
    // GitHub's rate-limit headers: its spent limits answer 403, not 429.
    const githubLike = {
      rate_limit: {
        retry_after_header: 'retry-after',
        reset_header: 'x-rate-reset',
        remaining_header: 'x-rate-remaining',
        reset_unit: 'epoch_ms' as const,
      },
    };
    account('gh-soon', testProvider('gh-soon', provider.url, githubLike));
    account('gh-later', testProvider('gh-later', provider.url, githubLike));
    account(
      'gh-quotas',
      testProvider('gh-quotas', provider.url, {
        rate_limit: { ...githubLike.rate_limit, resource_header: 'x-rate-resource' },
      }),
    );
  });
  after(async () => {
    await pipes.close();
    await provider.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const call = (
    slug: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${pipes.url}/relay/${slug}/thing`, {
      method: init.method ?? 'GET',
      headers: { ...relayHeaders(pipes.sandboxKey), ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  const hitsDuring = async (fn: () => Promise<void>) => {
    const before = provider.requests.length;
    await fn();
    return provider.requests.slice(before);
  };

  test('calls the provider answers at the same moment each get their own answer', async () => {
    // The provider holds every request until all have come, then answers them in one go: their responses reach the
    // relay in the same turn and are written to the callers together (src/relay/reply-batch.ts).
    const count = 24;
    const held: Array<() => void> = [];
    script = Array.from({ length: count }, () => (res: ServerResponse, recorded: RecordedRequest) => {
      held.push(() => json(res, 200, { url: recorded.url }));
      if (held.length === count) for (const answer of held.splice(0)) answer();
    });
    const responses = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        fetch(`${pipes.url}/relay/plain/items/${i}`, { headers: relayHeaders(pipes.sandboxKey) }),
      ),
    );
    for (const [i, response] of responses.entries()) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('pipes-upstream'), 'true');
      assert.deepEqual(await bodyOf(response), { url: `/items/${i}` });
    }
    assert.equal(script.length, 0);
  });

  test('a 429 with Retry-After is waited out and retried, then succeeds', async () => {
    script = [(res) => json(res, 429, { error: 'slow down' }, { 'retry-after': '1' }), ok];
    const hits = await hitsDuring(async () => {
      const response = await call('plain');
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('pipes-attempts'), '2');
      assert.deepEqual(await bodyOf(response), { ok: true });
    });
    assert.equal(hits.length, 2);
  });

  test('a 429 whose wait exceeds the budget is passed through at once, with the wait advertised', async () => {
    script = [(res) => json(res, 429, { error: 'slow down' }, { 'retry-after': '120' })];
    const hits = await hitsDuring(async () => {
      const response = await call('plain');
      assert.equal(response.status, 429);
      assert.equal(response.headers.get('retry-after'), '120');
      assert.equal(response.headers.get('pipes-upstream'), 'true');
      assert.deepEqual(await bodyOf(response), { error: 'slow down' });
    });
    assert.equal(hits.length, 1);

    // Pipes-Retry-Max-Ms: 0 means no retries at all.
    script = [(res) => json(res, 429, {}, { 'retry-after': '1' })];
    const noRetry = await hitsDuring(async () => {
      const response = await call('plain', { headers: { 'pipes-retry-max-ms': '0' } });
      assert.equal(response.status, 429);
      await response.arrayBuffer();
    });
    assert.equal(noRetry.length, 1);

    const bad = await call('plain', { headers: { 'pipes-retry-max-ms': 'soon' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('pipes-error'), 'invalid_header');
  });

  test("the catalog's rate-limit headers drive the wait, and the attempts are bounded", async () => {
    const soon = () => String(Date.now() + 100);
    script = [
      (res) => json(res, 429, {}, { 'x-rate-remaining': '0', 'x-rate-reset': soon() }),
      (res) => json(res, 429, {}, { 'x-rate-remaining': '0', 'x-rate-reset': soon() }),
      (res) =>
        json(
          res,
          429,
          { last: true },
          { 'x-rate-remaining': '0', 'x-rate-reset': String(Date.now() + 5000) },
        ),
    ];
    const hits = await hitsDuring(async () => {
      const response = await call('limited', { headers: { 'pipes-retry-max-ms': '2000' } });
      assert.equal(response.status, 429);
      assert.equal(response.headers.get('pipes-attempts'), '3');
      // No Retry-After from the provider: the relay advertises the reset it read.
      assert.match(response.headers.get('retry-after') ?? '', /^[1-5]$/);
      assert.deepEqual(await bodyOf(response), { last: true });
    });
    assert.equal(hits.length, 3);
  });

  test('a response saying the quota is spent holds the next call until the reset', async () => {
    script = [
      // The reset is far enough off (1.5 s) that a slow machine still makes the second call before it.
      (res) => json(res, 200, {}, { 'x-rate-remaining': '0', 'x-rate-reset': String(Date.now() + 1500) }),
      ok,
    ];
    const first = await call('quota');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('pipes-throttled-ms'), null);
    await first.arrayBuffer();
    const second = await call('quota');
    assert.equal(second.status, 200);
    assert.ok(Number(second.headers.get('pipes-throttled-ms')) > 0);
    await second.arrayBuffer();
  });

  test('a spent quota the response names (GitHub search) does not hold calls that count against another', async () => {
    /** A 200 whose quota is spent until 50 s from now, naming that quota when `resource` is given. */
    const spent =
      (resource?: string): Answer =>
      (res) =>
        json(
          res,
          200,
          { items: [] },
          {
            'x-rate-remaining': '0',
            'x-rate-reset': String(Date.now() + 50_000),
            ...(resource !== undefined ? { 'x-rate-resource': resource } : {}),
          },
        );
    script = [spent('search'), (res) => json(res, 200, { login: 'octocat' }, { 'x-rate-resource': 'core' })];
    const named = await hitsDuring(async () => {
      const search = await call('gh-quotas');
      assert.equal(search.status, 200);
      await search.arrayBuffer();
      const next = await call('gh-quotas');
      assert.equal(next.status, 200);
      assert.equal(next.headers.get('pipes-throttled-ms'), null);
      assert.deepEqual(await bodyOf(next), { login: 'octocat' });
    });
    assert.equal(named.length, 2);

    // The same provider without the header in the response: the spent quota is the connection's, held until reset.
    script = [spent()];
    const unnamed = await hitsDuring(async () => {
      const first = await call('gh-quotas');
      assert.equal(first.status, 200);
      await first.arrayBuffer();
      const held = await call('gh-quotas');
      assert.equal(held.status, 429);
      assert.equal(held.headers.get('pipes-error'), 'relay_throttled');
      const advertised = Number(held.headers.get('retry-after'));
      // The reset less the time since the answer (seconds, rounded up): a slow machine may take a few of them.
      assert.ok(advertised >= 45 && advertised <= 50, String(advertised));
      await held.arrayBuffer();
    });
    assert.equal(unnamed.length, 1);
  });

  test("a 403 that is the provider's rate limit is treated like a 429; any other 403 is a refusal", async () => {
    // A spent limit that resets soon: waited out and retried, even for a POST (it was not applied).
    /** GitHub's answer when the primary rate limit is spent until `resetInMs` from now. */
    const spent =
      (resetInMs: number): Answer =>
      (res) =>
        json(
          res,
          403,
          { message: 'API rate limit exceeded' },
          { 'x-rate-remaining': '0', 'x-rate-reset': String(Date.now() + resetInMs) },
        );
    script = [spent(100), ok];
    const retried = await hitsDuring(async () => {
      const response = await call('gh-soon', { method: 'POST', body: '{"n":1}' });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('pipes-attempts'), '2');
      await response.arrayBuffer();
    });
    assert.equal(retried.length, 2);
    assert.equal(retried[1]?.body.toString(), '{"n":1}');

    // A permission refusal on the same provider: passed through at once, never retried.
    script = [(res) => json(res, 403, { message: 'Resource not accessible by integration' })];
    const refused = await hitsDuring(async () => {
      const response = await call('gh-soon');
      assert.equal(response.status, 403);
      assert.equal(response.headers.get('retry-after'), null);
      assert.equal(response.headers.get('pipes-attempts'), null);
      await response.arrayBuffer();
    });
    assert.equal(refused.length, 1);

    // A secondary limit (403 with Retry-After) beyond the budget: passed through at once, its Retry-After kept.
    script = [(res) => json(res, 403, { message: 'secondary rate limit' }, { 'retry-after': '60' })];
    const secondary = await hitsDuring(async () => {
      const response = await call('gh-later');
      assert.equal(response.status, 403);
      assert.equal(response.headers.get('retry-after'), '60');
      await response.arrayBuffer();
    });
    assert.equal(secondary.length, 1);

    // A spent primary limit beyond the budget: passed through with the reset advertised as Retry-After.
    script = [spent(120_000)];
    const primary = await hitsDuring(async () => {
      const response = await call('gh-later');
      assert.equal(response.status, 403);
      const advertised = Number(response.headers.get('retry-after'));
      assert.ok(advertised >= 115 && advertised <= 120, String(advertised));
      await response.arrayBuffer();
    });
    assert.equal(primary.length, 1);

    // Without rate-limit headers in its catalog entry, a provider's 403 with Retry-After stays a refusal.
    script = [(res) => json(res, 403, {}, { 'retry-after': '1' })];
    const plain = await hitsDuring(async () => {
      const response = await call('plain');
      assert.equal(response.status, 403);
      await response.arrayBuffer();
    });
    assert.equal(plain.length, 1);
  });

  test('a 503 is retried for a GET but not for a POST without Idempotency-Key', async () => {
    script = [(res) => json(res, 503, {}), ok];
    const get = await hitsDuring(async () => {
      const response = await call('plain');
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    });
    assert.equal(get.length, 2);

    script = [(res) => json(res, 503, { busy: true }), ok];
    const post = await hitsDuring(async () => {
      const response = await call('plain', { method: 'POST', body: '{"a":1}' });
      assert.equal(response.status, 503);
      await response.arrayBuffer();
    });
    assert.equal(post.length, 1);
    script = [];
  });

  test('a provider 401 forces one refresh and one retry with the new token (P14)', async () => {
    script = [(res) => json(res, 401, { error: 'expired' }), ok];
    const refreshesBefore = deps.refreshCalls.length;
    const hits = await hitsDuring(async () => {
      const response = await call('refreshable');
      assert.equal(response.status, 200);
      assert.deepEqual(await bodyOf(response), { ok: true });
    });
    assert.equal(deps.refreshCalls.length - refreshesBefore, 1);
    assert.equal(hits.length, 2);
    assert.equal(hits[0]?.headers.authorization, 'Bearer tok-refreshable-original');
    assert.equal(hits[1]?.headers.authorization, 'Bearer tok-refreshable-fresh');
  });

  test('a POST without Idempotency-Key is never replayed after a 401, but its credential is refreshed for the next try; with a key, its body is replayed intact', async () => {
    const acct = deps.accounts.find((a) => a.slug === 'refreshable')!;
    acct.credential = { authMethod: 'oauth', value: 'tok-refreshable-original' };
    acct.refreshTo = 'tok-refreshable-second';
    const refreshesBefore = deps.refreshCalls.length;
    script = [(res) => json(res, 401, { error: 'expired' }), ok];
    const plain = await hitsDuring(async () => {
      const response = await call('refreshable', { method: 'POST', body: '{"n":1}' });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('pipes-upstream'), 'true');
      assert.equal(response.headers.get('pipes-credential-refreshed'), 'true');
      assert.deepEqual(await bodyOf(response), { error: 'expired' });
    });
    assert.equal(plain.length, 1, 'the POST was sent once');
    assert.equal(deps.refreshCalls.length, refreshesBefore + 1, 'the credential was refreshed once');
    // The caller's own next try goes out with the new credential.
    script = [ok];
    const again = await hitsDuring(async () => {
      const response = await call('refreshable', { method: 'POST', body: '{"n":1}' });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('pipes-credential-refreshed'), null);
      await response.arrayBuffer();
    });
    assert.equal(again[0]?.headers.authorization, 'Bearer tok-refreshable-second');
    acct.credential = { authMethod: 'oauth', value: 'tok-refreshable-original' };

    script = [(res) => json(res, 401, { error: 'expired' }), ok];
    const keyed = await hitsDuring(async () => {
      const response = await call('refreshable', {
        method: 'POST',
        body: '{"n":2}',
        headers: { 'idempotency-key': 'op-123', 'content-type': 'application/json' },
      });
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    });
    assert.equal(keyed.length, 2);
    assert.equal(deps.refreshCalls.length, refreshesBefore + 2);
    assert.equal(keyed[0]?.body.toString(), '{"n":2}');
    assert.equal(keyed[1]?.body.toString(), '{"n":2}');
    assert.equal(keyed[1]?.headers['idempotency-key'], 'op-123');
    assert.equal(keyed[1]?.headers.authorization, 'Bearer tok-refreshable-second');
  });

  test('a second 401, or an account that cannot refresh, passes the 401 through untouched', async () => {
    const acct = deps.accounts.find((a) => a.slug === 'refreshable')!;
    acct.refreshTo = 'tok-refreshable-third';
    script = [
      (res) => json(res, 401, { error: 'first' }),
      (res) => json(res, 401, { error: 'still no' }, { 'www-authenticate': 'Bearer error="invalid_token"' }),
    ];
    const refreshesBefore = deps.refreshCalls.length;
    const twice = await hitsDuring(async () => {
      const response = await call('refreshable');
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.deepEqual(await bodyOf(response), { error: 'still no' });
    });
    assert.equal(twice.length, 2);
    assert.equal(deps.refreshCalls.length - refreshesBefore, 1);

    script = [(res) => json(res, 401, { error: 'revoked' })];
    const dead = await hitsDuring(async () => {
      const response = await call('dead');
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('pipes-upstream'), 'true');
      assert.deepEqual(await bodyOf(response), { error: 'revoked' });
    });
    assert.equal(dead.length, 1);
    assert.ok(deps.refreshCalls.includes('acct_dead'));
  });

  test('the configured throttle holds a request back and says so, or refuses it when the budget is 0', async () => {
    script = [];
    const first = await call('throttled');
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    const refused = await call('throttled', { headers: { 'pipes-retry-max-ms': '0' } });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('pipes-error'), 'relay_throttled');
    assert.equal(refused.headers.get('pipes-upstream'), null);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await bodyOf(refused)).error.source, 'pipes');
    const held = await call('throttled');
    assert.equal(held.status, 200);
    assert.ok(Number(held.headers.get('pipes-throttled-ms')) > 0);
    await held.arrayBuffer();
  });
});
