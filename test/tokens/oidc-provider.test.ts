import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { testEngine } from '../helpers/database.ts';
import type { TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { accountRow, eventsNamed, storedSecret } from './harness.ts';
import { connectThroughOidc } from './oidc-connect.ts';
import { type OidcRefreshServer, startOidcRefreshServer } from './oidc-server.ts';
import { getToken } from './setup.ts';

const CLIENT_SECRET = 'oidc-refresh-client-secret-5f0e9d8c';
const SLUG = 'acme-oidc';
const TTL_SECONDS = 30;

/**
 * oidc-provider as a real provider behind a custom integration: the grant comes from the Pipes connect flow, then
 * the token service refreshes it against a spec-following server with short access-token lifetimes, with refresh
 * token rotation on and off, and finally the grant is revoked at the provider.
 */
describe(`token service against oidc-provider (${testEngine()})`, () => {
  let pipes: TestPipes | undefined;
  let oidc: OidcRefreshServer | undefined;
  afterEach(async () => {
    await oidc?.close();
    await pipes?.close();
  });

  async function connect(rotateRefreshToken: boolean) {
    const clock = new ManualClock();
    pipes = await startPublicTestPipes({ clock, startOptions: { refresher: { background: false } } });
    oidc = await startOidcRefreshServer({ rotateRefreshToken, accessTokenTtlSeconds: TTL_SECONDS });
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const integration = await workos.pipes.createDataIntegration({
      provider: SLUG,
      enabled: true,
      scopes: ['openid', 'offline_access'],
      credentials: { type: 'custom', clientId: 'pipes-client', clientSecret: CLIENT_SECRET },
      customProvider: {
        name: 'Acme OIDC',
        authorizationUrl: `${oidc.issuer}/auth`,
        tokenUrl: `${oidc.issuer}/token`,
        pkceEnabled: true,
        additionalAuthorizationParameters: { prompt: 'consent' },
        authenticateVia: 'request_body',
      },
    });
    oidc.configure({
      clientId: 'pipes-client',
      clientSecret: CLIENT_SECRET,
      redirectUri: integration.redirectUri,
    });
    const accountId = await connectThroughOidc(pipes, SLUG, 'user_oidc');
    return { pipes, oidc, clock, accountId };
  }

  const vend = async (p: TestPipes) => {
    const result = await getToken(p, p.sandboxKey, 'user_oidc', SLUG);
    assert.equal(result.status, 200, result.text);
    return result.json;
  };

  test('rotation on: refreshes store each new refresh token; a reused old one revokes the grant → needs_reauthorization', async () => {
    const { pipes, oidc, clock, accountId } = await connect(true);
    const granted = await accountRow(pipes, accountId);
    const firstRefresh = storedSecret(pipes.server.ctx, granted, 'refresh_token')!;
    assert.ok(firstRefresh, 'offline_access + prompt=consent gave a refresh token');
    assert.ok(granted.expires_at! <= clock.now() + TTL_SECONDS * 1000, 'the short lifetime was recorded');

    const initial = await vend(pipes);
    assert.equal(initial.active, true);
    assert.equal(await oidc.userinfo(initial.access_token.access_token), 200, 'the provider accepts it');
    assert.equal(oidc.refreshRequests, 0, 'a fresh token is not refreshed');

    const seen = new Set([firstRefresh]);
    let previous = initial.access_token.access_token as string;
    for (let round = 1; round <= 3; round++) {
      clock.advance(TTL_SECONDS * 1000);
      // Twenty callers at once share one refresh: a second one would replay a used token and kill the grant.
      const all = await Promise.all(Array.from({ length: 20 }, () => vend(pipes)));
      assert.equal(new Set(all.map((r) => r.access_token?.access_token)).size, 1, `round ${round}`);
      const refreshed = all[0]!;
      assert.equal(refreshed.active, true, `round ${round}`);
      assert.notEqual(refreshed.access_token.access_token, previous);
      assert.equal(await oidc.userinfo(refreshed.access_token.access_token), 200);
      assert.equal(oidc.refreshRequests, round);
      const row = await accountRow(pipes, accountId);
      const stored = storedSecret(pipes.server.ctx, row, 'refresh_token')!;
      assert.ok(!seen.has(stored), 'each refresh stored the rotated refresh token');
      seen.add(stored);
      previous = refreshed.access_token.access_token;
    }

    // A stale copy of the first refresh token is used elsewhere: oidc-provider detects the replay, revokes the grant.
    const replay = await oidc.refreshDirectly(firstRefresh);
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal(await oidc.userinfo(previous), 401, 'the whole grant is gone at the provider');

    clock.advance(TTL_SECONDS * 1000);
    const before = oidc.refreshRequests;
    assert.deepEqual(await vend(pipes), { active: false, error: 'needs_reauthorization' });
    assert.equal(oidc.refreshRequests, before + 1, 'one refresh attempt found the grant revoked');
    const row = await accountRow(pipes, accountId);
    assert.equal(row.state, 'needs_reauthorization');
    assert.equal(row.reauthorization_reason, 'invalid_grant');
    assert.equal((await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length, 1);
    clock.advance(3600_000);
    assert.deepEqual(await vend(pipes), { active: false, error: 'needs_reauthorization' });
    assert.equal(oidc.refreshRequests, before + 1, 'no retry loop');
  });

  test('rotation off: the same refresh token keeps working; revoking it at the provider → needs_reauthorization', async () => {
    const { pipes, oidc, clock, accountId } = await connect(false);
    const refreshToken = storedSecret(pipes.server.ctx, await accountRow(pipes, accountId), 'refresh_token')!;
    let previous = (await vend(pipes)).access_token.access_token as string;
    for (let round = 1; round <= 3; round++) {
      clock.advance(TTL_SECONDS * 1000);
      const refreshed = await vend(pipes);
      assert.equal(refreshed.active, true);
      assert.notEqual(refreshed.access_token.access_token, previous);
      assert.equal(await oidc.userinfo(refreshed.access_token.access_token), 200);
      previous = refreshed.access_token.access_token;
      const row = await accountRow(pipes, accountId);
      assert.equal(storedSecret(pipes.server.ctx, row, 'refresh_token'), refreshToken, 'kept as it is');
      assert.equal(row.token_version, round + 1);
    }
    assert.equal(oidc.refreshRequests, 3);

    // The user revokes the app at the provider.
    assert.equal(await oidc.revoke(refreshToken), 200);
    clock.advance(TTL_SECONDS * 1000);
    assert.deepEqual(await vend(pipes), { active: false, error: 'needs_reauthorization' });
    assert.equal(oidc.refreshRequests, 4);
    assert.equal((await accountRow(pipes, accountId)).state, 'needs_reauthorization');
    assert.equal((await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length, 1);
    assert.ok(!pipes.logs.text().includes(refreshToken), 'no refresh token in the logs');
    assert.ok(!pipes.logs.text().includes(CLIENT_SECRET), 'no client secret in the logs');
  });
});
