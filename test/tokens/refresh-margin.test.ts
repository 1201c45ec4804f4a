import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { accountRow } from './harness.ts';
import { createFakeIntegration, getToken, importGrant, replaceGrant } from './setup.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The refresh margin is measured from when the token was issued (`token_issued_at`), not from the last refresh
 * attempt (`last_refresh_at`, which a failed attempt also moves): a failure must not shrink the margin.
 */
describe(`the refresh margin after a failed refresh (${testEngine()})`, () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  let clock: ManualClock;

  async function setUp() {
    clock = new ManualClock(Date.now());
    provider = await new FakeProvider({ rotation: 'none', accessTokenTtlSeconds: 3600 }).start();
    pipes = await startTestPipes({ clock, startOptions: { refresher: { background: false } } });
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
  }
  afterEach(async () => {
    await pipes.close();
    await provider.stop();
  });

  test('an hour-long token whose refresh failed 4 minutes before expiry is refreshed again after the cool-down', async () => {
    await setUp();
    const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });
    const issued = await getToken(pipes, pipes.sandboxKey);
    assert.equal(issued.json.active, true, issued.text);
    assert.equal(provider.refreshCount(), 1);
    const issuedAt = clock.now();
    assert.equal((await accountRow(pipes, account.id)).token_issued_at, issuedAt);

    // 4 minutes before expiry, inside the 5-minute margin: the refresh fails (503, no immediate retry).
    clock.advance(56 * MINUTE);
    provider.scripted.push({ status: 503, body: '{}', headers: { 'retry-after': '30' } });
    const during = await getToken(pipes, pipes.sandboxKey);
    assert.equal(during.json.active, true, 'a token that has not expired is still handed out');
    assert.equal(during.json.access_token.access_token, issued.json.access_token.access_token);
    assert.equal(provider.refreshCount(), 2);
    const failed = await accountRow(pipes, account.id);
    assert.equal(failed.last_refresh_at, clock.now(), 'the attempt is recorded');
    assert.equal(failed.token_issued_at, issuedAt, 'the token was not issued again');

    // After the 30 s cool-down the token (3.5 minutes left) is still inside its margin: refreshed, not handed out.
    clock.advance(31_000);
    const after = await getToken(pipes, pipes.sandboxKey);
    assert.equal(provider.refreshCount(), 3, 'refreshed again');
    assert.equal(after.json.active, true, after.text);
    assert.notEqual(after.json.access_token.access_token, issued.json.access_token.access_token);
    assert.equal(Date.parse(after.json.access_token.expires_at), clock.now() + HOUR);
    assert.equal((await accountRow(pipes, account.id)).token_issued_at, clock.now());
  });

  test('tokens Pipes did not obtain have no issue time: an import and a PUT leave token_issued_at null', async () => {
    await setUp();
    const { account } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() + HOUR),
    });
    assert.equal((await accountRow(pipes, account.id)).token_issued_at, null);
    // Refreshed by Pipes: now it knows.
    clock.advance(56 * MINUTE);
    const refreshed = await getToken(pipes, pipes.sandboxKey);
    assert.equal(refreshed.json.active, true, refreshed.text);
    assert.equal(provider.refreshCount(), 1, 'inside the margin counted from the import');
    assert.equal((await accountRow(pipes, account.id)).token_issued_at, clock.now());

    await replaceGrant(pipes, pipes.sandboxKey, provider, new Date(clock.now() + HOUR));
    const row = await accountRow(pipes, account.id);
    assert.equal(row.token_issued_at, null);
    // The margin counts from the connection's creation: 5 minutes, so the next background run is due by then.
    assert.ok(row.next_refresh_at !== null && row.next_refresh_at <= clock.now() + HOUR - 5 * MINUTE);
  });
});
