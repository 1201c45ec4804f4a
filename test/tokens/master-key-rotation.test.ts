import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { generateApiKey } from '../../src/lib/api-key-format.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server.ts';
import { runPipes } from '../helpers/cli.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api } from '../helpers/pipes.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

const OLD = `k1:${Buffer.alloc(32, 11).toString('base64')}`;
const NEW = `k2:${Buffer.alloc(32, 22).toString('base64')}`;

/** Named case 5 and row V5: an interrupted master-key rotation resumes to completion; reads work throughout. */
test('an interrupted master-key rotation resumes to completion while Pipes serves tokens', async () => {
  const db = await createTestDatabase();
  const provider = await new FakeProvider({ rotation: 'none' }).start();
  const key = generateApiKey('test');
  const base = { ...db.env, PIPES_BOOTSTRAP_API_KEY: key, LOG_LEVEL: 'silent', PORT: '0' };
  const start = (env: Record<string, string>) =>
    startServer(loadConfig({ ...base, ...env }), { log: createLogger('silent') });
  try {
    const before = await start({ PIPES_MASTER_KEY: OLD });
    const tokens: Record<string, string> = {};
    await createFakeIntegration(before, key, provider);
    for (let i = 0; i < 5; i++) {
      const { grant } = await importGrant(before, key, provider, {
        userId: `user_${i}`,
        expiresAt: new Date(Date.now() + 3600_000),
      });
      tokens[`user_${i}`] = grant.accessToken;
    }
    await before.close();

    // Pipes now runs with the new key active and the old one kept for reading.
    const during = await start({ PIPES_MASTER_KEY: NEW, PIPES_MASTER_KEYS: OLD });
    const rotationEnv = { ...base, PIPES_MASTER_KEY: NEW, PIPES_MASTER_KEYS: OLD };
    const interrupted = await runPipes(['keys', 'rotate-master'], {
      ...rotationEnv,
      PIPES_FAILPOINTS: 'rotate_master_after_batch:exit',
    });
    assert.equal(interrupted.code, 137, interrupted.stderr);
    const midway = await runPipes(['keys', 'rotate-master', '--status'], rotationEnv);
    assert.match(midway.stdout, /k1: \d+ secret/);
    for (const [user, token] of Object.entries(tokens)) {
      const res = await getToken(during, key, user);
      assert.equal(res.json.access_token.access_token, token, 'reads work during the rotation');
    }
    const resumed = await runPipes(['keys', 'rotate-master'], rotationEnv);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, /Nothing is left under an older key/);
    await during.close();

    // The old key can now be retired: everything opens with the new key alone, byte for byte.
    const after = await start({ PIPES_MASTER_KEY: NEW });
    try {
      for (const [user, token] of Object.entries(tokens)) {
        assert.equal((await getToken(after, key, user)).json.access_token.access_token, token);
      }
      const integration = await api(after, 'GET', '/data-integrations/acme', { key });
      assert.equal(integration.json.credentials.redacted_client_secret, '1234');
    } finally {
      await after.close();
    }
    const status = await runPipes(['keys', 'rotate-master', '--status'], { ...base, PIPES_MASTER_KEY: NEW });
    assert.doesNotMatch(status.stdout, /k1:/);
  } finally {
    await provider.stop();
    await db.drop();
  }
});
