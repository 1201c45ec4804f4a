import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { importConnectedAccount } from '../../src/tokens/connected-accounts.ts';
import { DEFAULT_KEEPALIVE_MS } from '../../src/tokens/expiry.ts';
import { createTestDatabase, testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { IdleExpiryProvider } from '../helpers/idle-expiry-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { accountRow, accountRows, eventsNamed, eventually, storedSecret } from './harness.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** `count` connections of one user each, expiring together in 10 minutes; then the clock moves to their expiry. */
async function importGrantsComingDue(
  pipes: TestPipes,
  provider: FakeProvider,
  clock: ManualClock,
  count: number,
) {
  const expiresAt = new Date(clock.now() + 10 * MINUTE);
  for (let i = 0; i < count; i++) {
    await importGrant(pipes, pipes.sandboxKey, provider, { userId: `user_${i}`, expiresAt });
  }
  clock.advance(10 * MINUTE);
}

/** The background refresher (rows R10 and R11): a refresh storm from two instances, and keep-alive refreshes. */
describe(`background refresher (${testEngine()})`, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A strict-rotation fake provider (a second refresh of one grant would revoke it), stopped after the test. */
  async function rotatingProvider(refreshDelayMs = 0): Promise<FakeProvider> {
    const provider = await new FakeProvider({ rotation: 'rotate', graceSeconds: 0, refreshDelayMs }).start();
    cleanup.push(() => provider.stop());
    return provider;
  }

  test('R10: 1000 connections expiring together are each refreshed exactly once, with bounded concurrency', async () => {
    const clock = new ManualClock();
    // Strict rotation: a second refresh of any connection would revoke its family and show up below.
    const provider = await rotatingProvider(2);
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
    const provider = await rotatingProvider();
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

  test('R10: a timer tick drains every due connection batch after batch, each once, then stops', async () => {
    const clock = new ManualClock();
    const provider = await rotatingProvider();
    const batchSize = 10;
    const pipes = await startTestPipes({
      clock,
      startOptions: { refresher: { background: false, batchSize, concurrency: 3 } },
    });
    cleanup.push(() => pipes.close());
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const count = 2 * batchSize + 5;
    await importGrantsComingDue(pipes, provider, clock, count);

    assert.equal(await pipes.server.refresher.runOnce(), batchSize, 'runOnce is one batch');
    // One tick, with the clock standing still: everything still due, in several batches, and nothing twice.
    assert.equal(await pipes.server.refresher.drainDue(), count - batchSize);
    assert.equal(provider.refreshCount(), count);
    assert.equal(new Set(provider.tokenRequests.map((r) => r.refreshToken)).size, count);
    assert.ok(provider.maxInFlight <= 3, `at most 3 at once (${provider.maxInFlight})`);
    for (const row of await accountRows(pipes)) assert.equal(row.token_version, 2, row.id);
    assert.equal(await pipes.server.refresher.drainDue(), 0, 'nothing left to do');
  });

  test('PIPES_REFRESH_CONCURRENCY caps the refreshes one instance runs at once', async () => {
    const clock = new ManualClock();
    const provider = await rotatingProvider(20);
    const pipes = await startTestPipes({
      clock,
      env: { PIPES_REFRESH_CONCURRENCY: '2' },
      startOptions: { refresher: { background: false } },
    });
    cleanup.push(() => pipes.close());
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const count = 12;
    await importGrantsComingDue(pipes, provider, clock, count);
    assert.equal(await pipes.server.refresher.drainDue(), count);
    assert.equal(provider.refreshCount(), count);
    // Two at a time, not the default four: every refresh waits 20 ms at the provider, so two always overlap.
    assert.equal(provider.maxInFlight, 2);
  });

  test('PIPES_REFRESH_INTERVAL_MS sets how often the background refresher looks for due tokens', async () => {
    const clock = new ManualClock();
    const provider = await rotatingProvider();
    // The timer is on (the default is 30 s; nothing else refreshes these tokens while nobody asks for them).
    const pipes = await startTestPipes({ clock, env: { PIPES_REFRESH_INTERVAL_MS: '1000' } });
    cleanup.push(() => pipes.close());
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const count = 3;
    await importGrantsComingDue(pipes, provider, clock, count);
    // Wait for the outcome (every new token committed), not for the provider's answers: the provider has answered
    // a moment before Pipes commits. The bound (about 15 s) is for failure only, well under the default interval.
    await eventually(
      async () => (await accountRows(pipes)).every((row) => row.token_version === 2),
      'every connection refreshed by the timer',
      1500,
    );
    const rows = await accountRows(pipes);
    assert.equal(rows.length, count);
    for (const row of rows) assert.equal(row.token_version, 2, row.id);
    assert.equal(provider.refreshCount(), count, 'each connection refreshed once');
  });

  describe('R11: keep-alive against a provider that expires idle refresh tokens', () => {
    const DAYS = 200;

    /** Pipes and an idle-expiry provider sharing one manual clock, and one imported connection. */
    async function setUp(idleLimitMs: number, accessTokenTtlSeconds: number) {
      const clock = new ManualClock();
      const provider = await new IdleExpiryProvider({ clock, idleLimitMs, accessTokenTtlSeconds }).start();
      cleanup.push(() => provider.stop());
      const pipes = await startTestPipes({ clock, startOptions: { refresher: { background: false } } });
      cleanup.push(() => pipes.close());
      // createFakeIntegration only reads the provider's URL.
      await createFakeIntegration(pipes, pipes.sandboxKey, { url: provider.url } as FakeProvider);
      const grant = provider.issueGrant();
      const res = await api(pipes, 'POST', '/user_management/users/user_1/connected_accounts/acme', {
        key: pipes.sandboxKey,
        body: {
          access_token: grant.accessToken,
          refresh_token: grant.refreshToken,
          expires_at: new Date(clock.now() + accessTokenTtlSeconds * 1000).toISOString(),
        },
      });
      assert.equal(res.status, 201, res.text);
      return { clock, provider, pipes, accountId: res.json.id as string };
    }

    /** Day after day, the background refresher runs once; nobody asks for the token. */
    async function stepDays(ctx: { clock: ManualClock; pipes: TestPipes }) {
      for (let day = 1; day <= DAYS; day++) {
        ctx.clock.advance(DAY);
        await ctx.pipes.server.refresher.drainDue();
      }
    }

    for (const [label, ttlSeconds] of [
      ['long-lived access tokens: only the keep-alive refreshes', 365 * 86_400],
      ['hour-long access tokens: refreshed ahead of expiry', 3600],
    ] as const) {
      test(`idle ${DAYS} days at a 60-day idle-expiry provider, ${label}`, async () => {
        const setup = await setUp(60 * DAY, ttlSeconds);
        const { provider, pipes } = setup;
        await stepDays(setup);

        assert.deepEqual(provider.idleExpired(), [], 'the provider never saw an idle-expired refresh token');
        assert.ok(
          provider.refreshes.every((r) => r.outcome === 'granted' && r.idleMs <= DEFAULT_KEEPALIVE_MS),
          'every refresh came within the keep-alive interval',
        );
        assert.ok(provider.refreshes.length >= Math.floor((DAYS * DAY) / DEFAULT_KEEPALIVE_MS));
        const row = await accountRow(pipes, setup.accountId);
        assert.equal(row.state, 'connected');
        assert.equal(row.token_version, provider.refreshes.length + 1);
        assert.equal((await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed')).length, 0);

        const res = await getToken(pipes, pipes.sandboxKey);
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.active, true, res.text);
        const me = await fetch(`${provider.url}/api/me`, {
          headers: { authorization: `Bearer ${res.json.access_token.access_token}` },
        });
        assert.equal(me.status, 200, 'the provider accepts the vended token');
        assert.deepEqual(provider.idleExpired(), []);
      });
    }

    test('control: a provider expiring tokens idle for 5 days, under the 7-day keep-alive, really kills the grant', async () => {
      const idleLimitMs = 5 * DAY;
      assert.ok(idleLimitMs < DEFAULT_KEEPALIVE_MS);
      const setup = await setUp(idleLimitMs, 365 * 86_400);
      const { provider, pipes } = setup;
      await stepDays(setup);

      // The first keep-alive comes after the provider's idle limit: refused once, and never retried.
      assert.equal(provider.refreshes.length, 1);
      assert.equal(provider.refreshes[0]!.outcome, 'idle_expired');
      assert.equal(provider.refreshes[0]!.idleMs, DEFAULT_KEEPALIVE_MS);
      const row = await accountRow(pipes, setup.accountId);
      assert.equal(row.state, 'needs_reauthorization');
      assert.equal(row.reauthorization_reason, 'invalid_grant');
      const events = await eventsNamed(pipes, 'pipes.connected_account.reauthorization_needed');
      assert.equal(events.length, 1);
      assert.equal(events[0]!.connected_account_id, setup.accountId);
      const res = await getToken(pipes, pipes.sandboxKey);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, { active: false, error: 'needs_reauthorization' });
      assert.equal(provider.refreshes.length, 1, 'the token API did not try the dead grant again');
    });
  });
});
