import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateApiKey } from '../../src/lib/api-key-format.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { api, startTestPipes } from '../helpers/pipes.ts';

test('PIPES_BOOTSTRAP_API_KEY is seeded as a sandbox key, idempotently, and a revocation survives restarts', async () => {
  const db = await createTestDatabase();
  const key = generateApiKey('test');
  try {
    const first = await startTestPipes({ db, env: { PIPES_BOOTSTRAP_API_KEY: key } });
    const listed = await api(first, 'GET', '/pipes/api-keys?limit=100', { key });
    assert.equal(listed.status, 200);
    const bootstrap = listed.json.data.filter((k: { name: string }) => k.name === 'bootstrap');
    assert.equal(bootstrap.length, 1);
    assert.equal(bootstrap[0].last_4, key.slice(-4));
    // The key belongs to the sandbox: the production key cannot see it.
    const prod = await api(first, 'GET', '/pipes/api-keys?limit=100', { key: first.productionKey });
    assert.ok(!prod.json.data.some((k: { id: string }) => k.id === bootstrap[0].id));
    await first.server.close();

    const second = await startTestPipes({ db, env: { PIPES_BOOTSTRAP_API_KEY: key } });
    const again = await api(second, 'GET', '/pipes/api-keys?limit=100', { key });
    assert.equal(
      again.json.data.filter((k: { name: string }) => k.name === 'bootstrap').length,
      1,
      'not seeded twice',
    );
    assert.equal(
      (await api(second, 'DELETE', `/pipes/api-keys/${bootstrap[0].id}`, { key: second.sandboxKey })).status,
      204,
    );
    await second.server.close();

    const third = await startTestPipes({ db, env: { PIPES_BOOTSTRAP_API_KEY: key } });
    assert.equal(
      (await api(third, 'GET', '/pipes/api-keys', { key })).status,
      401,
      'a restart does not undo a revocation',
    );
    await third.server.close();
  } finally {
    await db.drop();
  }
});

test('a production-mode key cannot be bootstrapped into the sandbox', async () => {
  const db = await createTestDatabase();
  try {
    await assert.rejects(startTestPipes({ db, env: { PIPES_BOOTSTRAP_API_KEY: generateApiKey('live') } }), {
      code: 'invalid_bootstrap_key',
    });
  } finally {
    await db.drop();
  }
});
