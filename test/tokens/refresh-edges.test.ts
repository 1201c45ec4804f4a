import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { Browser } from '../oauth/browser.ts';
import { confirm, deliver, RETURN_TO, returnedTo, sandboxConsent, sdkFor } from '../oauth/flow-helpers.ts';
import { accountRow, eventsNamed } from './harness.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

const HOUR = 3_600_000;

/** Refresh edge cases found in review: tokens nothing can renew, failures that race a new grant, unknown outcomes. */
describe('token refresh edges', () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    pipes = await startTestPipes({ clock });
  });
  afterEach(async () => {
    await pipes.close();
    await provider?.stop();
  });

  test('a refresh of the old grant that fails after the tokens were replaced leaves the new grant untouched', async () => {
    provider = await new FakeProvider({ rotation: 'none' }).start();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });
    provider.holdNext(1);
    provider.scripted.push({ status: 503, body: '{}', headers: { 'retry-after': '60' } });
    const pending = getToken(pipes, pipes.sandboxKey);
    await provider.waitForHeld(1);
    // While the old grant's refresh is at the provider, the app stores a new grant.
    const next = provider.issueGrant();
    const replaced = await api(pipes, 'PUT', '/user_management/users/user_1/connected_accounts/acme', {
      key: pipes.sandboxKey,
      body: {
        access_token: next.accessToken,
        refresh_token: next.refreshToken,
        expires_at: new Date(clock.now() + HOUR).toISOString(),
      },
    });
    assert.equal(replaced.status, 200, replaced.text);
    const fresh = await accountRow(pipes, account.id);
    provider.releaseHeld();
    await pending;

    const row = await accountRow(pipes, account.id);
    assert.equal(row.refresh_failures, 0);
    assert.equal(row.refresh_cooldown_until, null);
    assert.equal(row.last_refresh_outcome, fresh.last_refresh_outcome);
    assert.equal(row.next_refresh_at, fresh.next_refresh_at, 'the new grant is not rescheduled');
    const vended = await getToken(pipes, pipes.sandboxKey);
    assert.equal(vended.json.access_token.access_token, next.accessToken);
  });

  test('an attempt whose answer was lost keeps the outcome unknown even when a later attempt fails plainly', async () => {
    provider = await new FakeProvider({ rotation: 'rotate' }).start();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });
    // The first answer never arrives (the provider may have rotated the token); the retry gets a plain 503.
    provider.scripted.push({ drop: true }, { status: 503, body: '{}', headers: { 'retry-after': '60' } });
    const failed = await getToken(pipes, pipes.sandboxKey);
    assert.equal(failed.status, 503, failed.text);
    assert.equal(provider.refreshCount(), 2);
    const row = await accountRow(pipes, account.id);
    assert.equal(row.refresh_attempt_version, row.token_version, 'the journal stays open');

    // After the cool-down, the provider refuses the refresh token: whether it was rotated is unknown, and the
    // account says so.
    clock.advance(61_000);
    provider.scripted.push({ status: 400, body: JSON.stringify({ error: 'invalid_grant' }) });
    const after = await getToken(pipes, pipes.sandboxKey);
    assert.deepEqual(after.json, { active: false, error: 'needs_reauthorization' });
    assert.equal((await accountRow(pipes, account.id)).reauthorization_reason, 'refresh_outcome_unknown');
  });
});

/**
 * A provider that answers the connect with `expires_in` and no refresh token (Google without offline access): the
 * built-in sandbox without `offline_access`, connected through the real connect flow.
 */
describe('a connection nothing can renew', () => {
  const clock = new ManualClock(Date.now());
  let pipes: TestPipes;
  after(() => pipes.close());

  test('its token is handed out until it expires, then it needs reauthorization, with one event', async () => {
    pipes = await startPublicTestPipes({ clock });
    const created = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: {
        provider: 'sandbox',
        enabled: true,
        scopes: ['profile', 'items:read'],
        credentials: { type: 'shared' },
      },
    });
    assert.equal(created.status, 201, created.text);
    const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId: 'user_1',
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const callback = await sandboxConsent(browser, await confirm(browser, url), { account: 'ada' });
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('status'), 'connected');
    const id = back.searchParams.get('connected_account_id')!;
    const connected = await accountRow(pipes, id);
    assert.equal(connected.refresh_token, null);
    assert.ok(connected.expires_at !== null);

    const relayUser = () =>
      fetch(`${pipes.url}/relay/sandbox/user`, {
        headers: { authorization: `Bearer ${pipes.sandboxKey}`, 'pipes-user-id': 'user_1' },
      });
    const before = await getToken(pipes, pipes.sandboxKey, 'user_1', 'sandbox');
    assert.equal(before.json.active, true, before.text);
    assert.equal((await relayUser()).status, 200);

    // Past its expiry: never handed out again, by vending or by the relay (both had memoized their answers).
    clock.set(connected.expires_at);
    for (let i = 0; i < 2; i++) {
      const after = await getToken(pipes, pipes.sandboxKey, 'user_1', 'sandbox');
      assert.deepEqual(after.json, { active: false, error: 'needs_reauthorization' });
      const relayed = await relayUser();
      assert.equal(relayed.status, 424);
      assert.equal(relayed.headers.get('pipes-error'), 'needs_reauthorization');
    }
    const row = await accountRow(pipes, id);
    assert.equal(row.state, 'needs_reauthorization');
    assert.equal(row.reauthorization_reason, 'token_expired');
    assert.equal((await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length, 1);
  });
});
