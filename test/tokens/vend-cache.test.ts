import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase, testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { createFakeIntegration, getToken, importGrant, replaceGrant } from './setup.ts';

/**
 * Vending serves the integration and connection lookups from memory while the database is unchanged (SQLite). Every
 * change must show at once on every instance sharing the database: a disconnect, a re-import, a deleted
 * integration. Two Pipes instances share one database here; A answers, B changes things.
 */
describe(`token vending sees every change at once, on every instance (${testEngine()})`, () => {
  let database: TestDatabase;
  let a: TestPipes;
  let b: TestPipes;
  let provider: FakeProvider;
  const future = () => new Date(Date.now() + 3_600_000);

  before(async () => {
    provider = await new FakeProvider({ rotation: 'none' }).start();
    database = await createTestDatabase();
    a = await startTestPipes({ db: database });
    b = await startTestPipes({ db: database });
    await createFakeIntegration(a, a.sandboxKey, provider);
  });
  after(async () => {
    await a.close();
    await b.close();
    await database.drop();
    await provider.stop();
  });

  test('a connection deleted on another instance is not_installed on the next call', async () => {
    const { grant } = await importGrant(b, b.sandboxKey, provider, { expiresAt: future() });
    for (let i = 0; i < 3; i++) {
      const warm = await getToken(a, a.sandboxKey);
      assert.equal(warm.json.access_token?.access_token, grant.accessToken);
    }
    const deleted = await api(b, 'DELETE', '/user_management/users/user_1/connected_accounts/acme', {
      key: b.sandboxKey,
    });
    assert.equal(deleted.status, 204);
    const after = await getToken(a, a.sandboxKey);
    assert.equal(after.status, 200);
    assert.deepEqual(after.json, { active: false, error: 'not_installed' });
  });

  test('a not_installed answer does not stick: a connection imported elsewhere is served at once', async () => {
    assert.deepEqual((await getToken(a, a.sandboxKey, 'user_2')).json, {
      active: false,
      error: 'not_installed',
    });
    const { grant } = await importGrant(b, b.sandboxKey, provider, { userId: 'user_2', expiresAt: future() });
    const served = await getToken(a, a.sandboxKey, 'user_2');
    assert.equal(served.json.access_token?.access_token, grant.accessToken);
  });

  test('new tokens imported on another instance replace the served ones at once', async () => {
    const first = await importGrant(b, b.sandboxKey, provider, { userId: 'user_3', expiresAt: future() });
    assert.equal(
      (await getToken(a, a.sandboxKey, 'user_3')).json.access_token.access_token,
      first.grant.accessToken,
    );
    const second = await replaceGrant(b, b.sandboxKey, provider, future(), 'user_3');
    assert.equal(
      (await getToken(a, a.sandboxKey, 'user_3')).json.access_token.access_token,
      second.accessToken,
    );
  });

  test('an integration deleted on another instance is gone at once', async () => {
    await importGrant(b, b.sandboxKey, provider, { userId: 'user_4', expiresAt: future() });
    assert.equal((await getToken(a, a.sandboxKey, 'user_4')).json.active, true);
    const deleted = await api(b, 'DELETE', '/data-integrations/acme', { key: b.sandboxKey });
    assert.ok(deleted.status === 200 || deleted.status === 204, deleted.text);
    const after = await getToken(a, a.sandboxKey, 'user_4');
    assert.equal(after.status, 404);
    assert.equal(after.json.code, 'data_integration_not_found');
  });
});
