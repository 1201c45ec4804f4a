import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { createTestDatabase, testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes } from '../helpers/pipes.ts';
import { accountRow, eventsNamed, eventually, storedSecret } from './harness.ts';
import { createFakeIntegration, getToken, importGrant, replaceGrant } from './setup.ts';

const MINUTE = 60_000;

/**
 * Refresh under provider faults, in process with a manual clock (rows R6, R7, R8, R12, R13, R14 of the security test
 * plan). The provider is a real loopback server; "another instance" is a second Pipes server on the same database.
 */
describe(`refresh under provider faults (${testEngine()})`, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setUp(options: ConstructorParameters<typeof FakeProvider>[0], clock = new ManualClock()) {
    const provider = await new FakeProvider(options).start();
    cleanup.push(() => provider.stop());
    const pipes = await startTestPipes({ clock, startOptions: { refresher: { background: false } } });
    cleanup.push(() => pipes.close());
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    return { provider, pipes, clock };
  }

  describe('R6: ambiguous outcome (the provider rotated, the answer was lost)', () => {
    test('with a grace window the retry with the same refresh token succeeds in the same call', async () => {
      const { provider, pipes, clock } = await setUp({ rotation: 'rotate', graceSeconds: 1800 });
      const { account, grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
        expiresAt: new Date(clock.now() - 1000),
      });
      provider.dropNext = 1;
      const result = await getToken(pipes, pipes.sandboxKey);
      assert.equal(result.status, 200, result.text);
      assert.equal(result.json.active, true);
      assert.equal(provider.refreshCount(), 2, 'one lost answer, one retry');
      assert.deepEqual(
        provider.tokenRequests.map((r) => r.refreshToken),
        [grant.refreshToken, grant.refreshToken],
        'retried with the same refresh token',
      );
      const row = await accountRow(pipes, account.id);
      assert.equal(row.state, 'connected');
      assert.equal(row.refresh_attempt_version, null, 'the journal is closed by the commit');
      assert.equal(
        storedSecret(pipes.server.ctx, row, 'access_token'),
        result.json.access_token.access_token,
      );
      assert.ok(provider.isLive(storedSecret(pipes.server.ctx, row, 'refresh_token')!));
    });

    test('every answer lost: 503 with Retry-After, still connected, journal kept; after the cool-down it recovers', async () => {
      const { provider, pipes, clock } = await setUp({ rotation: 'rotate', graceSeconds: 1800 });
      const { account, grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
        expiresAt: new Date(clock.now() - 1000),
      });
      provider.dropNext = 3;
      const failed = await getToken(pipes, pipes.sandboxKey);
      assert.equal(failed.status, 503, failed.text);
      assert.equal(failed.json.code, 'refresh_temporarily_unavailable');
      assert.ok(Number(failed.headers.get('retry-after')) >= 1);
      assert.equal(provider.refreshCount(), 3, 'one try and two retries under the one lease');
      let row = await accountRow(pipes, account.id);
      assert.equal(row.state, 'connected', 'a timeout never marks the connection broken');
      assert.equal(
        row.refresh_attempt_version,
        row.token_version,
        'the outcome is unknown: the journal stays open',
      );

      clock.advance(31_000);
      const recovered = await getToken(pipes, pipes.sandboxKey);
      assert.equal(recovered.json.active, true, recovered.text);
      assert.ok(provider.tokenRequests.every((r) => r.refreshToken === grant.refreshToken));
      row = await accountRow(pipes, account.id);
      assert.equal(row.state, 'connected');
      assert.equal(row.refresh_attempt_version, null);
      assert.equal((await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length, 0);
    });

    test('without a grace window the retry is refused: one clean needs_reauthorization, reason refresh_outcome_unknown', async () => {
      const { provider, pipes, clock } = await setUp({ rotation: 'rotate', graceSeconds: 0 });
      const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
        expiresAt: new Date(clock.now() - 1000),
      });
      provider.dropNext = 1;
      const result = await getToken(pipes, pipes.sandboxKey);
      assert.deepEqual(result.json, { active: false, error: 'needs_reauthorization' });
      const row = await accountRow(pipes, account.id);
      assert.equal(row.state, 'needs_reauthorization');
      assert.equal(row.reauthorization_reason, 'refresh_outcome_unknown');
      assert.equal((await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length, 1);
      const calls = provider.refreshCount();
      clock.advance(3600_000);
      assert.deepEqual((await getToken(pipes, pipes.sandboxKey)).json, {
        active: false,
        error: 'needs_reauthorization',
      });
      assert.equal(provider.refreshCount(), calls, 'no retry loop');
    });
  });

  describe('R7: 429 with Retry-After', () => {
    test('the cool-down honours Retry-After: no provider call before it passes, the connection stays connected', async () => {
      const { provider, pipes, clock } = await setUp({ rotation: 'none' });
      const { account, grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
        expiresAt: new Date(clock.now() - 1000),
      });
      provider.scripted.push({
        status: 429,
        body: '{"error":"rate_limited"}',
        headers: { 'retry-after': '120' },
      });
      const limited = await getToken(pipes, pipes.sandboxKey);
      assert.equal(limited.status, 503, limited.text);
      assert.equal(limited.json.code, 'refresh_temporarily_unavailable');
      assert.ok(Number(limited.headers.get('retry-after')) >= 120, 'the caller is told to come back later');
      assert.equal(provider.refreshCount(), 1, 'no immediate retry against a Retry-After of 120 s');

      clock.advance(119_000);
      const early = await getToken(pipes, pipes.sandboxKey);
      assert.equal(early.status, 503);
      assert.ok(Number(early.headers.get('retry-after')) >= 1);
      await pipes.server.refresher.runOnce();
      assert.equal(provider.refreshCount(), 1, 'neither callers nor the background refresher call early');
      const row = await accountRow(pipes, account.id);
      assert.equal(row.state, 'connected');
      assert.equal(row.refresh_failures, 1, 'the failure is counted once for the window');

      clock.advance(2_000);
      const later = await getToken(pipes, pipes.sandboxKey);
      assert.equal(later.json.active, true, later.text);
      assert.equal(provider.refreshCount(), 2);
      assert.equal(provider.tokenRequests[1]!.refreshToken, grant.refreshToken);
      assert.equal((await accountRow(pipes, account.id)).refresh_failures, 0);
      assert.equal((await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length, 0);
    });

    test('a token still valid but inside its margin is handed out while the provider says 429', async () => {
      const { provider, pipes, clock } = await setUp({ rotation: 'none' });
      const { grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
        expiresAt: new Date(clock.now() + 2 * MINUTE),
      });
      clock.advance(61_000);
      provider.scripted.push({ status: 429, body: '{}', headers: { 'retry-after': '120' } });
      const served = await getToken(pipes, pipes.sandboxKey);
      assert.equal(served.json.active, true, served.text);
      assert.equal(served.json.access_token.access_token, grant.accessToken);
      assert.equal(provider.refreshCount(), 1);
    });
  });

  test('R8: invalid_grant after another instance already refreshed: the re-read wins, nothing is marked broken', async () => {
    const clock = new ManualClock();
    const provider = await new FakeProvider({
      rotation: 'rotate',
      graceSeconds: 0,
      reuseRevokesFamily: false,
    }).start();
    cleanup.push(() => provider.stop());
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const env = {
      PIPES_REFRESH_LEASE_MS: '15000',
      PIPES_MASTER_KEY: Buffer.alloc(32, 8).toString('base64'),
    };
    const start = () =>
      startTestPipes({ db, clock, env, startOptions: { refresher: { background: false } } });
    const a = await start();
    cleanup.push(() => a.close());
    const b = await start();
    cleanup.push(() => b.close());
    await createFakeIntegration(a, a.sandboxKey, provider);
    const { account, grant } = await importGrant(a, a.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });

    // B takes the lease and sends the refresh; the provider has not processed it yet.
    provider.holdNext(1);
    const pendingB = getToken(b, b.sandboxKey);
    await provider.waitForHeld(1);
    // B's lease runs out; A refreshes with the same (still current) refresh token and commits.
    clock.advance(16_000);
    const fromA = await getToken(a, a.sandboxKey);
    assert.equal(fromA.json.active, true, fromA.text);
    // B's request now reaches the provider with a refresh token A already rotated: invalid_grant.
    provider.releaseHeld();
    const fromB = await pendingB;
    assert.equal(fromB.status, 200, fromB.text);
    assert.equal(fromB.json.active, true, 'B re-reads and serves the token A stored');
    assert.equal(fromB.json.access_token.access_token, fromA.json.access_token.access_token);
    assert.deepEqual(
      provider.tokenRequests.map((r) => r.refreshToken),
      [grant.refreshToken, grant.refreshToken],
    );
    const row = await accountRow(a, account.id);
    assert.equal(row.state, 'connected');
    assert.equal(row.token_version, 2);
    assert.ok(provider.isLive(storedSecret(a.server.ctx, row, 'refresh_token')!));
    assert.equal((await eventsNamed(a, 'pipes.connected_account.reauthorization_needed')).length, 0);
  });

  test('R9 in process: a holder fenced out while the new holder is still refreshing waits for it, never serves the expired token', async () => {
    const clock = new ManualClock();
    const provider = await new FakeProvider({ rotation: 'rotate', graceSeconds: 1800 }).start();
    cleanup.push(() => provider.stop());
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const env = {
      PIPES_REFRESH_LEASE_MS: '15000',
      PIPES_MASTER_KEY: Buffer.alloc(32, 10).toString('base64'),
    };
    const start = () =>
      startTestPipes({ db, clock, env, startOptions: { refresher: { background: false } } });
    const a = await start();
    cleanup.push(() => a.close());
    const b = await start();
    cleanup.push(() => b.close());
    await createFakeIntegration(a, a.sandboxKey, provider);
    const { account, grant } = await importGrant(a, a.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });

    // A sends its refresh and stalls past its lease; B takes over and sends its own. Both wait at the provider.
    provider.holdNext(2);
    const fromA = getToken(a, a.sandboxKey);
    await provider.waitForHeld(1);
    clock.advance(16_000);
    const fromB = getToken(b, b.sandboxKey);
    await provider.waitForHeld(2);
    // A's answer arrives first: its commit is fenced out while B is still refreshing.
    provider.releaseOne();
    await eventually(() => a.logs.text().includes('refresh result discarded'), 'A to be fenced out');
    provider.releaseOne();
    const [resultA, resultB] = await Promise.all([fromA, fromB]);
    assert.equal(resultB.json.active, true, resultB.text);
    assert.equal(resultA.status, 200, resultA.text);
    assert.notEqual(resultA.json.access_token?.access_token, grant.accessToken, 'never the expired token');
    assert.equal(resultA.json.access_token.access_token, resultB.json.access_token.access_token);
    assert.ok(Date.parse(resultA.json.access_token.expires_at) > clock.now() + 5 * MINUTE);
    const row = await accountRow(a, account.id);
    assert.equal(row.token_version, 2, 'only B committed');
    assert.equal(storedSecret(a.server.ctx, row, 'access_token'), resultB.json.access_token.access_token);
    assert.ok(provider.isLive(storedSecret(a.server.ctx, row, 'refresh_token')!));
  });

  describe('R12: a vended token always has its margin left', () => {
    test('a 1-hour token with 2 minutes left is refreshed before it is handed out', async () => {
      const { provider, pipes, clock } = await setUp({ rotation: 'none', accessTokenTtlSeconds: 3600 });
      await importGrant(pipes, pipes.sandboxKey, provider, { expiresAt: new Date(clock.now() - 1000) });
      const first = await getToken(pipes, pipes.sandboxKey);
      assert.equal(Date.parse(first.json.access_token.expires_at), clock.now() + 3600_000);
      clock.advance(58 * MINUTE);
      const second = await getToken(pipes, pipes.sandboxKey);
      assert.equal(provider.refreshCount(), 2, 'refreshed first');
      assert.notEqual(second.json.access_token.access_token, first.json.access_token.access_token);
      assert.equal(Date.parse(second.json.access_token.expires_at), clock.now() + 3600_000);
    });

    test('minute by minute over three hours: every vended token has at least 5 minutes left', async () => {
      const { provider, pipes, clock } = await setUp({ rotation: 'rotate', graceSeconds: 0 });
      await importGrant(pipes, pipes.sandboxKey, provider, {
        expiresAt: new Date(clock.now() + 30 * MINUTE),
      });
      for (let minute = 0; minute < 180; minute++) {
        const result = await getToken(pipes, pipes.sandboxKey);
        assert.equal(result.json.active, true, result.text);
        const left = Date.parse(result.json.access_token.expires_at) - clock.now();
        assert.ok(left >= 5 * MINUTE, `minute ${minute}: only ${left / 1000} s left`);
        assert.ok(provider.accessTokens.has(result.json.access_token.access_token));
        clock.advance(MINUTE);
      }
      // Refreshed at 25 min (30 − 5), then every 55 min: 25, 80, 135 within three hours.
      assert.equal(provider.refreshCount(), 3);
    });
  });

  test('R13: the user re-authorizes while a refresh is in flight: the new grant wins, the refresh result is discarded', async () => {
    const { provider, pipes, clock } = await setUp({ rotation: 'rotate', graceSeconds: 0 });
    const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });
    provider.holdNext(1);
    const pending = getToken(pipes, pipes.sandboxKey);
    await provider.waitForHeld(1);
    const regrant = await replaceGrant(pipes, pipes.sandboxKey, provider, new Date(clock.now() + 3600_000));
    provider.releaseHeld();
    const result = await pending;
    assert.equal(result.status, 200, result.text);
    assert.equal(result.json.access_token.access_token, regrant.accessToken, 'the new grant is served');
    const row = await accountRow(pipes, account.id);
    assert.equal(storedSecret(pipes.server.ctx, row, 'access_token'), regrant.accessToken);
    assert.equal(storedSecret(pipes.server.ctx, row, 'refresh_token'), regrant.refreshToken);
    assert.equal(row.generation, 2);
    assert.equal(provider.refreshCount(), 1);
    assert.match(pipes.logs.text(), /refresh result discarded/);
    const again = await getToken(pipes, pipes.sandboxKey);
    assert.equal(again.json.access_token.access_token, regrant.accessToken);
    assert.equal(provider.refreshCount(), 1, 'the new grant is fresh: no refresh');
  });

  test('R14: the connection is deleted during a refresh: not resurrected, a typed error, then not_installed', async () => {
    const { provider, pipes, clock } = await setUp({ rotation: 'rotate', graceSeconds: 0 });
    const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });
    provider.holdNext(1);
    const pending = getToken(pipes, pipes.sandboxKey);
    await provider.waitForHeld(1);
    const deleted = await api(pipes, 'DELETE', '/user_management/users/user_1/connected_accounts/acme', {
      key: pipes.sandboxKey,
    });
    assert.equal(deleted.status, 204, deleted.text);
    provider.releaseHeld();
    const result = await pending;
    assert.equal(result.status, 404, result.text);
    assert.equal(result.json.code, 'connected_account_not_found');
    assert.ok(!result.text.includes('at_'), 'no token in the error');
    const rows = await pipes.server.ctx.store.db
      .selectFrom('connected_accounts')
      .select('id')
      .where('id', '=', account.id)
      .execute();
    assert.equal(rows.length, 0, 'not resurrected');
    assert.deepEqual((await getToken(pipes, pipes.sandboxKey)).json, {
      active: false,
      error: 'not_installed',
    });
    assert.equal((await eventsNamed(pipes, 'pipes.connected_account.disconnected')).length, 1);
    assert.equal(
      (await eventsNamed(pipes, 'pipes.connected_account.connected')).length,
      1,
      'only the import',
    );
  });
});
