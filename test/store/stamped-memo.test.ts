import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { StampedMemo } from '../../src/store/stamped-memo.ts';
import { testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { createFakeIntegration, getToken, importGrant } from '../tokens/setup.ts';

describe('stamped memo: a stamp, an expiry, a bound', () => {
  test('an answer is served only under the stamp it was computed under', () => {
    const memo = new StampedMemo<string>();
    memo.set(3, 'k', 'answer', Number.POSITIVE_INFINITY, 0);
    assert.equal(memo.get(3, 'k', 0), 'answer');
    assert.equal(memo.get(4, 'k', 0), undefined);
    assert.equal(memo.get(null, 'k', 0), undefined);
    assert.equal(memo.get(3, 'other', 0), undefined);
  });

  test('a newer stamp drops every older answer; an answer computed under an older stamp is not kept', () => {
    const memo = new StampedMemo<string>();
    memo.set(3, 'a', 'A3', Number.POSITIVE_INFINITY, 0);
    memo.set(4, 'b', 'B4', Number.POSITIVE_INFINITY, 0);
    assert.equal(memo.get(3, 'a', 0), undefined);
    assert.equal(memo.get(4, 'a', 0), undefined);
    // A slow request that took its stamp before the change finishes late: its answer must not come back.
    memo.set(3, 'a', 'A3-late', Number.POSITIVE_INFINITY, 0);
    assert.equal(memo.get(3, 'a', 0), undefined);
    assert.equal(memo.get(4, 'a', 0), undefined);
    assert.equal(memo.get(4, 'b', 0), 'B4');
  });

  test('an answer expires at its `until` (exclusive), and one already expired is not kept', () => {
    const memo = new StampedMemo<string>();
    memo.set(1, 'k', 'answer', 1_000, 0);
    assert.equal(memo.get(1, 'k', 999), 'answer');
    assert.equal(memo.get(1, 'k', 1_000), undefined);
    memo.set(1, 'late', 'answer', 1_000, 1_000);
    assert.equal(memo.get(1, 'late', 0), undefined);
  });

  test('no stamp, no memo (PostgreSQL)', () => {
    const memo = new StampedMemo<string>();
    memo.set(null, 'k', 'answer', Number.POSITIVE_INFINITY, 0);
    assert.equal(memo.get(null, 'k', 0), undefined);
  });

  test('past its bound it starts over rather than grow', () => {
    const memo = new StampedMemo<string>(2);
    memo.set(1, 'a', 'A', Number.POSITIVE_INFINITY, 0);
    memo.set(1, 'b', 'B', Number.POSITIVE_INFINITY, 0);
    memo.set(1, 'c', 'C', Number.POSITIVE_INFINITY, 0);
    assert.equal(memo.get(1, 'a', 0), undefined);
    assert.equal(memo.get(1, 'c', 0), 'C');
  });
});

/**
 * Through the real server: a memoized answer never outlives the token's freshness (no database change is needed for
 * a token to become due), never hides a change made through the API, and never lets a request skip its checks.
 */
describe(`vending answers are reused only while they are exactly what vending would say (${testEngine()})`, () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00Z'));

  before(async () => {
    provider = await new FakeProvider({ rotation: 'none' }).start();
    pipes = await startTestPipes({ clock, startOptions: { refresher: { background: false } } });
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
  });
  after(async () => {
    await pipes.close();
    await provider.stop();
  });

  test('a token is refreshed on the first call inside its refresh margin, with nothing else changed', async () => {
    // 10 minutes of life from now: the margin is 5 minutes, so the token is due at +5 min.
    const { grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() + 10 * 60_000),
    });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await getToken(pipes, pipes.sandboxKey)).json.access_token.access_token,
        grant.accessToken,
      );
    }
    clock.advance(5 * 60_000 - 1);
    assert.equal((await getToken(pipes, pipes.sandboxKey)).json.access_token.access_token, grant.accessToken);
    assert.equal(provider.refreshCount(), 0);
    clock.advance(1);
    const due = await getToken(pipes, pipes.sandboxKey);
    assert.equal(provider.refreshCount(), 1);
    assert.notEqual(due.json.access_token.access_token, grant.accessToken);
    assert.equal(
      (await getToken(pipes, pipes.sandboxKey)).json.access_token.access_token,
      due.json.access_token.access_token,
    );
  });

  test('an integration scope change shows in missing_scopes on the next call', async () => {
    await importGrant(pipes, pipes.sandboxKey, provider, {
      userId: 'user_scopes',
      expiresAt: new Date(clock.now() + 3_600_000),
    });
    const before = await getToken(pipes, pipes.sandboxKey, 'user_scopes');
    assert.deepEqual(before.json.access_token.missing_scopes, ['write']);
    assert.deepEqual((await getToken(pipes, pipes.sandboxKey, 'user_scopes')).json, before.json);
    const updated = await api(pipes, 'PUT', '/data-integrations/acme', {
      key: pipes.sandboxKey,
      body: { scopes: ['read', 'write', 'admin'] },
    });
    assert.equal(updated.status, 200, updated.text);
    const afterChange = await getToken(pipes, pipes.sandboxKey, 'user_scopes');
    assert.deepEqual(afterChange.json.access_token.missing_scopes, ['write', 'admin']);
  });

  test('a request that differs only in its content type or key is checked afresh', async () => {
    await importGrant(pipes, pipes.sandboxKey, provider, {
      userId: 'user_checks',
      expiresAt: new Date(clock.now() + 3_600_000),
    });
    const body = JSON.stringify({ user_id: 'user_checks' });
    const send = (headers: Record<string, string>) =>
      fetch(`${pipes.url}/data-integrations/acme/token`, { method: 'POST', headers, body });
    const ok = await send({
      authorization: `Bearer ${pipes.sandboxKey}`,
      'content-type': 'application/json',
    });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { active: boolean }).active, true);
    const wrongType = await send({
      authorization: `Bearer ${pipes.sandboxKey}`,
      'content-type': 'text/plain',
    });
    assert.equal(wrongType.status, 415);
    await wrongType.arrayBuffer();
    // The production key's environment has no such integration: the sandbox's answer must not leak across.
    const otherEnvironment = await send({
      authorization: `Bearer ${pipes.productionKey}`,
      'content-type': 'application/json',
    });
    assert.equal(otherEnvironment.status, 404);
    assert.equal(((await otherEnvironment.json()) as { code: string }).code, 'data_integration_not_found');
    const noKey = await send({ 'content-type': 'application/json' });
    assert.equal(noKey.status, 401);
    await noKey.arrayBuffer();
  });
});
