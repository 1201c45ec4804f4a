import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import { generateApiKey } from '../../src/lib/api-key-format.ts';
import { createTestDatabase, testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes } from '../helpers/pipes.ts';
import { type PipesProcess, spawnPipes } from '../helpers/process.ts';
import { accountRow, eventsNamed, eventually, storedSecret } from './harness.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

const MASTER_KEY = Buffer.alloc(32, 44).toString('base64');

/** The scheduler state of a process: 'T' when it is stopped (SIGSTOP). */
const processState = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
};

/**
 * Lease holders that die or stall, with real server processes on one database and a strict provider (a reused
 * refresh token revokes the whole family), rows R2 and R9 of the security test plan.
 */
describe(`refresh lease holders that die or stall (${testEngine()})`, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setUp() {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    const provider = await new FakeProvider({ rotation: 'rotate', graceSeconds: 0 }).start();
    cleanup.push(() => provider.stop());
    const key = generateApiKey('test');
    const env = {
      ...db.env,
      PIPES_MASTER_KEY: MASTER_KEY,
      PIPES_BOOTSTRAP_API_KEY: key,
      LOG_LEVEL: 'warn',
      PIPES_REFRESH_LEASE_MS: '15000',
    };
    const spawn = async (extra: Record<string, string> = {}): Promise<PipesProcess> => {
      const child = await spawnPipes({ ...env, ...extra });
      cleanup.push(async () => {
        child.child.kill('SIGCONT');
        await child.kill();
      });
      return child;
    };
    return { db, provider, key, env, spawn };
  }

  test('R2: the holder dies before calling the provider; another instance refreshes, once overall', async () => {
    const { provider, key, spawn } = await setUp();
    const doomed = await spawn({ PIPES_FAILPOINTS: 'before_provider_call:exit' });
    await createFakeIntegration(doomed, key, provider);
    const { grant } = await importGrant(doomed, key, provider, { expiresAt: new Date(Date.now() - 1000) });
    await getToken(doomed, key).catch(() => undefined);
    assert.equal(await doomed.exited, 137, 'died at the failpoint, holding the lease');
    assert.equal(provider.refreshCount(), 0, 'the provider was never called');

    const survivor = await spawn();
    // The survivor waits out the dead holder's lease, then refreshes with the same refresh token.
    const result = await getToken(survivor, key);
    assert.equal(result.json.active, true, result.text);
    assert.equal(provider.refreshCount(), 1, 'exactly one refresh overall');
    assert.equal(provider.tokenRequests[0]!.refreshToken, grant.refreshToken);
    assert.ok(provider.accessTokens.has(result.json.access_token.access_token));
    const account = await api(survivor, 'GET', '/user_management/users/user_1/connected_accounts/acme', {
      key,
    });
    assert.equal(account.json.state, 'connected');
  });

  test('R9: a holder stopped past its lease resumes and writes nothing; the stored refresh token stays live', async () => {
    const { db, provider, key, env, spawn } = await setUp();
    // The stale holder stops itself (SIGSTOP) after taking the lease and journaling, right before the provider call.
    const stale = await spawn({ PIPES_FAILPOINTS: 'before_provider_call:stop' });
    await createFakeIntegration(stale, key, provider);
    const { account, grant } = await importGrant(stale, key, provider, {
      expiresAt: new Date(Date.now() - 1000),
    });
    const pid = stale.child.pid!;
    const fromStale = getToken(stale, key);
    await eventually(() => processState(pid) === 'T', 'the holder to stop at the failpoint');

    // Another instance (in this process, on the same database) waits out the lease and refreshes.
    const other = await startTestPipes({
      db,
      env: { PIPES_MASTER_KEY: MASTER_KEY, PIPES_REFRESH_LEASE_MS: env.PIPES_REFRESH_LEASE_MS },
      startOptions: { refresher: { background: false } },
    });
    cleanup.push(() => other.close());
    const fresh = await getToken(other, other.sandboxKey);
    assert.equal(fresh.json.active, true, fresh.text);
    assert.equal(provider.refreshCount(), 1);

    // The stale holder resumes where it stopped: it must notice the lost lease, not call, not write.
    const before = await accountRow(other, account.id);
    stale.child.kill('SIGCONT');
    const resumed = await fromStale;
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(resumed.json.access_token.access_token, fresh.json.access_token.access_token);
    assert.equal(provider.refreshCount(), 1, 'the stale holder never sent its (stale) refresh token');
    assert.equal(provider.tokenRequests[0]!.refreshToken, grant.refreshToken);
    const after = await accountRow(other, account.id);
    assert.equal(after.token_version, before.token_version, 'the stale holder wrote nothing');
    assert.equal(after.updated_at, before.updated_at);
    assert.equal(after.state, 'connected');
    const storedRefresh = storedSecret(other.server.ctx, after, 'refresh_token')!;
    assert.ok(
      provider.isLive(storedRefresh),
      'the stored refresh token is the one the provider considers live',
    );
    assert.equal((await eventsNamed(other, 'pipes.connected_account.reauthorization_needed')).length, 0);
  });
});
