import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { createFakeIntegration } from './setup.ts';

const HOUR = 3_600_000;

/**
 * Tenancy: ids may contain `|` (Auth0 user ids are `auth0|123`), so an owner's key must not be a `|`-joined string,
 * or user `alice` in organization `team|blue` and user `alice|team` in organization `blue` would share a connection.
 */
describe(`owner keys with separators in ids (${testEngine()})`, () => {
  let pipes: TestPipes;
  let provider: FakeProvider;
  let imported: { accessToken: string; refreshToken: string };

  before(async () => {
    provider = await new FakeProvider({ rotation: 'none' }).start();
    pipes = await startTestPipes({ startOptions: { refresher: { background: false } } });
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    imported = provider.issueGrant();
    const res = await api(
      pipes,
      'POST',
      `/user_management/users/alice/connected_accounts/acme?organization_id=${encodeURIComponent('team|blue')}`,
      {
        key: pipes.sandboxKey,
        body: {
          access_token: imported.accessToken,
          refresh_token: imported.refreshToken,
          expires_at: new Date(Date.now() + HOUR).toISOString(),
          scopes: ['read'],
        },
      },
    );
    assert.equal(res.status, 201, res.text);
  });
  after(async () => {
    await pipes.close();
    await provider.stop();
  });

  const vend = (body: Record<string, unknown>) =>
    api(pipes, 'POST', '/data-integrations/acme/token', { key: pipes.sandboxKey, body });

  test('another user whose ids join to the same string is not_installed', async () => {
    const other = await vend({ user_id: 'alice|team', organization_id: 'blue' });
    assert.equal(other.status, 200, other.text);
    assert.deepEqual(other.json, { active: false, error: 'not_installed' });
    const unscoped = await vend({ user_id: 'alice|team|blue' });
    assert.deepEqual(unscoped.json, { active: false, error: 'not_installed' });
  });

  test('the owner itself still gets its token, and a same-shaped import for the other owner is its own', async () => {
    const own = await vend({ user_id: 'alice', organization_id: 'team|blue' });
    assert.equal(own.json.active, true, own.text);
    assert.equal(own.json.access_token.access_token, imported.accessToken);

    // The other owner can import its own connection (no 409 from a shared compatibility slot), and each gets its own.
    const theirs = provider.issueGrant();
    const res = await api(
      pipes,
      'POST',
      `/user_management/users/${encodeURIComponent('alice|team')}/connected_accounts/acme?organization_id=blue`,
      {
        key: pipes.sandboxKey,
        body: {
          access_token: theirs.accessToken,
          refresh_token: theirs.refreshToken,
          expires_at: new Date(Date.now() + HOUR).toISOString(),
        },
      },
    );
    assert.equal(res.status, 201, res.text);
    const other = await vend({ user_id: 'alice|team', organization_id: 'blue' });
    assert.equal(other.json.access_token.access_token, theirs.accessToken);
    const again = await vend({ user_id: 'alice', organization_id: 'team|blue' });
    assert.equal(again.json.access_token.access_token, imported.accessToken);
  });
});
