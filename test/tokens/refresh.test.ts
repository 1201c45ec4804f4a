import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { createFakeIntegration, getToken, importGrant, replaceGrant } from './setup.ts';

async function events(pipes: TestPipes, name: string) {
  return pipes.server.ctx.store.db.selectFrom('events').selectAll().where('event', '=', name).execute();
}

async function accountRow(pipes: TestPipes, id: string) {
  return pipes.server.ctx.store.db
    .selectFrom('connected_accounts')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

describe('token vending and refresh', () => {
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

  test('an expired token is refreshed once, the fresh one is returned with its scopes, and the next call reuses it', async () => {
    provider = await new FakeProvider({ rotation: 'none', accessTokenTtlSeconds: 3600 }).start();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider, 'acme', ['read', 'write']);
    const { grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });

    const workos = sdkFor(pipes, pipes.sandboxKey);
    const first = await workos.pipes.getAccessToken({ provider: 'acme', userId: 'user_1' });
    assert.equal(first.active, true);
    if (!first.active) return;
    assert.notEqual(first.accessToken.accessToken, grant.accessToken);
    assert.ok(provider.accessTokens.has(first.accessToken.accessToken));
    assert.ok(
      first.accessToken.expiresAt instanceof Date && first.accessToken.expiresAt.getTime() > clock.now(),
    );
    assert.deepEqual(first.accessToken.scopes, ['read', 'write']);
    assert.deepEqual(first.accessToken.missingScopes, []);
    assert.equal(provider.refreshCount(), 1);

    const second = await getToken(pipes, pipes.sandboxKey);
    assert.equal(second.json.access_token.access_token, first.accessToken.accessToken);
    assert.equal(second.headers.get('cache-control'), 'no-store');
    assert.equal(provider.refreshCount(), 1, 'a fresh token is not refreshed again');

    // A response without a refresh token keeps the old one (R5): the next refresh still works with it.
    clock.advance(3600_000);
    const third = await getToken(pipes, pipes.sandboxKey);
    assert.equal(third.json.active, true);
    assert.notEqual(third.json.access_token.access_token, first.accessToken.accessToken);
    assert.deepEqual(
      provider.tokenRequests.map((r) => r.refreshToken),
      [grant.refreshToken, grant.refreshToken],
    );
  });

  test('concurrent callers in one process share one refresh, and a rotated refresh token replaces the old one', async () => {
    provider = await new FakeProvider({ rotation: 'rotate', graceSeconds: 0, refreshDelayMs: 100 }).start();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1),
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => getToken(pipes, pipes.sandboxKey)));
    const tokens = new Set(results.map((r) => r.json.access_token?.access_token));
    assert.equal(provider.refreshCount(), 1);
    assert.equal(tokens.size, 1);
    const row = await accountRow(pipes, account.id);
    assert.equal(row.token_version, 2);

    // The next refresh must use the NEW refresh token (the old one would revoke the whole family).
    clock.advance(7200_000);
    const again = await getToken(pipes, pipes.sandboxKey);
    assert.equal(again.json.active, true, again.text);
    assert.equal(provider.refreshCount(), 2);
    assert.notEqual(provider.tokenRequests[1]!.refreshToken, provider.tokenRequests[0]!.refreshToken);
  });

  test('invalid_grant marks the account needs_reauthorization once, with one event, and stops calling the provider', async () => {
    provider = await new FakeProvider({ rotation: 'none' }).start();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1),
    });
    provider.scripted.push({
      status: 400,
      body: JSON.stringify({ error: 'invalid_grant', error_description: 'revoked' }),
    });
    const results = await Promise.all(Array.from({ length: 5 }, () => getToken(pipes, pipes.sandboxKey)));
    for (const r of results) assert.deepEqual(r.json, { active: false, error: 'needs_reauthorization' });
    assert.equal(provider.refreshCount(), 1);
    const later = await getToken(pipes, pipes.sandboxKey);
    assert.deepEqual(later.json, { active: false, error: 'needs_reauthorization' });
    assert.equal(provider.refreshCount(), 1, 'no retry loop');
    const row = await accountRow(pipes, account.id);
    assert.equal(row.state, 'needs_reauthorization');
    assert.equal(row.reauthorization_reason, 'invalid_grant');
    assert.equal((await events(pipes, 'pipes.connected_account.reauthorization_needed')).length, 1);
    const fetched = await api(pipes, 'GET', '/user_management/users/user_1/connected_accounts/acme', {
      key: pipes.sandboxKey,
    });
    assert.equal(fetched.json.state, 'needs_reauthorization');
  });

  test('a 5xx or timeout never breaks the account: it cools down, then succeeds with the same refresh token', async () => {
    provider = await new FakeProvider({ rotation: 'none' }).start();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const { account, grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1),
    });
    for (let i = 0; i < 3; i++)
      provider.scripted.push({ status: 503, body: '{"error":"temporarily_unavailable"}' });
    const failed = await getToken(pipes, pipes.sandboxKey);
    assert.equal(failed.status, 503);
    assert.equal(failed.json.code, 'refresh_temporarily_unavailable');
    assert.ok(Number(failed.headers.get('retry-after')) >= 1);
    const calls = provider.refreshCount();
    assert.equal(calls, 3, 'one try plus two immediate retries');
    assert.equal((await accountRow(pipes, account.id)).state, 'connected');

    const cooling = await getToken(pipes, pipes.sandboxKey);
    assert.equal(cooling.status, 503);
    assert.equal(provider.refreshCount(), calls, 'no call during the cool-down');

    clock.advance(31_000);
    const recovered = await getToken(pipes, pipes.sandboxKey);
    assert.equal(recovered.json.active, true);
    assert.ok(provider.tokenRequests.every((r) => r.refreshToken === grant.refreshToken));
    assert.equal((await events(pipes, 'pipes.connected_account.reauthorization_needed')).length, 0);
  });

  test('not installed, missing_scopes after the integration changes, and a ciphertext moved to another row', async () => {
    provider = await new FakeProvider({ rotation: 'none' }).start();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider, 'acme', ['read']);
    assert.deepEqual((await getToken(pipes, pipes.sandboxKey, 'nobody')).json, {
      active: false,
      error: 'not_installed',
    });
    const a = await importGrant(pipes, pipes.sandboxKey, provider, {
      userId: 'user_a',
      expiresAt: new Date(clock.now() + 3600_000),
    });
    const b = await importGrant(pipes, pipes.sandboxKey, provider, {
      userId: 'user_b',
      expiresAt: new Date(clock.now() + 3600_000),
    });
    const tokenA = await getToken(pipes, pipes.sandboxKey, 'user_a');
    assert.equal(tokenA.json.access_token.access_token, a.grant.accessToken);
    assert.deepEqual(tokenA.json.access_token.missing_scopes, []);

    const updated = await api(pipes, 'PUT', '/data-integrations/acme', {
      key: pipes.sandboxKey,
      body: { scopes: ['read', 'admin'] },
    });
    assert.equal(updated.status, 200, updated.text);
    const afterChange = await getToken(pipes, pipes.sandboxKey, 'user_a');
    assert.deepEqual(afterChange.json.access_token.missing_scopes, ['admin']);

    // Another environment never sees it.
    assert.equal((await getToken(pipes, pipes.productionKey, 'user_a')).status, 404);

    // V2 / named case 4: A's ciphertext copied into B's row fails to decrypt; B never gets A's token.
    const rowA = await accountRow(pipes, a.account.id);
    await pipes.server.ctx.store.db
      .updateTable('connected_accounts')
      .set({ access_token: rowA.access_token })
      .where('id', '=', b.account.id)
      .execute();
    const stolen = await getToken(pipes, pipes.sandboxKey, 'user_b');
    assert.equal(stolen.status, 500);
    assert.equal(stolen.json.code, 'credential_unreadable');
    assert.ok(!stolen.text.includes(a.grant.accessToken));
    assert.ok(!pipes.logs.text().includes(a.grant.accessToken), 'no token in the logs');
    assert.ok(!pipes.logs.text().includes(a.grant.refreshToken));
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
    const next = await replaceGrant(pipes, pipes.sandboxKey, provider, new Date(clock.now() + 3_600_000));
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

after(() => {});
