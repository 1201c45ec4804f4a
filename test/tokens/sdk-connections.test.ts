import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { NotFoundException, UnprocessableEntityException } from '@workos-inc/node';
import { ManualClock } from '../../src/lib/clock.ts';
import { testEngine } from '../helpers/database.ts';
import { FakeProvider } from '../helpers/fake-provider.ts';
import { api, startTestPipes } from '../helpers/pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { eventsNamed, leakedIn } from './harness.ts';
import { createFakeIntegration } from './setup.ts';

/** Expects `promise` to reject with the SDK's exception of `type` carrying `code`. */
async function rejectsWith(
  promise: Promise<unknown>,
  type: typeof UnprocessableEntityException | typeof NotFoundException,
  code?: string,
) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof type, `${(error as Error).name}: ${(error as Error).message}`);
    if (code !== undefined) assert.equal((error as { code?: string }).code, code);
    return true;
  });
}

/**
 * The token service through the official SDK (`@workos-inc/node` 11): OAuth connections imported, read, updated,
 * vended and deleted, for users and organizations; an API-key provider (the catalog's `stripe`) and a
 * client-credentials provider end to end.
 */
describe(`token service through the WorkOS SDK (${testEngine()})`, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setUp(options: ConstructorParameters<typeof FakeProvider>[0] = { rotation: 'none' }) {
    const clock = new ManualClock();
    const provider = await new FakeProvider(options).start();
    cleanup.push(() => provider.stop());
    const pipes = await startTestPipes({ clock, startOptions: { refresher: { background: false } } });
    cleanup.push(() => pipes.close());
    return { clock, provider, pipes, workos: sdkFor(pipes, pipes.sandboxKey) };
  }

  test('user connections: import rules, get, vend, update, list with the deprecated aliases, delete', async () => {
    const { clock, provider, pipes, workos } = await setUp();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider, 'acme', ['read', 'write']);
    const grant = provider.issueGrant();
    const expiresAt = new Date(clock.now() + 3600_000);

    // Token-combination rules (§3.6).
    await rejectsWith(
      workos.pipes.createUserConnectedAccount({
        userId: 'user_1',
        slug: 'acme',
        accessToken: grant.accessToken,
        expiresAt,
      }),
      UnprocessableEntityException,
      'invalid_token_combination',
    );
    const waiting = await workos.pipes.createUserConnectedAccount({ userId: 'user_wait', slug: 'acme' });
    assert.equal(waiting.state, 'needs_reauthorization');
    assert.deepEqual(await workos.pipes.getAccessToken({ provider: 'acme', userId: 'user_wait' }), {
      active: false,
      error: 'needs_reauthorization',
    });

    const created = await workos.pipes.createUserConnectedAccount({
      userId: 'user_1',
      slug: 'acme',
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      expiresAt,
      scopes: ['read'],
    });
    assert.equal(created.object, 'connected_account');
    assert.equal(created.state, 'connected');
    assert.equal(created.userId, 'user_1');
    assert.equal(created.authMethod, 'oauth');
    assert.equal(created.connectionRole, 'compatibility');
    assert.match(created.id, /^data_installation_/);
    await assert.rejects(
      workos.pipes.createUserConnectedAccount({ userId: 'user_1', slug: 'acme', accessToken: 'x' }),
      (error: Error & { status?: number }) => error.status === 409,
    );

    const fetched = await workos.pipes.getUserConnectedAccount({ userId: 'user_1', slug: 'acme' });
    assert.equal(fetched.id, created.id);
    assert.deepEqual(fetched.scopes, ['read']);

    const vended = await workos.pipes.getAccessToken({ provider: 'acme', userId: 'user_1' });
    assert.ok(vended.active);
    assert.equal(vended.accessToken.accessToken, grant.accessToken);
    assert.equal(vended.accessToken.expiresAt?.getTime(), expiresAt.getTime());
    assert.deepEqual(vended.accessToken.scopes, ['read']);
    assert.deepEqual(vended.accessToken.missingScopes, ['write']);
    const credential = await workos.pipes.createDataIntegrationCredential({ slug: 'acme', userId: 'user_1' });
    assert.ok(credential.active);
    assert.equal(credential.credential.authMethod, 'oauth');
    assert.equal(credential.credential.value, grant.accessToken);
    assert.deepEqual(credential.credential.missingScopes, ['write']);

    const regrant = provider.issueGrant();
    const updated = await workos.pipes.updateUserConnectedAccount({
      userId: 'user_1',
      slug: 'acme',
      accessToken: regrant.accessToken,
      refreshToken: regrant.refreshToken,
      expiresAt,
      scopes: ['read', 'write'],
    });
    assert.deepEqual(updated.scopes, ['read', 'write']);
    const afterUpdate = await workos.pipes.getAccessToken({ provider: 'acme', userId: 'user_1' });
    assert.ok(afterUpdate.active);
    assert.equal(afterUpdate.accessToken.accessToken, regrant.accessToken);
    assert.deepEqual(afterUpdate.accessToken.missingScopes, []);

    const providers = await workos.pipes.listUserDataProviders({ userId: 'user_1' });
    const acme = providers.data.find((p) => p.slug === 'acme');
    assert.ok(acme, JSON.stringify(providers));
    assert.equal(acme.connectedAccount?.id, created.id);
    const raw = await api(pipes, 'GET', '/user_management/users/user_1/data_providers', {
      key: pipes.sandboxKey,
    });
    const entry = raw.json.data.find((p: { slug: string }) => p.slug === 'acme');
    for (const alias of ['integrationType', 'credentialsType', 'createdAt', 'updatedAt']) {
      assert.ok(alias in entry, `deprecated alias ${alias}`);
    }
    assert.equal(entry.integrationType, entry.integration_type);
    assert.equal(entry.createdAt, entry.created_at);
    assert.equal(entry.connected_account.userland_user_id, 'user_1');
    assert.equal(entry.connected_account.userlandUserId, 'user_1');
    assert.ok('organizationId' in entry.connected_account);
    assert.deepEqual(leakedIn(raw.text, [regrant.accessToken, regrant.refreshToken]), []);

    await workos.pipes.deleteUserConnectedAccount({ userId: 'user_1', slug: 'acme' });
    await rejectsWith(
      workos.pipes.getUserConnectedAccount({ userId: 'user_1', slug: 'acme' }),
      NotFoundException,
    );
    assert.deepEqual(await workos.pipes.getAccessToken({ provider: 'acme', userId: 'user_1' }), {
      active: false,
      error: 'not_installed',
    });
    const disconnected = await eventsNamed(pipes, 'pipes.connected_account.disconnected');
    assert.equal(disconnected.length, 1);
    assert.equal(disconnected[0]!.data.id, created.id);
  });

  test('organization (shared) connections: import, get, vend as a member, update, list, delete', async () => {
    const { clock, provider, pipes, workos } = await setUp();
    await createFakeIntegration(pipes, pipes.sandboxKey, provider);
    const orgIntegration = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: {
        provider: 'acme',
        ownership: 'organization',
        enabled: true,
        credentials: { type: 'custom', client_id: 'pipes-client', client_secret: 'pipes-client-secret-1234' },
      },
    });
    assert.equal(orgIntegration.status, 201, orgIntegration.text);
    const grant = provider.issueGrant();
    const created = await workos.pipes.createOrganizationConnectedAccount({
      organizationId: 'org_1',
      slug: 'acme',
      userId: 'user_admin',
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      expiresAt: new Date(clock.now() + 3600_000),
    });
    assert.equal(created.organizationId, 'org_1');
    assert.equal(created.userId, null);
    const fetched = await workos.pipes.getOrganizationConnectedAccount({
      organizationId: 'org_1',
      slug: 'acme',
    });
    assert.equal(fetched.id, created.id);

    const vended = await workos.pipes.getAccessToken({
      provider: 'acme',
      userId: 'user_member',
      organizationId: 'org_1',
      connectionOwner: 'organization',
    });
    assert.ok(vended.active);
    assert.equal(vended.accessToken.accessToken, grant.accessToken);
    // The user-owned slot of the same member is a different connection.
    assert.deepEqual(await workos.pipes.getAccessToken({ provider: 'acme', userId: 'user_member' }), {
      active: false,
      error: 'not_installed',
    });

    const updated = await workos.pipes.updateOrganizationConnectedAccount({
      organizationId: 'org_1',
      slug: 'acme',
      userId: 'user_admin',
      state: 'needs_reauthorization',
    });
    assert.equal(updated.state, 'needs_reauthorization');
    const listed = await workos.pipes.listOrganizationDataProviders({ organizationId: 'org_1' });
    assert.equal(
      listed.data.find((p) => p.slug === 'acme')?.connectedAccount?.state,
      'needs_reauthorization',
    );
    assert.deepEqual(
      await workos.pipes.getAccessToken({
        provider: 'acme',
        userId: 'user_member',
        organizationId: 'org_1',
        connectionOwner: 'organization',
      }),
      { active: false, error: 'needs_reauthorization' },
    );
    await workos.pipes.deleteOrganizationConnectedAccount({ organizationId: 'org_1', slug: 'acme' });
    await rejectsWith(
      workos.pipes.getOrganizationConnectedAccount({ organizationId: 'org_1', slug: 'acme' }),
      NotFoundException,
    );
    assert.equal((await eventsNamed(pipes, 'pipes.connected_account.disconnected')).length, 1);
  });

  test('API-key provider (stripe): install, add, rotate, vend through /credentials; /token says auth_method_mismatch', async () => {
    const { pipes, workos } = await setUp();
    const integration = await workos.pipes.createDataIntegration({
      provider: 'stripe',
      enabled: true,
      authMethods: ['api_key'],
    });
    assert.deepEqual(integration.authMethods, ['api_key']);
    const first = `rk_test_${'1'.repeat(24)}AbCd`;
    const rotated = `rk_test_${'2'.repeat(24)}EfGh`;
    const other = `rk_test_${'3'.repeat(24)}IjKl`;

    const installed = await workos.pipes.updateDataIntegrationApiKey({
      slug: 'stripe',
      userId: 'user_1',
      secret: first,
    });
    assert.equal(installed.authMethod, 'api_key');
    assert.equal(installed.apiKeyLast4, 'AbCd');
    assert.equal(installed.state, 'connected');
    const added = await workos.pipes.createDataIntegrationApiKey({
      slug: 'stripe',
      userId: 'user_2',
      secret: other,
      connectionIntent: 'add',
    });
    assert.equal(added.apiKeyLast4, 'IjKl');

    const credential = await workos.pipes.createDataIntegrationCredential({
      slug: 'stripe',
      userId: 'user_1',
    });
    assert.ok(credential.active);
    assert.equal(credential.credential.authMethod, 'api_key');
    assert.equal(credential.credential.value, first);
    await rejectsWith(
      workos.pipes.getAccessToken({ provider: 'stripe', userId: 'user_1' }),
      UnprocessableEntityException,
      'auth_method_mismatch',
    );
    const raw = await api(pipes, 'POST', '/data-integrations/stripe/token', {
      key: pipes.sandboxKey,
      body: { user_id: 'user_1' },
    });
    assert.equal(raw.status, 422);
    assert.match(raw.json.message, /credentials endpoint/);
    assert.ok(!raw.text.includes(first));

    const rotatedAccount = await workos.pipes.updateDataIntegrationApiKey({
      slug: 'stripe',
      userId: 'user_1',
      secret: rotated,
    });
    assert.equal(rotatedAccount.id, installed.id, 'rotated in place');
    assert.equal(rotatedAccount.apiKeyLast4, 'EfGh');
    const after = await workos.pipes.createDataIntegrationCredential({ slug: 'stripe', userId: 'user_1' });
    assert.ok(after.active);
    assert.equal(after.credential.value, rotated);

    // Only the last 4 are ever shown outside /credentials.
    const shown = [
      (
        await api(pipes, 'GET', '/user_management/users/user_1/connected_accounts/stripe', {
          key: pipes.sandboxKey,
        })
      ).text,
      (await api(pipes, 'GET', '/user_management/users/user_1/data_providers', { key: pipes.sandboxKey }))
        .text,
      (await api(pipes, 'GET', '/data-integrations/stripe', { key: pipes.sandboxKey })).text,
    ].join('\n');
    assert.match(shown, /EfGh/);
    assert.deepEqual(leakedIn(shown, [first, rotated, other]), []);
    assert.deepEqual(leakedIn(pipes.logs.text(), [first, rotated, other]), []);
  });

  test('client-credentials provider: install, grant on demand, reuse until expiry, rotate, a dead client', async () => {
    const { clock, provider, pipes, workos } = await setUp({
      rotation: 'none',
      accessTokenTtlSeconds: 600,
      clientCredentials: { clientId: 'tenant-1', clientSecret: 'tenant-secret-0001' },
    });
    const integration = await workos.pipes.createDataIntegration({
      provider: 'acme-cc',
      enabled: true,
      authMethods: ['client_credentials'],
      customProvider: {
        name: 'Acme machine API',
        authorizationUrl: `${provider.url}/authorize`,
        tokenUrl: `${provider.url}/token`,
        authenticateVia: 'basic_auth_header',
      },
    });
    assert.deepEqual(integration.authMethods, ['client_credentials']);
    const installed = await workos.pipes.updateDataIntegrationClientCredentials({
      slug: 'acme-cc',
      userId: 'user_1',
      clientId: 'tenant-1',
      clientSecret: 'tenant-secret-0001',
      config: { region: 'eu' },
    });
    assert.equal(installed.authMethod, 'client_credentials');
    assert.equal(installed.clientId, 'tenant-1');
    assert.equal(installed.clientSecretLast4, '0001');
    assert.deepEqual(installed.config, { region: 'eu' });

    const first = await workos.pipes.createDataIntegrationCredential({ slug: 'acme-cc', userId: 'user_1' });
    assert.ok(first.active);
    assert.equal(first.credential.authMethod, 'client_credentials');
    assert.ok(provider.clientCredentialTokens.has(first.credential.value));
    assert.equal(Date.parse(first.credential.expiresAt!), clock.now() + 600_000);
    assert.deepEqual(first.credential.config, { region: 'eu' });
    assert.equal(provider.tokenRequests.filter((r) => r.grantType === 'client_credentials').length, 1);
    const again = await workos.pipes.createDataIntegrationCredential({ slug: 'acme-cc', userId: 'user_1' });
    assert.ok(again.active);
    assert.equal(again.credential.value, first.credential.value, 'reused while fresh');
    assert.equal(provider.tokenRequests.length, 1);
    await rejectsWith(
      workos.pipes.getAccessToken({ provider: 'acme-cc', userId: 'user_1' }),
      UnprocessableEntityException,
      'auth_method_mismatch',
    );

    clock.advance(600_000);
    const renewed = await workos.pipes.createDataIntegrationCredential({ slug: 'acme-cc', userId: 'user_1' });
    assert.ok(renewed.active);
    assert.notEqual(renewed.credential.value, first.credential.value, 'a new grant at expiry');
    assert.equal(provider.tokenRequests.length, 2);

    // Another tenant with its own connection; then the first tenant's secret is rotated to a wrong one.
    const addedAccount = await workos.pipes.createDataIntegrationClientCredential({
      slug: 'acme-cc',
      userId: 'user_2',
      clientId: 'tenant-1',
      clientSecret: 'tenant-secret-0001',
      connectionIntent: 'add',
    });
    assert.equal(addedAccount.clientSecretLast4, '0001');
    await workos.pipes.updateDataIntegrationClientCredentials({
      slug: 'acme-cc',
      userId: 'user_1',
      clientId: 'tenant-1',
      clientSecret: 'tenant-secret-wrong',
    });
    assert.deepEqual(
      await workos.pipes.createDataIntegrationCredential({ slug: 'acme-cc', userId: 'user_1' }),
      {
        active: false,
        error: 'needs_reauthorization',
      },
    );
    const other = await workos.pipes.createDataIntegrationCredential({ slug: 'acme-cc', userId: 'user_2' });
    assert.ok(other.active, 'the other tenant is unaffected');
    const shown = (
      await api(pipes, 'GET', '/user_management/users/user_1/connected_accounts/acme-cc', {
        key: pipes.sandboxKey,
      })
    ).text;
    assert.deepEqual(leakedIn(shown + pipes.logs.text(), ['tenant-secret-0001', 'tenant-secret-wrong']), []);
  });
});
