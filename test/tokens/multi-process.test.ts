import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateApiKey } from '../../src/lib/api-key-format.ts';
import { createTestDatabase, type TestDatabase, testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api } from '../helpers/pipes.ts';
import { type PipesProcess, spawnPipes } from '../helpers/process.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

const MASTER_KEY = Buffer.alloc(32, 42).toString('base64');

/**
 * Named cases 1 and 2 of the token issue: many concurrent `getAccessToken` calls for an expired token, spread over
 * several real Pipes processes sharing one database (3 on PostgreSQL, 2 on one SQLite file). Exactly one refresh
 * reaches the provider, and every caller gets the same new token. The provider revokes the whole token family if a
 * rotated refresh token is ever reused, so a double refresh would fail the test loudly.
 */
describe(`single-flight refresh across processes (${testEngine()})`, () => {
  let db: TestDatabase;
  let provider: FakeProvider;
  const processes: PipesProcess[] = [];
  const key = generateApiKey('test');

  before(async () => {
    db = await createTestDatabase();
    provider = await new FakeProvider({ rotation: 'rotate', graceSeconds: 0, refreshDelayMs: 300 }).start();
  });
  after(async () => {
    for (const p of processes) await p.kill();
    await provider.stop();
    await db.drop();
  });

  test('200 concurrent calls, one refresh, one token for everyone', async () => {
    const count = testEngine() === 'postgres' ? 3 : 2;
    const env = { ...db.env, PIPES_MASTER_KEY: MASTER_KEY, PIPES_BOOTSTRAP_API_KEY: key, LOG_LEVEL: 'warn' };
    // Start the first alone so it migrates; the others then start together.
    processes.push(await spawnPipes(env));
    processes.push(...(await Promise.all(Array.from({ length: count - 1 }, () => spawnPipes(env)))));
    const first = processes[0]!;
    await createFakeIntegration(first, key, provider);
    await importGrant(first, key, provider, { expiresAt: new Date(Date.now() - 1000) });

    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => getToken(processes[i % count]!, key)),
    );
    const failures = results.filter((r) => r.status !== 200 || r.json.active !== true);
    assert.deepEqual(
      failures.map((f) => f.text),
      [],
    );
    const tokens = new Set(results.map((r) => r.json.access_token.access_token as string));
    assert.equal(provider.refreshCount(), 1, 'exactly one refresh reached the provider');
    assert.equal(tokens.size, 1, 'every caller got the same new token');
    assert.ok(provider.accessTokens.has([...tokens][0]!));

    const account = await api(first, 'GET', '/user_management/users/user_1/connected_accounts/acme', { key });
    assert.equal(account.json.state, 'connected');
  });
});
