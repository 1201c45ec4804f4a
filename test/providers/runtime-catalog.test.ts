import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PipesError } from '../../src/errors.ts';
import { customProviderEntry, normaliseCustomProvider } from '../../src/providers/custom-provider.ts';
import { resolveIntegrationProvider } from '../../src/providers/resolve.ts';
import { loadRuntimeCatalog, PROVIDERS_DIR } from '../../src/providers/runtime-catalog.ts';

describe('the catalog the server runs with', () => {
  test('providers/*.json plus the built-in sandbox, whose URLs follow the public URL', () => {
    const catalog = loadRuntimeCatalog({ sandboxIssuer: 'http://127.0.0.1:8080/sandbox' });
    assert.equal(catalog.list().length, 45);
    const sandbox = catalog.get('sandbox')!;
    assert.equal(sandbox.oauth!.issuer, 'http://127.0.0.1:8080/sandbox');
    assert.equal(sandbox.oauth!.token_url, 'http://127.0.0.1:8080/sandbox/oauth/token');
    assert.equal(sandbox.oauth!.pkce, true);
    assert.deepEqual(sandbox.oauth!.default_scopes, ['profile', 'items:read', 'offline_access']);
    assert.equal(sandbox.account!.url, 'http://127.0.0.1:8080/sandbox/api/user');
    assert.equal(loadRuntimeCatalog({ sandboxIssuer: null }).get('sandbox'), undefined);
  });

  test('a broken entry stops the start, naming the file and the field', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pipes-providers-'));
    cpSync(PROVIDERS_DIR, dir, { recursive: true });
    const file = path.join(dir, 'github.json');
    const entry = JSON.parse(readFileSync(file, 'utf8'));
    entry.oauth.token_url = 'http://github.com/login/oauth/access_token';
    writeFileSync(file, JSON.stringify(entry));
    assert.throws(
      () => loadRuntimeCatalog({ dir, sandboxIssuer: null }),
      (error: unknown) =>
        error instanceof PipesError &&
        error.code === 'catalog_invalid' &&
        error.message.includes(`${path.basename(dir)}/github.json: oauth.token_url`),
    );
  });

  test('a custom provider resolves to the same shape as a catalog entry', () => {
    const def = normaliseCustomProvider({
      name: 'Acme',
      authorization_url: 'https://acme.test/authorize',
      token_url: 'https://acme.test/token',
      request_scope_separator: ',',
      pkce_enabled: false,
      additional_authorization_parameters: { audience: 'api' },
      authenticate_via: 'basic_auth_header',
      token_body_content_type: 'application/json',
    });
    const entry = resolveIntegrationProvider(
      { catalog: loadRuntimeCatalog({ sandboxIssuer: null }) },
      { slug: 'acme', custom_provider: JSON.stringify(def) },
    );
    assert.deepEqual(entry, customProviderEntry('acme', def));
    assert.equal(entry.oauth!.scope_separator, ',');
    assert.equal(entry.oauth!.pkce, false);
    assert.equal(entry.oauth!.client_auth, 'basic');
    assert.equal(entry.oauth!.token_body_content_type, 'application/json');
    assert.deepEqual(entry.oauth!.authorization_params, { audience: 'api' });
    // R-T2: a missing expires_in means an unknown lifetime, not a token that never expires.
    assert.equal(entry.oauth!.token_response.expiry, 'unknown');
  });

  test('an integration whose provider is gone resolves to a clear error', () => {
    assert.throws(
      () =>
        resolveIntegrationProvider(
          { catalog: loadRuntimeCatalog({ sandboxIssuer: null }) },
          { slug: 'sandbox', custom_provider: null },
        ),
      (error: unknown) =>
        error instanceof PipesError &&
        error.code === 'provider_unavailable' &&
        /PIPES_SANDBOX_PROVIDER=true/.test(error.message),
    );
  });
});
