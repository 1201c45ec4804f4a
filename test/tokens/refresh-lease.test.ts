import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { PipesError } from '../../src/errors.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { createProviderRefreshGrant } from '../../src/tokens/provider-grant.ts';
import {
  DEFAULT_REFRESH_OPTIONS,
  LEASE_NEEDED_PER_ATTEMPT_MS,
  SingleFlightRefresher,
} from '../../src/tokens/refresh/single-flight.ts';
import { testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { accountRow } from './harness.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

/**
 * A provider call must always end inside the refresh lease: one that outlived it could overlap another instance's
 * call with the same (rotating) refresh token. So a call is sent only while `LEASE_NEEDED_PER_ATTEMPT_MS` (the token
 * request timeout and a slack) is left of the lease, the first call included; otherwise the refresh cools down.
 */
describe(`provider calls stay inside the refresh lease (${testEngine()})`, () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  let clock: ManualClock;

  async function setUp(leaseMs: number) {
    clock = new ManualClock(Date.now());
    provider = await new FakeProvider({ rotation: 'rotate', graceSeconds: 0 }).start();
    pipes = await startTestPipes({
      clock,
      env: { PIPES_REFRESH_LEASE_MS: String(leaseMs) },
      startOptions: { refresher: { background: false } },
    });
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    return importGrant(pipes, pipes.sandboxKey, provider, { expiresAt: new Date(clock.now() - 1000) });
  }
  afterEach(async () => {
    await pipes.close();
    await provider.stop();
  });

  test('no retry of a transient failure when the rest of the lease could not hold the call', async () => {
    const leaseMs = 20_000;
    const { account, grant } = await setUp(leaseMs);
    // The first call takes 9 s and fails with a 503 that asks for no pause: 11 s of the lease are left, less than a
    // call may take, though still more than half the lease.
    provider.holdNext(1);
    provider.scripted.push({ status: 503, body: '{}' });
    const pending = getToken(pipes, pipes.sandboxKey);
    await provider.waitForHeld(1);
    clock.advance(9_000);
    assert.ok(leaseMs - 9_000 < LEASE_NEEDED_PER_ATTEMPT_MS);
    provider.releaseHeld();
    const failed = await pending;

    assert.equal(provider.refreshCount(), 1, 'the retry was not sent');
    assert.equal(failed.status, 503, failed.text);
    assert.equal(failed.json.code, 'refresh_temporarily_unavailable');
    const row = await accountRow(pipes, account.id);
    assert.equal(row.state, 'connected');
    assert.equal(row.last_refresh_outcome, 'transient');
    assert.equal(row.refresh_cooldown_until, clock.now() + DEFAULT_REFRESH_OPTIONS.cooldownMs);

    // After the cool-down a new lease has room for the call: the same refresh token works.
    clock.advance(DEFAULT_REFRESH_OPTIONS.cooldownMs + 1);
    const later = await getToken(pipes, pipes.sandboxKey);
    assert.equal(later.json.active, true, later.text);
    assert.equal(provider.refreshCount(), 2);
    assert.equal(provider.tokenRequests[1]!.refreshToken, grant.refreshToken);
  });

  test('no first call either when the holder reaches it with too little of the lease left', async () => {
    const leaseMs = 15_000;
    const { account } = await setUp(leaseMs);
    const { ctx } = pipes.server;
    // A holder that stalls (a GC pause) between taking the lease and its first call: the failpoint seam moves the
    // clock by 4 s there, leaving 11 s of the lease.
    const stalling = new SingleFlightRefresher(
      {
        ...ctx,
        failpoints: {
          hit: async (name) => {
            if (name === 'before_provider_call') clock.advance(4_000);
          },
        },
      },
      createProviderRefreshGrant(ctx),
      { ...DEFAULT_REFRESH_OPTIONS, leaseTtlMs: leaseMs },
    );
    await assert.rejects(
      stalling.ensureFresh(await accountRow(pipes, account.id)),
      (error: unknown) => error instanceof PipesError && error.code === 'refresh_temporarily_unavailable',
    );
    assert.equal(provider.refreshCount(), 0, 'nothing was sent');
    const row = await accountRow(pipes, account.id);
    assert.equal(row.state, 'connected');
    assert.equal(row.last_refresh_outcome, 'not_sent');
    assert.equal(row.refresh_attempt_version, null, 'no call, so no unknown outcome');
    assert.equal(row.refresh_failures, 1);
    assert.equal(row.refresh_cooldown_until, clock.now() + DEFAULT_REFRESH_OPTIONS.cooldownMs);
    assert.match(pipes.logs.text(), /refresh call not sent: too little of the lease left/);
  });
});
