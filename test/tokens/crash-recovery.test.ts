import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateApiKey } from '../../src/lib/api-key-format.ts';
import { createTestDatabase, type TestDatabase, testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api } from '../helpers/pipes.ts';
import { spawnPipes } from '../helpers/process.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

const MASTER_KEY = Buffer.alloc(32, 43).toString('base64');

/**
 * Named case 3: the process dies after the provider answered a rotating refresh and before the commit. The journal
 * row tells the next holder the outcome is unknown; it retries with the same refresh token. A provider with a grace
 * window accepts it and the connection survives; a strict one refuses it, and the result is exactly one clean
 * needs_reauthorization (reason refresh_outcome_unknown), never a silent loss or a retry loop.
 */
describe(`crash between the provider's answer and the commit (${testEngine()})`, () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  for (const graceSeconds of [1800, 0]) {
    test(
      graceSeconds > 0
        ? 'with a grace window the connection survives'
        : 'without one: one clean needs_reauthorization',
      async () => {
        const fresh = await createTestDatabase();
        const provider = await new FakeProvider({ rotation: 'rotate', graceSeconds }).start();
        const key = generateApiKey('test');
        const env = {
          ...fresh.env,
          PIPES_MASTER_KEY: MASTER_KEY,
          PIPES_BOOTSTRAP_API_KEY: key,
          LOG_LEVEL: 'warn',
          PIPES_REFRESH_LEASE_MS: '15000',
        };
        try {
          const doomed = await spawnPipes({ ...env, PIPES_FAILPOINTS: 'after_provider_response:exit' });
          await createFakeIntegration(doomed, key, provider);
          await importGrant(doomed, key, provider, { expiresAt: new Date(Date.now() - 1000) });
          await getToken(doomed, key).catch(() => undefined);
          assert.equal(await doomed.exited, 137, 'the process died at the failpoint');
          assert.equal(provider.refreshCount(), 1, 'the provider had answered (and rotated)');

          const survivor = await spawnPipes(env);
          try {
            // The dead holder's lease must expire first; the survivor waits it out and retries with the same token.
            const result = await getToken(survivor, key);
            const account = await api(
              survivor,
              'GET',
              '/user_management/users/user_1/connected_accounts/acme',
              { key },
            );
            const events = await api(
              survivor,
              'GET',
              '/events?events=pipes.connected_account.reauthorization_needed',
              { key },
            );
            if (graceSeconds > 0) {
              assert.equal(result.json.active, true, result.text);
              assert.equal(account.json.state, 'connected');
              assert.equal(events.json.data.length, 0);
              assert.equal(provider.tokenRequests[1]!.refreshToken, provider.tokenRequests[0]!.refreshToken);
            } else {
              assert.deepEqual(result.json, { active: false, error: 'needs_reauthorization' });
              assert.equal(account.json.state, 'needs_reauthorization');
              assert.equal(events.json.data.length, 1, 'exactly one reauthorization_needed event');
              const calls = provider.refreshCount();
              assert.deepEqual((await getToken(survivor, key)).json, {
                active: false,
                error: 'needs_reauthorization',
              });
              assert.equal(provider.refreshCount(), calls, 'no retry loop');
            }
          } finally {
            await survivor.kill();
          }
        } finally {
          await provider.stop();
          await fresh.drop();
        }
      },
    );
  }
});
