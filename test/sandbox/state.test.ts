import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { ManualClock } from '../../src/lib/clock.ts';
import { createMemorySandboxState, type SandboxStateStore } from '../../src/sandbox/index.ts';
import {
  buildAuthorizeUrl,
  CLIENT,
  callApi,
  exchangeCode,
  parseConsentForm,
  refresh,
  type SandboxHarness,
  startSandbox,
} from './helpers.ts';

describe('sandbox: memory state', () => {
  test('put, get, delete', async () => {
    const state = createMemorySandboxState(new ManualClock(0));
    assert.equal(await state.get('a'), undefined);
    await state.put('a', '1');
    assert.equal(await state.get('a'), '1');
    await state.put('a', '2');
    assert.equal(await state.get('a'), '2');
    await state.delete('a');
    assert.equal(await state.get('a'), undefined);
  });

  test('entries expire with the injected clock', async () => {
    const clock = new ManualClock(1_000);
    const state = createMemorySandboxState(clock);
    await state.put('short', 'x', 500);
    await state.put('forever', 'y');
    clock.advance(499);
    assert.equal(await state.get('short'), 'x');
    clock.advance(1);
    assert.equal(await state.get('short'), undefined);
    assert.equal(await state.takeOnce('short'), undefined);
    clock.advance(10 ** 12);
    assert.equal(await state.get('forever'), 'y');
    await assert.rejects(() => state.put('bad', 'z', 0), RangeError);
  });

  test('takeOnce hands a value to exactly one of concurrent callers', async () => {
    const state = createMemorySandboxState(new ManualClock(0));
    await state.put('code', 'value');
    const results = await Promise.all([
      state.takeOnce('code'),
      state.takeOnce('code'),
      state.takeOnce('code'),
    ]);
    assert.deepEqual(
      results.filter((value) => value !== undefined),
      ['value'],
    );
    assert.equal(await state.get('code'), undefined);
  });

  test('increment counts atomically and keeps the first expiry', async () => {
    const clock = new ManualClock(0);
    const state = createMemorySandboxState(clock);
    const counts = await Promise.all(Array.from({ length: 5 }, () => state.increment('n', 1_000)));
    assert.deepEqual(counts.sort(), [1, 2, 3, 4, 5]);
    clock.advance(999);
    assert.equal(await state.increment('n', 1_000), 6);
    clock.advance(1);
    assert.equal(await state.increment('n', 1_000), 1);
    assert.equal(await state.increment('no-expiry'), 1);
    clock.advance(10 ** 12);
    assert.equal(await state.increment('no-expiry'), 2);
  });
});

/** Observes every key and value the provider writes or reads, without changing behaviour. */
function recording(state: SandboxStateStore, seen: string[]): SandboxStateStore {
  return {
    get(key) {
      seen.push(key);
      return state.get(key);
    },
    put(key, value, ttlMs) {
      seen.push(key, value);
      return state.put(key, value, ttlMs);
    },
    delete(key) {
      seen.push(key);
      return state.delete(key);
    },
    takeOnce(key) {
      seen.push(key);
      return state.takeOnce(key);
    },
    increment(key, ttlMs) {
      seen.push(key);
      return state.increment(key, ttlMs);
    },
  };
}

describe('sandbox: state never holds a secret in plaintext', () => {
  const seen: string[] = [];
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox({ wrapState: (state) => recording(state, seen) });
  });
  after(async () => {
    await h.close();
  });

  test('codes, tokens, consent ids, verifiers and client secrets appear only hashed', async () => {
    const { url, verifier, state } = await buildAuthorizeUrl(h);
    const form = parseConsentForm(await (await fetch(url)).text());
    const decision = await fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams({ request_id: form.requestId, account: 'ada', decision: 'allow' }),
      redirect: 'manual',
    });
    const callback = new URL(decision.headers.get('location') ?? '');
    const code = callback.searchParams.get('code')!;
    const tokens = await exchangeCode(h, { callback, verifier, state });
    await callApi(h, '/user', tokens.access_token);
    const refreshed = await oauth.processRefreshTokenResponse(
      h.as,
      h.client,
      await refresh(h, tokens.refresh_token!),
    );
    await oauth.revocationRequest(h.as, h.client, h.clientAuth, refreshed.refresh_token!, h.httpOptions);

    const secrets = [
      form.requestId,
      code,
      verifier,
      tokens.access_token,
      tokens.refresh_token!,
      refreshed.access_token,
      refreshed.refresh_token!,
      CLIENT.client_secret,
    ];
    assert.ok(seen.length > 20, 'the recording saw the flow');
    for (const secret of secrets) {
      // Checking a long random slice also catches a secret embedded without its prefix.
      const core = secret.slice(-32);
      assert.ok(
        !seen.some((entry) => entry.includes(core)),
        `a secret leaked into the state: ${secret.slice(0, 7)}…`,
      );
    }
  });
});
