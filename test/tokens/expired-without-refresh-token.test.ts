import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { RevokedGrantCheck } from '../../src/tokens/revoked-grant.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { Browser } from '../oauth/browser.ts';
import { confirm, deliver, RETURN_TO, returnedTo, sandboxConsent, sdkFor } from '../oauth/flow-helpers.ts';
import { accountRow, eventsNamed } from './harness.ts';
import { getToken } from './setup.ts';

/**
 * A provider that answers the connect with `expires_in` and no refresh token (Google without offline access): the
 * built-in sandbox without `offline_access`, connected through the real connect flow. Such a grant dies at its
 * expiry, or when the user revokes it (GitHub OAuth apps, Shopify, Intercom, Mailchimp, Google without offline
 * access): the provider answers 401, a refresh has nothing to try, and the provider's identity endpoint settles
 * whether the grant is dead (src/tokens/revoked-grant.ts).
 */
describe('a connection nothing can renew', () => {
  const clock = new ManualClock(Date.now());
  let pipes: TestPipes;
  /** A stand-in identity endpoint: how it answers, and what it was sent. */
  let identity: Server;
  const endpoint = { status: 200, delayMs: 0, authorizations: [] as string[] };
  after(async () => {
    await pipes.close();
    identity.close();
  });

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
    identity = createServer((req, res) => {
      endpoint.authorizations.push(req.headers.authorization ?? '');
      setTimeout(() => {
        res.writeHead(endpoint.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(endpoint.status === 200 ? { sub: 'alan', name: 'Alan' } : { error: 'x' }));
      }, endpoint.delayMs);
    });
    await new Promise<void>((resolve) => identity.listen(0, '127.0.0.1', resolve));
  });

  /** Connects the user through the sandbox's consent screen, as the sandbox `account`; the stored row. */
  async function connect(userId: string, account = 'ada') {
    const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId,
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const callback = await sandboxConsent(browser, await confirm(browser, url), { account });
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('status'), 'connected');
    const connected = await accountRow(pipes, back.searchParams.get('connected_account_id')!);
    assert.equal(connected.refresh_token, null);
    assert.ok(connected.expires_at !== null);
    assert.ok(
      connected.account_identifier !== null,
      'the identity endpoint accepted the token at connect time',
    );
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

  test('through the relay: the 401 is confirmed at the identity endpoint, the calls get 424 and one event', async () => {
    const connected = await connect('user_revoked', 'grace');
    const relayUser = () =>
      fetch(`${pipes.url}/relay/sandbox/user`, {
        headers: { authorization: `Bearer ${pipes.sandboxKey}`, 'pipes-user-id': 'user_revoked' },
      });
    assert.equal((await relayUser()).status, 200);
    const eventsBefore = (await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length;

    // The user revokes Pipes' access at the provider (the sandbox's stand-in for a provider's "revoke access").
    const revoked = await fetch(`${pipes.url}/sandbox/admin/accounts/grace/revoke`, { method: 'POST' });
    assert.equal(revoked.status, 200);

    // Two calls at once: both refused by the provider, one identity check, both told at once.
    const answers = await Promise.all([relayUser(), relayUser()]);
    for (const answer of answers) {
      assert.equal(answer.status, 424, await answer.clone().text());
      assert.equal(answer.headers.get('pipes-error'), 'needs_reauthorization');
      assert.equal(((await answer.json()) as { error: { source: string } }).error.source, 'pipes');
    }
    const row = await accountRow(pipes, connected.id);
    assert.equal(row.state, 'needs_reauthorization');
    assert.equal(row.reauthorization_reason, 'token_revoked');
    const eventsAfter = await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed');
    assert.equal(eventsAfter.length, eventsBefore + 1, 'one event');
    // Vending says so too, and the relay no longer calls the provider.
    const vended = await getToken(pipes, pipes.sandboxKey, 'user_revoked', 'sandbox');
    assert.deepEqual(vended.json, { active: false, error: 'needs_reauthorization' });
    assert.equal((await relayUser()).status, 424);
  });

  /** A revocation check of its own, and the sandbox provider with its identity endpoint moved to the stand-in. */
  function checkWithStandIn() {
    const ctx = pipes.server.ctx;
    const sandbox = ctx.catalog.get('sandbox');
    assert.ok(sandbox?.account !== undefined);
    return {
      check: new RevokedGrantCheck(ctx, ctx.tokens.refresher),
      provider: {
        ...sandbox,
        account: {
          ...sandbox.account,
          url: `http://127.0.0.1:${(identity.address() as AddressInfo).port}/me`,
        },
      },
    };
  }

  test('an identity endpoint that accepts the token, or cannot tell, leaves the connection alone, asked once a minute', async () => {
    const connected = await connect('user_alive', 'alan');
    const { check, provider } = checkWithStandIn();
    const token = (await getToken(pipes, pipes.sandboxKey, 'user_alive', 'sandbox')).json.access_token
      .access_token as string;
    const eventsBefore = (await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length;

    // Not asked for connections the check cannot judge: a refresh token renews them, no identity was read, or the
    // token did not come from Pipes' connect flow (imported or put through the API: no token_issued_at).
    assert.equal(
      await check.confirm({ ...connected, refresh_token: Buffer.from('sealed') }, provider, {}, token),
      null,
    );
    assert.equal(await check.confirm({ ...connected, account_identifier: null }, provider, {}, token), null);
    assert.equal(await check.confirm({ ...connected, token_issued_at: null }, provider, {}, token), null);
    assert.equal(endpoint.authorizations.length, 0);

    // Accepted: the 401 was about that call alone. The token went as the provider's API takes it.
    assert.equal(await check.confirm(connected, provider, {}, token), null);
    assert.deepEqual(endpoint.authorizations, [`Bearer ${token}`]);
    // A provider that keeps answering 401 costs one identity call a minute, even once the endpoint would refuse.
    endpoint.status = 401;
    assert.equal(await check.confirm(connected, provider, {}, token), null);
    assert.equal(endpoint.authorizations.length, 1);

    // An answer that proves nothing (503) does not mark the connection either.
    clock.advance(RevokedGrantCheck.QUIET_MS);
    endpoint.status = 503;
    assert.equal(await check.confirm(connected, provider, {}, token), null);
    assert.equal(endpoint.authorizations.length, 2);
    assert.equal((await accountRow(pipes, connected.id)).state, 'connected');

    // A 401 from the identity endpoint too: marked once, however many callers ask at the same moment.
    clock.advance(RevokedGrantCheck.QUIET_MS);
    endpoint.status = 401;
    endpoint.delayMs = 50;
    const verdicts = await Promise.all([1, 2, 3].map(() => check.confirm(connected, provider, {}, token)));
    assert.deepEqual(
      verdicts.map((v) => v?.kind),
      ['needs_reauthorization', 'needs_reauthorization', 'needs_reauthorization'],
    );
    assert.equal(endpoint.authorizations.length, 3);
    const row = await accountRow(pipes, connected.id);
    assert.equal(row.state, 'needs_reauthorization');
    assert.equal(row.reauthorization_reason, 'token_revoked');
    const eventsAfter = await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed');
    assert.equal(eventsAfter.length, eventsBefore + 1);
  });

  test('a connection reconnected while its old token was checked is served with its new token, not marked', async () => {
    const first = await connect('user_again', 'alan');
    const { check, provider } = checkWithStandIn();
    const oldToken = (await getToken(pipes, pipes.sandboxKey, 'user_again', 'sandbox')).json.access_token
      .access_token as string;
    const again = await connect('user_again', 'alan');
    assert.equal(again.id, first.id);
    const newToken = (await getToken(pipes, pipes.sandboxKey, 'user_again', 'sandbox')).json.access_token
      .access_token as string;
    assert.notEqual(newToken, oldToken);
    const eventsBefore = (await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length;

    // The old token, refused everywhere, as a relayed call that started before the reconnect still holds it.
    endpoint.status = 401;
    endpoint.delayMs = 0;
    const verdict = await check.confirm(first, provider, {}, oldToken);
    assert.equal(verdict?.kind, 'fresh');
    assert.equal(verdict?.kind === 'fresh' ? verdict.accessToken : null, newToken);
    assert.equal((await accountRow(pipes, first.id)).state, 'connected');
    assert.equal(
      (await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length,
      eventsBefore,
    );
  });
});
