import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConflictException, NotFoundException, UnprocessableEntityException } from '@workos-inc/node';
import { integrationSecretBinding } from '../../src/providers/resolve.ts';
import { generateMasterKey } from '../../src/vault/index.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { Browser } from '../oauth/browser.ts';
import { confirm, deliver, RETURN_TO, returnedTo, sandboxConsent, sdkFor } from '../oauth/flow-helpers.ts';

const SECRET = 'gh-client-secret-9f8e7d6c5b4a';
const SHARED_SECRET = 'shared-github-secret-0a1b2c3d';

/** The exact §4.1 field set, plus Pipes' `status` and `status_reason`. */
const FIELDS = [
  'auth_methods',
  'config',
  'created_at',
  'credentials',
  'custom_provider',
  'description',
  'enabled',
  'id',
  'installation',
  'integration_type',
  'object',
  'ownership',
  'redirect_uri',
  'scopes',
  'slug',
  'state',
  'status',
  'status_reason',
  'updated_at',
];

function configFile(content: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipes-config-'));
  const file = path.join(dir, 'pipes.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('data integrations management API', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startPublicTestPipes({
      env: {
        PIPES_CONFIG_FILE: configFile({
          app_name: 'Acme CRM',
          shared_credentials: { github: { client_id: 'shared-gh', client_secret: SHARED_SECRET } },
        }),
      },
    });
  });
  after(() => pipes.close());
  const call = (method: string, route: string, body?: unknown, key = pipes.sandboxKey) =>
    api(pipes, method, route, { key, ...(body !== undefined ? { body } : {}) });

  test('create a catalog provider with custom credentials: the §4.1 shape, only the last 4 of the secret', async () => {
    const created = await call('POST', '/data-integrations', {
      provider: 'github',
      description: 'Production GitHub app',
      enabled: true,
      scopes: ['repo', 'read:org'],
      credentials: { type: 'custom', client_id: 'Iv1.abc123', client_secret: SECRET },
    });
    assert.equal(created.status, 201, created.text);
    const body = created.json;
    assert.deepEqual(Object.keys(body).sort(), FIELDS);
    assert.equal(body.object, 'data_integration');
    assert.match(body.id, /^data_integration_[0-9A-Z]{26}$/);
    assert.equal(body.slug, 'github');
    assert.equal(body.integration_type, 'github');
    assert.equal(body.ownership, 'user');
    assert.equal(body.state, 'valid');
    assert.equal(body.status, 'active');
    assert.equal(body.status_reason, null);
    assert.deepEqual(body.scopes, ['repo', 'read:org']);
    assert.deepEqual(body.auth_methods, ['oauth']);
    assert.deepEqual(body.credentials, {
      type: 'custom',
      client_id: 'Iv1.abc123',
      redacted_client_secret: SECRET.slice(-4),
    });
    assert.equal(body.installation, null);
    assert.deepEqual(body.config, {});
    assert.equal(body.custom_provider, null);
    assert.match(
      body.redirect_uri,
      new RegExp(`^${pipes.config.publicUrl}/data-integrations/github/dik_[0-9A-Z]{26}/callback$`),
    );
    assert.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(!created.text.includes(SECRET));
    assert.ok(!created.text.includes(SECRET.slice(0, -4)));

    const row = await pipes.server.ctx.store.db
      .selectFrom('data_integrations')
      .selectAll()
      .where('id', '=', body.id)
      .executeTakeFirstOrThrow();
    assert.ok(!row.client_secret!.toString('latin1').includes(SECRET), 'sealed at rest');
    assert.equal(pipes.server.ctx.vault.open(row.client_secret!, integrationSecretBinding(row)), SECRET);

    const got = await call('GET', '/data-integrations/github');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, body);
  });

  test('the real SDK: list, get, update, delete', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    await workos.pipes.createDataIntegration({
      provider: 'linear',
      credentials: { type: 'custom', clientId: 'lin', clientSecret: 'linear-secret-123456' },
    });
    const first = await workos.pipes.listDataIntegrations({ limit: 1 });
    assert.deepEqual(
      first.data.map((i) => i.slug),
      ['linear'],
      'newest first',
    );
    const second = await workos.pipes.listDataIntegrations({ limit: 1, after: first.listMetadata.after! });
    assert.deepEqual(
      second.data.map((i) => i.slug),
      ['github'],
    );
    assert.equal(second.listMetadata.after, null);
    const all = await (await workos.pipes.listDataIntegrations()).autoPagination();
    assert.deepEqual(all.map((i) => i.slug).sort(), ['github', 'linear']);

    const linear = await workos.pipes.getDataIntegration({ slug: 'linear' });
    assert.equal(linear.enabled, false, 'disabled by default');
    assert.ok(linear.createdAt instanceof Date);
    assert.equal(linear.credentials?.redactedClientSecret, '3456');

    const updated = await workos.pipes.updateDataIntegration({
      slug: 'linear',
      description: 'Issues',
      enabled: true,
      scopes: ['read', 'write'],
      credentials: { type: 'custom', clientId: 'lin2', clientSecret: 'rotated-secret-abcd' },
    });
    assert.equal(updated.description, 'Issues');
    assert.equal(updated.enabled, true);
    assert.deepEqual(updated.scopes, ['read', 'write']);
    assert.deepEqual(updated.credentials, { type: 'custom', clientId: 'lin2', redactedClientSecret: 'abcd' });
    const reset = await call('PUT', '/data-integrations/linear', { scopes: null });
    assert.equal(reset.json.scopes, null, 'null resets to the provider defaults');
    assert.equal(reset.json.description, 'Issues', 'fields not sent are kept');

    await workos.pipes.deleteDataIntegration({ slug: 'linear' });
    await assert.rejects(workos.pipes.getDataIntegration({ slug: 'linear' }), NotFoundException);
    await assert.rejects(workos.pipes.deleteDataIntegration({ slug: 'linear' }), NotFoundException);
  });

  test('409 for a duplicate slug in the environment (SDK: ConflictException)', async () => {
    const again = await call('POST', '/data-integrations', { provider: 'github' });
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'data_integration_already_exists');
    assert.match(again.json.message, /A data integration with this slug already exists in the environment/);
    await assert.rejects(
      sdkFor(pipes, pipes.sandboxKey).pipes.createDataIntegration({ provider: 'github' }),
      ConflictException,
    );
    // The same slug in another environment is another integration.
    assert.equal(
      (await call('POST', '/data-integrations', { provider: 'github' }, pipes.productionKey)).status,
      201,
    );
  });

  test('422 with one error per field', async () => {
    const cases: [unknown, string, string][] = [
      [{ provider: 'no-such-provider' }, 'provider', 'unknown_provider'],
      [{ provider: 'Bad Slug' }, 'provider', 'invalid_format'],
      [{ provider: 'github', scopes: ['has space'] }, 'scopes.0', 'invalid_format'],
      [{ provider: 'github', scopes: ['a', 'a'] }, 'scopes', 'custom'],
      [
        { provider: 'github', auth_methods: ['client_credentials'] },
        'auth_methods.0',
        'unsupported_auth_method',
      ],
      [
        { provider: 'openai', credentials: { type: 'custom', client_id: 'x', client_secret: 'y' } },
        'credentials',
        'not_allowed',
      ],
      [
        { provider: 'gitlab', credentials: { type: 'custom', client_id: 'x' } },
        'credentials.client_secret',
        'required',
      ],
      [
        { provider: 'gitlab', credentials: { type: 'organization' } },
        'credentials.type',
        'unsupported_credentials_type',
      ],
      [{ provider: 'gitlab', credentials: { type: 'weird' } }, 'credentials.type', 'invalid_value'],
      [{ provider: 'zendesk', config: { subdomain: 'evil.test#' } }, 'config.subdomain', 'invalid_format'],
      [{ provider: 'zendesk', config: { region: 'eu' } }, 'config.region', 'unknown_field'],
      [{ provider: 'gitlab', api_key: { secret: 'k' } }, 'api_key', 'not_supported'],
      [{ provider: 'gitlab', surprise: 1 }, '(body)', 'unknown_field'],
      [
        {
          provider: 'github',
          custom_provider: {
            name: 'Mine',
            authorization_url: 'https://a.test/a',
            token_url: 'https://a.test/t',
          },
        },
        'provider',
        'reserved_slug',
      ],
      [
        { provider: 'mine', custom_provider: { authorization_url: 'https://a.test/a' } },
        'custom_provider.name',
        'invalid_type',
      ],
      [
        {
          provider: 'mine',
          custom_provider: { name: 'M', authorization_url: 'ftp://a.test/a', token_url: 'https://a.test/t' },
        },
        'custom_provider.authorization_url',
        'custom',
      ],
      [
        {
          provider: 'mine',
          custom_provider: {
            name: 'M',
            authorization_url: 'https://a.test/a',
            token_url: 'http://169.254.169.254/token',
          },
        },
        'custom_provider.token_url',
        'blocked_destination',
      ],
      [
        { provider: 'mine', custom_provider: { name: 'M', authorization_url: 'https://a.test/a' } },
        'custom_provider.token_url',
        'required',
      ],
      [
        {
          provider: 'mine',
          custom_provider: {
            name: 'M',
            authorization_url: 'https://a.test/a',
            token_url: 'https://a.test/t',
            additional_authorization_parameters: { redirect_uri: 'https://evil.test' },
          },
        },
        'custom_provider.additional_authorization_parameters.redirect_uri',
        'custom',
      ],
      [
        {
          provider: 'mine',
          scopes: [],
          custom_provider: {
            name: 'M',
            authorization_url: 'https://a.test/a',
            token_url: 'https://a.test/t',
            scopes_required: true,
          },
        },
        'scopes',
        'required',
      ],
    ];
    for (const [body, field, code] of cases) {
      const response = await call('POST', '/data-integrations', body);
      assert.equal(response.status, 422, `${JSON.stringify(body)}: ${response.text}`);
      assert.equal(response.json.code, 'invalid_request_parameters');
      const error = response.json.errors.find((e: { field: string }) => e.field === field);
      assert.ok(error, `${JSON.stringify(body)}: no error for ${field} in ${response.text}`);
      assert.equal(error.code, code, `${JSON.stringify(body)}: ${response.text}`);
      assert.ok(!response.text.includes('evil.test#'), 'hostile values are not echoed');
    }
    await assert.rejects(
      sdkFor(pipes, pipes.sandboxKey).pipes.createDataIntegration({ provider: 'no-such-provider' }),
      UnprocessableEntityException,
    );
  });

  test('shared credentials: sandbox environments only; in production a 422 that says to use custom credentials', async () => {
    const production = await call(
      'POST',
      '/data-integrations',
      { provider: 'gitlab', credentials: { type: 'shared' } },
      pipes.productionKey,
    );
    assert.equal(production.status, 422);
    assert.equal(production.json.errors[0].code, 'shared_credentials_unavailable');
    assert.match(production.json.errors[0].message, /only available in sandbox environments/);
    assert.match(production.json.errors[0].message, /"type": "custom"/);

    const none = await call('POST', '/data-integrations', {
      provider: 'gitlab',
      credentials: { type: 'shared' },
    });
    assert.equal(none.status, 422);
    assert.match(none.json.errors[0].message, /shared_credentials\.gitlab/);

    await call('DELETE', '/data-integrations/github');
    const shared = await call('POST', '/data-integrations', {
      provider: 'github',
      enabled: true,
      credentials: { type: 'shared' },
    });
    assert.equal(shared.status, 201, shared.text);
    assert.deepEqual(shared.json.credentials, {
      type: 'shared',
      client_id: 'shared-gh',
      redacted_client_secret: null,
    });
    assert.equal(shared.json.status, 'active');
    assert.ok(!shared.text.includes(SHARED_SECRET));
  });

  test('status: inactive with a reason naming the provider and the environment', async () => {
    const created = await call('POST', '/data-integrations', { provider: 'notion' });
    assert.equal(created.json.state, 'invalid');
    assert.equal(created.json.status, 'inactive');
    assert.match(
      created.json.status_reason,
      /Notion \(notion\) in the sandbox environment has no OAuth credentials/,
    );
    const withCreds = await call('PUT', '/data-integrations/notion', {
      credentials: { type: 'custom', client_id: 'n', client_secret: 'notion-secret-12345' },
    });
    assert.equal(withCreds.json.state, 'valid');
    assert.equal(withCreds.json.status, 'inactive');
    assert.match(
      withCreds.json.status_reason,
      /is disabled\. Enable it with PUT \/data-integrations\/notion/,
    );
    const enabled = await call('PUT', '/data-integrations/notion', { enabled: true });
    assert.equal(enabled.json.status, 'active');
  });

  test('authorize: clear errors naming the provider and the environment, and saying what to do', async () => {
    const authorize = (slug: string, body: Record<string, unknown> = {}, key = pipes.sandboxKey) =>
      call('POST', `/data-integrations/${slug}/authorize`, { user_id: 'user_1', ...body }, key);

    const missing = await authorize('hubspot');
    assert.equal(missing.status, 404);
    assert.match(
      missing.json.message,
      /"hubspot" in the sandbox environment\. Create it with POST \/data-integrations/,
    );

    await call('POST', '/data-integrations', {
      provider: 'hubspot',
      credentials: { type: 'custom', client_id: 'h', client_secret: 'hubspot-secret-1234' },
    });
    const disabled = await authorize('hubspot');
    assert.equal(disabled.status, 422);
    assert.equal(disabled.json.code, 'data_integration_disabled');
    assert.match(disabled.json.message, /HubSpot \(hubspot\) in the sandbox environment is disabled/);

    await call('POST', '/data-integrations', { provider: 'asana', enabled: true });
    const noCredentials = await authorize('asana');
    assert.equal(noCredentials.status, 422);
    assert.equal(noCredentials.json.code, 'credentials_missing');
    assert.match(
      noCredentials.json.message,
      /Asana \(asana\) in the sandbox environment has no OAuth credentials\. Set them with PUT/,
    );

    await call('POST', '/data-integrations', { provider: 'openai', enabled: true });
    const apiKeyOnly = await authorize('openai');
    assert.equal(apiKeyOnly.status, 422);
    assert.equal(apiKeyOnly.json.code, 'auth_method_mismatch');

    await call('POST', '/data-integrations', {
      provider: 'zendesk',
      enabled: true,
      credentials: { type: 'custom', client_id: 'z', client_secret: 'zendesk-secret-123' },
    });
    const needsSubdomain = await authorize('zendesk');
    assert.equal(needsSubdomain.status, 422);
    assert.equal(needsSubdomain.json.errors[0].field, 'config.subdomain');
    for (const hostile of ['evil.test#', 'a.evil.test/', 'x@evil.test', '../admin']) {
      const refused = await authorize('zendesk', { config: { subdomain: hostile } });
      assert.equal(refused.status, 422, hostile);
      assert.equal(refused.json.errors[0].code, 'invalid_format');
    }
    const ok = await authorize('zendesk', { config: { subdomain: 'acme' } });
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.json.url, /\/authorize-redirect$/);
    const page = await fetch(ok.json.url);
    assert.match(
      await page.text(),
      /<h1>Connect your Zendesk account to Acme CRM as <strong>user_1<\/strong><\/h1>/,
    );

    const notRegistered = await authorize('zendesk', {
      config: { subdomain: 'acme' },
      return_to: 'https://evil.test/',
    });
    assert.equal(notRegistered.status, 422);
    assert.equal(notRegistered.json.code, 'invalid_return_to');
  });

  test("another environment's integration is a 404 identical to a missing one", async () => {
    await call('POST', '/data-integrations', { provider: 'figma' });
    const other = await call('GET', '/data-integrations/figma', undefined, pipes.productionKey);
    const missing = await call('GET', '/data-integrations/miro', undefined, pipes.productionKey);
    assert.equal(other.status, 404);
    assert.deepEqual(
      { ...other.json, message: other.json.message.replace('figma', 'X') },
      { ...missing.json, message: missing.json.message.replace('miro', 'X') },
    );
    for (const [method, route] of [
      ['PUT', '/data-integrations/figma'],
      ['DELETE', '/data-integrations/figma'],
      ['POST', '/data-integrations/figma/authorize'],
    ] as const) {
      const response = await call(
        method,
        route,
        method === 'DELETE' ? undefined : { user_id: 'u' },
        pipes.productionKey,
      );
      assert.equal(response.status, 404, `${method} ${route}`);
    }
    const list = await call('GET', '/data-integrations?limit=100', undefined, pipes.productionKey);
    assert.ok(!list.json.data.some((i: { slug: string }) => i.slug === 'figma'));
  });

  test('custom providers: §4.5 defaults, update merges, catalog integrations refuse custom_provider', async () => {
    const created = await call('POST', '/data-integrations', {
      provider: 'acme-crm',
      credentials: { type: 'custom', client_id: 'acme', client_secret: 'acme-secret-123456' },
      custom_provider: {
        name: 'Acme CRM',
        authorization_url: 'https://acme.test/oauth/authorize',
        token_url: 'https://acme.test/oauth/token',
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.integration_type, 'custom');
    assert.deepEqual(created.json.custom_provider, {
      name: 'Acme CRM',
      authorization_url: 'https://acme.test/oauth/authorize',
      token_url: 'https://acme.test/oauth/token',
      refresh_token_url: null,
      pkce_enabled: true,
      request_scope_separator: ' ',
      scopes_required: false,
      client_secret_required: true,
      additional_authorization_parameters: {},
      token_body_content_type: 'application/x-www-form-urlencoded',
      authenticate_via: 'request_body',
      issuer: null,
      revocation_url: null,
      api_base_url: null,
    });
    const updated = await call('PUT', '/data-integrations/acme-crm', {
      custom_provider: { pkce_enabled: false, request_scope_separator: ',' },
    });
    assert.equal(updated.json.custom_provider.pkce_enabled, false);
    assert.equal(updated.json.custom_provider.name, 'Acme CRM');
    const broken = await call('PUT', '/data-integrations/acme-crm', { custom_provider: { token_url: null } });
    assert.equal(broken.status, 422);
    const onCatalog = await call('PUT', '/data-integrations/figma', { custom_provider: { name: 'x' } });
    assert.equal(onCatalog.status, 422);
    assert.equal(onCatalog.json.errors[0].field, 'custom_provider');
    // The other ownership root of an existing custom provider reuses its definition.
    const orgRoot = await call('POST', '/data-integrations', {
      provider: 'acme-crm',
      ownership: 'organization',
    });
    assert.equal(orgRoot.status, 201, orgRoot.text);
    assert.equal(orgRoot.json.custom_provider.name, 'Acme CRM');
    assert.equal(
      (await call('GET', '/data-integrations/acme-crm/organization')).json.ownership,
      'organization',
    );
  });

  test('the sandbox provider: sandbox environments only', async () => {
    const production = await call(
      'POST',
      '/data-integrations',
      { provider: 'sandbox', credentials: { type: 'shared' } },
      pipes.productionKey,
    );
    assert.equal(production.status, 422);
    assert.ok(
      production.json.errors.some((e: { code: string }) => e.code === 'sandbox_provider_unavailable'),
    );
  });

  test('DELETE removes the integration with its connections and their secrets', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    await workos.pipes.createDataIntegration({
      provider: 'sandbox',
      enabled: true,
      credentials: { type: 'shared' } as never,
    });
    for (const user of ['user_a', 'user_b']) {
      const { url } = await workos.pipes.authorizeDataIntegration({
        slug: 'sandbox',
        userId: user,
        returnTo: RETURN_TO,
      });
      const browser = new Browser();
      const back = returnedTo(
        await deliver(browser, await sandboxConsent(browser, await confirm(browser, url))),
      );
      assert.equal(back.searchParams.get('status'), 'connected');
    }
    const db = pipes.server.ctx.store.db;
    const accounts = await db
      .selectFrom('connected_accounts')
      .select(['id', 'access_token'])
      .where('provider_slug', '=', 'sandbox')
      .execute();
    assert.equal(accounts.length, 2);
    assert.ok(accounts.every((a) => a.access_token !== null));
    await workos.pipes.deleteDataIntegration({ slug: 'sandbox' });
    assert.equal(
      (
        await db
          .selectFrom('connected_accounts')
          .select('id')
          .where('provider_slug', '=', 'sandbox')
          .execute()
      ).length,
      0,
    );
    assert.equal(
      (
        await db
          .selectFrom('authorization_flows')
          .select('id')
          .where('provider_slug', '=', 'sandbox')
          .execute()
      ).length,
      0,
    );
    const disconnected = await db
      .selectFrom('events')
      .select('data')
      .where('event', '=', 'pipes.connected_account.disconnected')
      .execute();
    assert.deepEqual(disconnected.map((e) => JSON.parse(e.data).id).sort(), accounts.map((a) => a.id).sort());
  });

  test('no client secret in the logs', () => {
    const logs = pipes.logs.text();
    for (const secret of [SECRET, SHARED_SECRET, 'rotated-secret-abcd', 'linear-secret-123456'])
      assert.ok(!logs.includes(secret));
  });
});

describe('the built-in sandbox provider: on in development, off in production unless switched on', () => {
  test('PIPES_SANDBOX_PROVIDER=false: no sandbox in the catalog, nothing served', async () => {
    const pipes = await startTestPipes({ env: { PIPES_SANDBOX_PROVIDER: 'false' } });
    try {
      assert.equal(pipes.server.ctx.catalog.get('sandbox'), undefined);
      assert.equal(pipes.server.ctx.catalog.list().length, 44);
      assert.notEqual(
        (await fetch(`${pipes.url}/sandbox/.well-known/oauth-authorization-server`)).status,
        200,
      );
      const created = await api(pipes, 'POST', '/data-integrations', {
        key: pipes.sandboxKey,
        body: { provider: 'sandbox' },
      });
      assert.equal(created.status, 422);
    } finally {
      await pipes.close();
    }
  });

  test('production mode: off by default; when switched on, no admin routes and no loopback return_to', async () => {
    const base = {
      NODE_ENV: 'production',
      PIPES_MASTER_KEY: generateMasterKey(),
      PIPES_ALLOW_INSECURE_HTTP: 'true',
    };
    const off = await startTestPipes({ env: base });
    try {
      assert.equal(off.server.ctx.sandbox, null);
      assert.equal(off.server.ctx.catalog.has('sandbox'), false);
    } finally {
      await off.close();
    }
    const on = await startTestPipes({ env: { ...base, PIPES_SANDBOX_PROVIDER: 'true' } });
    try {
      assert.equal(on.server.ctx.catalog.has('sandbox'), true);
      assert.equal((await fetch(`${on.url}/sandbox/.well-known/oauth-authorization-server`)).status, 200);
      assert.equal((await fetch(`${on.url}/sandbox/admin/stats`)).status, 404);
      await api(on, 'POST', '/data-integrations', {
        key: on.sandboxKey,
        body: { provider: 'sandbox', enabled: true, credentials: { type: 'shared' } },
      });
      const loopback = await api(on, 'POST', '/data-integrations/sandbox/authorize', {
        key: on.sandboxKey,
        body: { user_id: 'u', return_to: 'http://127.0.0.1:3000/back' },
      });
      assert.equal(loopback.status, 422);
      assert.equal(loopback.json.code, 'invalid_return_to');
    } finally {
      await on.close();
    }
  });
});
