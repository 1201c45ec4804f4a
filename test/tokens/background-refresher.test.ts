import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { importConnectedAccount } from '../../src/tokens/connected-accounts.ts';
import { DEFAULT_KEEPALIVE_MS } from '../../src/tokens/expiry.ts';
import { createTestDatabase, testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { accountRow, accountRows, storedSecret } from './harness.ts';
import { createFakeIntegration } from './setup.ts';

const MINUTE = 60_000;

/** The background refresher (rows R10 and R11): a refresh storm from two instances, and keep-alive refreshes. */
describe(`background refresher (${testEngine()})`, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  test('R10: 1000 connections expiring together are each refreshed exactly once, with bounded concurrency', async () => {
    const clock = new ManualClock();
    // Strict rotation: a second refresh of any connection would revoke its family and show up below.
    const provider = await new FakeProvider({
      rotation: 'rotate',
      graceSeconds: 0,
      refreshDelayMs: 2,
    }).start();
    cleanup.push(() => provider.stop());
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const concurrency = 6;
    const start = () =>
      startTestPipes({
        db,
        clock,
        env: { PIPES_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'), LOG_LEVEL: 'warn' },
        startOptions: { refresher: { background: false, concurrency, batchSize: 250 } },
      });
    const a = await start();
    cleanup.push(() => a.close());
    const b = await start();
    cleanup.push(() => b.close());
    await createFakeIntegration(a, a.sandboxKey, provider);

    // Seeded through the import code path itself (what POST …/connected_accounts/{slug} runs), without HTTP.
    const count = 1000;
    const expiresAt = new Date(clock.now() + 10 * MINUTE).toISOString();
    const environment = await requireEnvironment(a.server.ctx.store.db, 'sandbox');
    const refreshTokens = new Set<string>();
    for (let i = 0; i < count; i++) {
      const grant = provider.issueGrant();
      refreshTokens.add(grant.refreshToken);
      await importConnectedAccount(
        a.server.ctx,
        environment,
        'acme',
        { ownerType: 'user', userId: `user_${i}`, organizationId: null },
        { access_token: grant.accessToken, refresh_token: grant.refreshToken, expires_at: expiresAt },
      );
    }
    assert.equal(await a.server.refresher.runOnce(), 0, 'nothing is due yet');

    // The whole storm comes due at once; both instances drain it concurrently.
    clock.advance(10 * MINUTE);
    const drain = async (pipes: TestPipes) => {
      let total = 0;
      for (;;) {
        const done = await pipes.server.refresher.runOnce();
        if (done === 0) return total;
        total += done;
      }
    };
    const [byA, byB] = await Promise.all([drain(a), drain(b)]);
    assert.equal(byA + byB, count, 'every connection was claimed exactly once');
    assert.equal(provider.refreshCount(), count, 'one provider call per connection');
    const used = provider.tokenRequests.map((r) => r.refreshToken!);
    assert.equal(new Set(used).size, count, 'no refresh token was ever sent twice');
    assert.deepEqual(new Set(used), refreshTokens);
    assert.ok(
      provider.maxInFlight <= 2 * concurrency,
      `at most ${2 * concurrency} at once (${provider.maxInFlight})`,
    );

    const rows = await accountRows(a);
    assert.equal(rows.length, count);
    for (const row of rows) {
      assert.equal(row.state, 'connected');
      assert.equal(row.token_version, 2, row.id);
      assert.ok(row.expires_at! > clock.now() + 50 * MINUTE);
      assert.ok(provider.isLive(storedSecret(a.server.ctx, row, 'refresh_token')!), row.id);
    }
    assert.equal(await a.server.refresher.runOnce(), 0, 'nothing left to do');
  });

  test('R11: a non-expiring token with a refresh token is kept alive before the keep-alive interval elapses', async () => {
    const clock = new ManualClock();
    const provider = await new FakeProvider({ rotation: 'rotate', graceSeconds: 0 }).start();
    cleanup.push(() => provider.stop());
    const pipes = await startTestPipes({ clock, startOptions: { refresher: { background: false } } });
    cleanup.push(() => pipes.close());
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const grant = provider.issueGrant();
    // access + refresh token without expiry: the token does not expire, but an idle refresh token might.
    const res = await api(pipes, 'POST', '/user_management/users/user_1/connected_accounts/acme', {
      key: pipes.sandboxKey,
      body: { access_token: grant.accessToken, refresh_token: grant.refreshToken },
    });
    assert.equal(res.status, 201, res.text);
    const imported = await accountRow(pipes, res.json.id);
    assert.equal(imported.expires_at, null);
    assert.ok(
      imported.next_refresh_at !== null && imported.next_refresh_at <= clock.now() + DEFAULT_KEEPALIVE_MS,
    );

    // An application that never asks for the token: only the background refresher touches it.
    clock.advance(DEFAULT_KEEPALIVE_MS - MINUTE);
    assert.equal(await pipes.server.refresher.runOnce(), 0, 'not yet due');
    assert.equal(provider.refreshCount(), 0);
    clock.advance(MINUTE);
    assert.equal(await pipes.server.refresher.runOnce(), 1, 'kept alive at the keep-alive interval');
    assert.equal(provider.refreshCount(), 1);
    assert.equal(provider.tokenRequests[0]!.refreshToken, grant.refreshToken);
    const row = await accountRow(pipes, imported.id);
    assert.equal(row.state, 'connected');
    assert.equal(row.last_refresh_at, clock.now());
    assert.ok(row.next_refresh_at !== null && row.next_refresh_at <= clock.now() + DEFAULT_KEEPALIVE_MS);
    assert.ok(provider.isLive(storedSecret(pipes.server.ctx, row, 'refresh_token')!));
    assert.notEqual(storedSecret(pipes.server.ctx, row, 'access_token'), grant.accessToken);
  });
});
