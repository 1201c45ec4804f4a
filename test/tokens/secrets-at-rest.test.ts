import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { generateApiKey } from '../../src/lib/api-key-format.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { accountRow, dumpDatabase, leakedIn } from './harness.ts';
import { createFakeIntegration, getToken, importGrant } from './setup.ts';

const CLIENT_SECRET = 'pipes-client-secret-1234';

/** Where each part of a sealed blob sits (see src/vault/envelope.ts), for a key id of length L. */
function envelopeRegions(blob: Buffer): Record<string, number> {
  const L = blob[5]!;
  return {
    magic: 0,
    'format version': 4,
    'key id': 6,
    'DEK IV': 6 + L,
    'DEK tag': 18 + L,
    'wrapped DEK': 34 + L,
    'data IV': 66 + L,
    'data tag': 78 + L,
    'data ciphertext (first byte)': 94 + L,
    'data ciphertext (last byte)': blob.length - 1,
  };
}

function flipped(blob: Buffer, offset: number): Buffer {
  const copy = Buffer.from(blob);
  copy[offset] = copy[offset]! ^ 0x01;
  return copy;
}

/** Stored secrets and what the token API reveals (rows V1, V7, V9, T4, T5 of the security test plan). */
describe(`secrets at rest and on the wire (${testEngine()})`, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setUp(env: Record<string, string> = {}) {
    const clock = new ManualClock();
    const provider = await new FakeProvider({
      rotation: 'rotate',
      graceSeconds: 0,
      clientCredentials: { clientId: 'tenant-client', clientSecret: 'tenant-secret-cc-9876' },
    }).start();
    cleanup.push(() => provider.stop());
    const pipes = await startTestPipes({ clock, env, startOptions: { refresher: { background: false } } });
    cleanup.push(() => pipes.close());
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    return { clock, provider, pipes };
  }

  async function setBlob(
    pipes: TestPipes,
    id: string,
    column: 'access_token' | 'refresh_token',
    value: Buffer,
  ) {
    await pipes.server.ctx.store.db
      .updateTable('connected_accounts')
      .set({ [column]: value })
      .where('id', '=', id)
      .execute();
  }

  test('V1: one flipped byte anywhere in a sealed access token → 500 credential_unreadable, never a token', async () => {
    const { clock, provider, pipes } = await setUp();
    const { account, grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() + 3600_000),
    });
    // Served once first, so the decrypted token sits in the in-process secret cache: a changed blob must miss it.
    const served = await getToken(pipes, pipes.sandboxKey);
    assert.equal(served.json.access_token.access_token, grant.accessToken);
    const original = Buffer.from((await accountRow(pipes, account.id)).access_token!);
    for (const [region, offset] of Object.entries(envelopeRegions(original))) {
      await setBlob(pipes, account.id, 'access_token', flipped(original, offset));
      for (const route of ['token', 'credentials']) {
        const res = await api(pipes, 'POST', `/data-integrations/acme/${route}`, {
          key: pipes.sandboxKey,
          body: { user_id: 'user_1' },
        });
        assert.equal(res.status, 500, `${region} via /${route}: ${res.text}`);
        assert.equal(res.json.code, 'credential_unreadable', region);
        assert.ok(!res.text.includes(grant.accessToken), region);
        assert.equal(res.headers.get('cache-control'), 'no-store');
      }
    }
    await setBlob(pipes, account.id, 'access_token', original);
    const restored = await getToken(pipes, pipes.sandboxKey);
    assert.equal(
      restored.json.access_token.access_token,
      grant.accessToken,
      'the untouched blob still opens',
    );
    assert.equal(provider.refreshCount(), 0);
    assert.ok(!pipes.logs.text().includes(grant.accessToken));
  });

  test('V1: a flipped refresh token or integration secret stops the refresh before the provider; the account is kept', async () => {
    const { clock, provider, pipes } = await setUp();
    const { account, grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });
    const original = Buffer.from((await accountRow(pipes, account.id)).refresh_token!);
    await setBlob(pipes, account.id, 'refresh_token', flipped(original, original.length - 1));
    const broken = await getToken(pipes, pipes.sandboxKey);
    assert.equal(broken.status, 500, broken.text);
    assert.equal(broken.json.code, 'credential_unreadable');
    assert.equal(provider.refreshCount(), 0, 'nothing was sent to the provider');
    assert.equal(
      (await accountRow(pipes, account.id)).state,
      'connected',
      'a storage fault is not a dead grant',
    );
    await setBlob(pipes, account.id, 'refresh_token', original);

    const integration = await pipes.server.ctx.store.db
      .selectFrom('data_integrations')
      .select(['id', 'client_secret'])
      .where('slug', '=', 'acme')
      .executeTakeFirstOrThrow();
    const secret = Buffer.from(integration.client_secret!);
    await pipes.server.ctx.store.db
      .updateTable('data_integrations')
      .set({ client_secret: flipped(secret, 40) })
      .where('id', '=', integration.id)
      .execute();
    const noClient = await getToken(pipes, pipes.sandboxKey);
    assert.equal(noClient.status, 500, noClient.text);
    assert.equal(noClient.json.code, 'credential_unreadable');
    assert.equal(provider.refreshCount(), 0);
    await pipes.server.ctx.store.db
      .updateTable('data_integrations')
      .set({ client_secret: secret })
      .where('id', '=', integration.id)
      .execute();
    const fine = await getToken(pipes, pipes.sandboxKey);
    assert.equal(fine.json.active, true, fine.text);
    assert.equal(provider.tokenRequests[0]!.refreshToken, grant.refreshToken);
  });

  test('V7: after every happy and error flow, no issued secret is in the logs, the responses or the database', async () => {
    const { clock, provider, pipes } = await setUp({ LOG_LEVEL: 'debug' });
    const secrets = new Set<string>([
      pipes.sandboxKey,
      pipes.productionKey,
      CLIENT_SECRET,
      'tenant-secret-cc-9876',
    ]);
    const responses: string[] = [];
    const call = async (method: string, path: string, body?: unknown, key = pipes.sandboxKey) => {
      const res = await api(pipes, method, path, { key, ...(body !== undefined ? { body } : {}) });
      responses.push(JSON.stringify(Object.fromEntries(res.headers)) + res.text);
      return res;
    };
    const token = (userId: string) => call('POST', '/data-integrations/acme/token', { user_id: userId });

    // OAuth: import, refresh with rotation, a provider outage, a dead grant, an update, a delete.
    await importGrant(pipes, pipes.sandboxKey, provider, { expiresAt: new Date(clock.now() - 1000) });
    assert.equal((await token('user_1')).json.active, true);
    provider.scripted.push({ status: 503, body: '{"error":"temporarily_unavailable"}' });
    provider.scripted.push({ status: 503, body: '{"error":"temporarily_unavailable"}' });
    provider.scripted.push({ status: 503, body: '{"error":"temporarily_unavailable"}' });
    clock.advance(3600_000);
    assert.equal((await token('user_1')).status, 503);
    clock.advance(31_000);
    assert.equal((await token('user_1')).json.active, true);
    await importGrant(pipes, pipes.sandboxKey, provider, {
      userId: 'user_2',
      expiresAt: new Date(clock.now() - 1000),
    });
    provider.scripted.push({ status: 400, body: '{"error":"invalid_grant","error_description":"revoked"}' });
    assert.equal((await token('user_2')).json.error, 'needs_reauthorization');
    const replacement = provider.issueGrant();
    const put = await call('PUT', '/user_management/users/user_2/connected_accounts/acme', {
      access_token: replacement.accessToken,
      refresh_token: replacement.refreshToken,
      expires_at: new Date(clock.now() + 3600_000).toISOString(),
    });
    assert.equal(put.status, 200, put.text);
    assert.equal((await token('user_2')).json.access_token.access_token, replacement.accessToken);
    // Rejected requests that carry secrets: a bad token combination, a wrong key, a malformed body.
    const lonely = `at_lonely_${'q'.repeat(24)}`;
    secrets.add(lonely);
    const rejected = await call('POST', '/user_management/users/user_3/connected_accounts/acme', {
      access_token: lonely,
      expires_at: new Date(clock.now() + 3600_000).toISOString(),
    });
    assert.equal(rejected.status, 422);
    const unknownKey = generateApiKey('test');
    secrets.add(unknownKey);
    assert.equal(
      (await call('POST', '/data-integrations/acme/token', { user_id: 'user_1' }, unknownKey)).status,
      401,
    );
    const garbled = `{"user_id": "user_1", "refresh_token": "${replacement.refreshToken}"`;
    assert.equal((await call('POST', '/data-integrations/acme/token', garbled)).status, 400);

    // API-key and client-credentials connections.
    assert.equal(
      (
        await call('POST', '/data-integrations', {
          provider: 'stripe',
          enabled: true,
          auth_methods: ['api_key'],
        })
      ).status,
      201,
    );
    const stripeKeys = [`sk_test_stripe_${'a'.repeat(20)}1111`, `sk_test_stripe_${'b'.repeat(20)}2222`];
    for (const secret of stripeKeys) {
      secrets.add(secret);
      const installed = await call('PUT', '/data-integrations/stripe/api-key', { user_id: 'user_1', secret });
      assert.equal(installed.status, 200, installed.text);
    }
    const stripe = await call('POST', '/data-integrations/stripe/credentials', { user_id: 'user_1' });
    assert.equal(stripe.json.credential.value, stripeKeys[1]);
    const cc = await call('POST', '/data-integrations', {
      provider: 'acme-cc',
      enabled: true,
      auth_methods: ['client_credentials'],
      custom_provider: {
        name: 'Acme CC',
        authorization_url: `${provider.url}/authorize`,
        token_url: `${provider.url}/token`,
      },
    });
    assert.equal(cc.status, 201, cc.text);
    const ccInstalled = await call('PUT', '/data-integrations/acme-cc/client-credentials', {
      user_id: 'user_1',
      client_id: 'tenant-client',
      client_secret: 'tenant-secret-cc-9876',
    });
    assert.equal(ccInstalled.status, 200, ccInstalled.text);
    const ccToken = await call('POST', '/data-integrations/acme-cc/credentials', { user_id: 'user_1' });
    assert.equal(ccToken.json.active, true, ccToken.text);
    assert.ok(provider.clientCredentialTokens.has(ccToken.json.credential.value));
    const created = await call('POST', '/pipes/api-keys', { name: 'another' });
    assert.equal(created.status, 201);
    secrets.add(created.json.key);
    assert.equal((await call('DELETE', '/user_management/users/user_1/connected_accounts/acme')).status, 204);

    for (const t of provider.accessTokens) secrets.add(t);
    for (const t of provider.issuedRefreshTokens()) secrets.add(t);
    assert.ok(secrets.size > 15);
    // The capture works: it holds the lines this run must have produced.
    const logs = pipes.logs.text();
    assert.match(logs, /connected account needs reauthorization/);
    assert.deepEqual(leakedIn(logs, secrets), [], 'no secret in the logs');
    const vendedOrShown = new Set([
      ...provider.accessTokens,
      ...stripeKeys,
      created.json.key as string,
      // Secrets a caller legitimately receives: access tokens, API keys it installed, the new key shown once.
    ]);
    const hiddenFromResponses = [...secrets].filter((s) => !vendedOrShown.has(s));
    assert.deepEqual(
      leakedIn(responses.join('\n'), hiddenFromResponses),
      [],
      'no other secret in any response',
    );
    const dump = await dumpDatabase(pipes.server.ctx);
    assert.ok(dump.includes('user_2') && dump.includes('tenant-client'), 'the dump holds the rows');
    assert.deepEqual(leakedIn(dump, secrets), [], 'no secret in the database');
  });

  test('V9: API keys at rest are a digest and the last 4 characters; the full key is shown once', async () => {
    const { pipes } = await setUp();
    const created = await api(pipes, 'POST', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      body: { name: 'ci' },
    });
    assert.equal(created.status, 201, created.text);
    const key = created.json.key as string;
    assert.match(key, /^sk_test_[0-9A-Za-z]{49}$/);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const row = await pipes.server.ctx.store.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', created.json.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.digest, createHash('sha256').update(key).digest('hex'));
    assert.equal(row.last4, key.slice(-4));
    for (const value of Object.values(row)) {
      assert.ok(typeof value !== 'string' || !value.includes(key.slice(8, 40)), 'no part of the key body');
    }
    const listed = await api(pipes, 'GET', '/pipes/api-keys', { key });
    assert.equal(listed.status, 200, 'the new key works');
    assert.ok(!listed.text.includes(key), 'never shown again');
    assert.ok(listed.json.data.some((k: { last_4: string }) => k.last_4 === key.slice(-4)));
    const dump = await dumpDatabase(pipes.server.ctx);
    assert.deepEqual(leakedIn(dump, [key, pipes.sandboxKey, pipes.productionKey]), []);
    assert.ok(!pipes.logs.text().includes(key));
  });

  test('T4: Cache-Control: no-store on every /token and /credentials answer; the token never travels in a URL', async () => {
    const { clock, provider, pipes } = await setUp();
    const { grant } = await importGrant(pipes, pipes.sandboxKey, provider, {
      expiresAt: new Date(clock.now() - 1000),
    });
    const cases = [
      { user_id: 'user_1' }, // active (after a refresh)
      { user_id: 'nobody' }, // not_installed
      { user_id: 'user_1', connected_account_id: 'data_installation_unknown' }, // 404
      { user_id: 42 }, // 422
    ];
    for (const route of ['token', 'credentials']) {
      for (const body of cases) {
        const res = await api(pipes, 'POST', `/data-integrations/acme/${route}`, {
          key: pipes.sandboxKey,
          body,
        });
        assert.equal(
          res.headers.get('cache-control'),
          'no-store',
          `${route} ${JSON.stringify(body)} → ${res.status}`,
        );
      }
    }
    // The provider answers only POST /token with the refresh token in the body: any token in a URL would 404 there.
    assert.equal(provider.refreshCount(), 1);
    assert.equal(provider.tokenRequests[0]!.refreshToken, grant.refreshToken);
    const logs = pipes.logs.text();
    assert.deepEqual(leakedIn(logs, [...provider.accessTokens, ...provider.issuedRefreshTokens()]), []);
  });

  test('T5: needs_reauthorization and not_installed are 200 {active:false,error}, never an expired or held-back token', async () => {
    const { clock, provider, pipes } = await setUp();
    const both = async (userId: string) => {
      const out = [];
      for (const route of ['token', 'credentials']) {
        const res = await api(pipes, 'POST', `/data-integrations/acme/${route}`, {
          key: pipes.sandboxKey,
          body: { user_id: userId },
        });
        assert.equal(res.status, 200, res.text);
        out.push(res);
      }
      return out;
    };
    for (const res of await both('nobody'))
      assert.deepEqual(res.json, { active: false, error: 'not_installed' });

    // A dead grant with an expired token: the expired token is never handed out.
    const dead = await importGrant(pipes, pipes.sandboxKey, provider, {
      userId: 'user_dead',
      expiresAt: new Date(clock.now() - 1000),
    });
    provider.scripted.push({ status: 400, body: '{"error":"invalid_grant"}' });
    for (const res of await both('user_dead')) {
      assert.deepEqual(res.json, { active: false, error: 'needs_reauthorization' });
      assert.ok(!res.text.includes(dead.grant.accessToken));
    }

    // A valid token on an account the application marked needs_reauthorization is held back too.
    const held = await importGrant(pipes, pipes.sandboxKey, provider, {
      userId: 'user_held',
      expiresAt: new Date(clock.now() + 3600_000),
    });
    const marked = await api(pipes, 'PUT', '/user_management/users/user_held/connected_accounts/acme', {
      key: pipes.sandboxKey,
      body: { state: 'needs_reauthorization' },
    });
    assert.equal(marked.json.state, 'needs_reauthorization');
    for (const res of await both('user_held')) {
      assert.deepEqual(res.json, { active: false, error: 'needs_reauthorization' });
      assert.ok(!res.text.includes(held.grant.accessToken));
    }

    // Imported without tokens: waiting for the user.
    const empty = await api(pipes, 'POST', '/user_management/users/user_empty/connected_accounts/acme', {
      key: pipes.sandboxKey,
      body: {},
    });
    assert.equal(empty.json.state, 'needs_reauthorization');
    for (const res of await both('user_empty')) {
      assert.deepEqual(res.json, { active: false, error: 'needs_reauthorization' });
    }
    assert.equal(provider.refreshCount(), 1, 'only the dead grant was tried, once');
  });
});
