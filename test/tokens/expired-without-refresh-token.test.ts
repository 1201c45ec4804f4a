import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { Browser } from '../oauth/browser.ts';
import { confirm, deliver, RETURN_TO, returnedTo, sandboxConsent, sdkFor } from '../oauth/flow-helpers.ts';
import { accountRow, eventsNamed } from './harness.ts';
import { getToken } from './setup.ts';

/**
 * A provider that answers the connect with `expires_in` and no refresh token (Google without offline access): the
 * built-in sandbox without `offline_access`, connected through the real connect flow.
 */
describe('a connection nothing can renew', () => {
  const clock = new ManualClock(Date.now());
  let pipes: TestPipes;
  after(() => pipes.close());

  before(async () => {
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
  });

  /** Connects the user through the sandbox's consent screen; the stored row. */
  async function connect(userId: string) {
    const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId,
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const callback = await sandboxConsent(browser, await confirm(browser, url), { account: 'ada' });
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('status'), 'connected');
    const connected = await accountRow(pipes, back.searchParams.get('connected_account_id')!);
    assert.equal(connected.refresh_token, null);
    assert.ok(connected.expires_at !== null);
    return { ...connected, expires_at: connected.expires_at };
  }

  test('its token is handed out until it expires, then it needs reauthorization, with one event', async () => {
    const connected = await connect('user_1');
    const id = connected.id;
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

  test('the background refresher marks it at its expiry, with its event, though nothing asked for it', async () => {
    const connected = await connect('user_2');
    assert.equal(connected.next_refresh_at, connected.expires_at, 'looked at once more, at its expiry');
    const eventsBefore = (await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length;
    assert.equal(await pipes.server.refresher.runOnce(), 0, 'not due before its expiry');
    assert.equal((await accountRow(pipes, connected.id)).state, 'connected');

    clock.set(connected.expires_at);
    await pipes.server.refresher.runOnce();
    const row = await accountRow(pipes, connected.id);
    assert.equal(row.state, 'needs_reauthorization');
    assert.equal(row.reauthorization_reason, 'token_expired');
    assert.equal(row.next_refresh_at, null);
    const eventsAfter = await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed');
    assert.equal(eventsAfter.length, eventsBefore + 1);
  });
});
