import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PipesError } from '../../src/errors.ts';
import { type ProviderEntry, providerEntrySchema } from '../../src/providers/catalog-schema.ts';
import { Catalog, loadCatalog } from '../../src/providers/load-catalog.ts';
import { listTemplateFields, resolveTemplate } from '../../src/providers/templates.ts';

const PROVIDERS_DIR = fileURLToPath(new URL('../../providers', import.meta.url));

const REQUIRED_SLUGS = [
  'github',
  'gitlab',
  'bitbucket',
  'sentry',
  'linear',
  'figma',
  'webflow',
  'slack',
  'discord',
  'gmail',
  'google-drive',
  'google-calendar',
  'microsoft',
  'salesforce',
  'hubspot',
  'pipedrive',
  'attio',
  'zendesk',
  'intercom',
  'front',
  'helpscout',
  'notion',
  'asana',
  'atlassian',
  'monday',
  'clickup',
  'todoist',
  'airtable',
  'box',
  'dropbox',
  'zoom',
  'calendly',
  'shopify',
  'xero',
  'quickbooks',
  'docusign',
  'mailchimp',
  'snowflake',
  'stripe',
  'openai',
];

const HOSTILE_VALUES = [
  'evil.test#',
  'a.evil.test/',
  'x@evil.test',
  '..',
  'https://evil.test',
  'acme.evil.test?',
];

const catalog = loadCatalog(PROVIDERS_DIR);
const entries = catalog.list();

function must(slug: string): ProviderEntry {
  const entry = catalog.get(slug);
  assert.ok(entry, `provider ${slug} is missing`);
  return entry;
}

/** Every absolute URL template in an entry, keyed by field path. */
function urlTemplates(entry: ProviderEntry): [string, string][] {
  const out: [string, string][] = [];
  const add = (path: string, value: string | undefined) => {
    if (value !== undefined) out.push([path, value]);
  };
  add('oauth.authorization_url', entry.oauth?.authorization_url);
  add('oauth.token_url', entry.oauth?.token_url);
  add('oauth.refresh_url', entry.oauth?.refresh_url);
  add('oauth.revocation_url', entry.oauth?.revocation_url);
  add('oauth.issuer', entry.oauth?.issuer);
  add('client_credentials.token_url', entry.client_credentials?.token_url);
  add('api.base_url', entry.api.base_url);
  entry.api.allowed_origins.forEach((o, i) => {
    add(`api.allowed_origins[${i}]`, o);
  });
  const accountUrl = entry.account?.url;
  if (accountUrl !== undefined) {
    add('account.url', accountUrl.startsWith('/') ? entry.api.base_url + accountUrl : accountUrl);
  }
  return out;
}

function exampleValues(entry: ProviderEntry): Record<string, string> {
  return Object.fromEntries(entry.connect_config.map((f) => [f.name, f.example]));
}

describe('the real provider catalog', () => {
  test('has at least 42 providers including every required slug, listed in slug order', () => {
    assert.ok(entries.length >= 42, `only ${entries.length} providers`);
    for (const slug of REQUIRED_SLUGS) assert.ok(catalog.has(slug), `missing required provider ${slug}`);
    const slugs = entries.map((e) => e.slug);
    assert.deepEqual(slugs, [...slugs].sort());
    assert.equal(new Set(slugs).size, slugs.length, 'duplicate slugs');
    assert.equal(catalog.has('no-such-provider'), false);
    assert.equal(catalog.get('no-such-provider'), undefined);
  });

  test('every file re-validates against the schema and is named after its slug', () => {
    for (const entry of entries) {
      const raw: unknown = JSON.parse(readFileSync(join(PROVIDERS_DIR, `${entry.slug}.json`), 'utf8'));
      const result = providerEntrySchema.safeParse(raw);
      assert.ok(result.success, `${entry.slug}: ${result.error?.message}`);
    }
  });

  test('every URL resolves to an https URL when each template field takes its example value', () => {
    for (const entry of entries) {
      for (const [path, template] of urlTemplates(entry)) {
        const resolved = resolveTemplate(template, exampleValues(entry), entry.connect_config);
        const url = new URL(resolved);
        assert.equal(url.protocol, 'https:', `${entry.slug} ${path}: ${resolved}`);
        assert.equal(url.username + url.password, '', `${entry.slug} ${path} has credentials`);
        assert.equal(url.hash, '', `${entry.slug} ${path} has a fragment`);
      }
      assert.equal(new URL(entry.icon_url).protocol, 'https:', `${entry.slug} icon_url`);
      assert.equal(new URL(entry.docs_url).protocol, 'https:', `${entry.slug} docs_url`);
    }
  });

  test('every template field is declared with an anchored pattern and an example that matches it', () => {
    let templated = 0;
    for (const entry of entries) {
      for (const [path, template] of urlTemplates(entry)) {
        for (const name of listTemplateFields(template)) {
          templated++;
          const field = entry.connect_config.find((f) => f.name === name);
          assert.ok(field, `${entry.slug} ${path} uses undeclared config.${name}`);
          assert.ok(
            field.pattern.startsWith('^') && field.pattern.endsWith('$'),
            `${entry.slug} ${name} anchors`,
          );
          assert.match(field.example, new RegExp(field.pattern, 'u'), `${entry.slug} ${name} example`);
        }
      }
    }
    assert.ok(templated >= 10, 'expected templated URLs (Zendesk, Shopify, Snowflake, Salesforce…)');
  });

  test('no templated field accepts a value that could move the request to another host', () => {
    for (const entry of entries) {
      for (const [path, template] of urlTemplates(entry)) {
        for (const name of listTemplateFields(template)) {
          for (const hostile of HOSTILE_VALUES) {
            const values = { ...exampleValues(entry), [name]: hostile };
            assert.throws(
              () => resolveTemplate(template, values, entry.connect_config),
              (e: unknown) =>
                e instanceof PipesError && e.code === 'invalid_config' && e.message.includes(name),
              `${entry.slug} ${path} accepted config.${name}=${hostile}`,
            );
          }
        }
      }
    }
  });

  test('OAuth entries describe their default scopes and API-key entries say where the key goes', () => {
    for (const entry of entries) {
      if (entry.oauth !== undefined) {
        const described = entry.oauth.scopes.map((s) => s.name);
        for (const scope of entry.oauth.default_scopes)
          assert.ok(described.includes(scope), `${entry.slug} ${scope}`);
      }
      if (entry.auth_methods.includes('api_key')) {
        assert.ok(entry.api_key?.format.includes('{api_key}'), `${entry.slug} api_key.format`);
      }
    }
  });

  test('encodes the known provider quirks', () => {
    const slack = must('slack').oauth;
    assert.equal(slack?.authorization_url, 'https://slack.com/oauth/v2/authorize');
    assert.equal(slack?.token_url, 'https://slack.com/api/oauth.v2.access');
    assert.equal(slack?.scope_separator, ',');
    assert.equal(slack?.token_response.access_token_path, 'authed_user.access_token');
    assert.equal(slack?.token_response.errors_with_200, true);

    const github = must('github').oauth;
    assert.equal(github?.token_response.expiry, 'never');
    assert.equal(github?.token_response.errors_with_200, true);
    assert.equal(github?.token_headers['Accept'], 'application/json');

    for (const slug of ['gmail', 'google-drive', 'google-calendar']) {
      const google = must(slug).oauth;
      assert.equal(google?.authorization_params['access_type'], 'offline', slug);
      assert.equal(google?.authorization_params['prompt'], 'consent', slug);
      assert.equal(google?.revocation_url, 'https://oauth2.googleapis.com/revoke', slug);
      assert.equal(google?.pkce, true, slug);
    }

    const notion = must('notion');
    assert.equal(notion.oauth?.client_auth, 'basic');
    assert.equal(notion.oauth?.token_body_content_type, 'application/json');
    assert.equal(notion.oauth?.token_response.expiry, 'never');
    assert.ok(notion.api.extra_headers['Notion-Version']);

    const atlassian = must('atlassian');
    assert.equal(atlassian.oauth?.authorization_params['audience'], 'api.atlassian.com');
    assert.equal(atlassian.oauth?.refresh_token_rotation, true);
    assert.ok(atlassian.oauth?.default_scopes.includes('offline_access'));
    assert.equal(atlassian.api.base_url, 'https://api.atlassian.com');

    const salesforce = must('salesforce');
    assert.equal(salesforce.oauth?.token_response.expiry, 'unknown');
    assert.ok(salesforce.oauth?.token_response.metadata_fields.includes('instance_url'));
    assert.equal(salesforce.metadata_to_config['instance_url'], 'instance_url');
    assert.equal(salesforce.api.base_url, '{config.instance_url}');
    assert.equal(salesforce.connect_config.find((f) => f.name === 'instance_url')?.automated, true);

    assert.equal(
      must('zendesk').oauth?.authorization_url,
      'https://{config.subdomain}.zendesk.com/oauth/authorizations/new',
    );
    assert.equal(
      must('shopify').oauth?.authorization_url,
      'https://{config.shop}.myshopify.com/admin/oauth/authorize',
    );
    assert.equal(must('shopify').oauth?.token_response.expiry, 'never');
    assert.equal(must('xero').oauth?.refresh_token_rotation, true);
    assert.equal(
      must('snowflake').oauth?.authorization_url,
      'https://{config.account}.snowflakecomputing.com/oauth/authorize',
    );
    assert.deepEqual(must('stripe').auth_methods, ['api_key']);
    assert.deepEqual(must('openai').auth_methods, ['api_key']);

    // Several quotas per credential, and each response names the one it counted against.
    assert.equal(must('github').api.rate_limit.resource_header, 'x-ratelimit-resource');
    assert.equal(must('discord').api.rate_limit.resource_header, 'x-ratelimit-bucket');
  });

  test('entries are frozen so no caller can alter the shared catalog', () => {
    const github = must('github');
    assert.ok(Object.isFrozen(github));
    assert.ok(Object.isFrozen(github.oauth?.scopes));
    assert.throws(() => {
      (github as { name: string }).name = 'changed';
    }, TypeError);
  });
});

describe('resolveTemplate', () => {
  const fields = [
    { name: 'subdomain', pattern: '^[a-z0-9][a-z0-9-]{0,62}$', required: true, example: 'acme' },
    { name: 'region', pattern: '^(?:us|eu)$', required: false, default: 'us' },
  ];

  test('substitutes values verbatim once they match, and falls back to defaults', () => {
    assert.equal(
      resolveTemplate(
        'https://{config.subdomain}.{config.region}.example.com/x',
        { subdomain: 'acme-1' },
        fields,
      ),
      'https://acme-1.us.example.com/x',
    );
    assert.equal(
      resolveTemplate(
        'https://{config.subdomain}.{config.region}.example.com',
        { subdomain: 'a', region: 'eu' },
        fields,
      ),
      'https://a.eu.example.com',
    );
  });

  for (const hostile of [
    'evil.test#',
    'a.evil.test/',
    'x@evil.test',
    '..',
    'ACME',
    'a b',
    'a\nb',
    '$&',
    '',
  ]) {
    test(`refuses ${JSON.stringify(hostile)} for a subdomain, naming the field`, () => {
      assert.throws(
        () => resolveTemplate('https://{config.subdomain}.zendesk.com', { subdomain: hostile }, fields),
        (e: unknown) =>
          e instanceof PipesError &&
          e.code === 'invalid_config' &&
          e.message.includes('config.subdomain') &&
          (hostile === '' || !e.message.includes(hostile)) &&
          e.errors?.[0]?.field === 'config.subdomain',
      );
    });
  }

  test('a pattern that forgets its anchors still has to match the whole value', () => {
    const loose = [{ name: 'host', pattern: '[a-z]+', required: true }];
    assert.throws(() => resolveTemplate('https://{config.host}.example.com', { host: 'evil.test#' }, loose), {
      code: 'invalid_config',
    });
  });

  test('refuses non-string values and missing required values', () => {
    assert.throws(() => resolveTemplate('https://{config.subdomain}.x.com', { subdomain: 42 }, fields), {
      code: 'invalid_config',
      message: /config\.subdomain/,
    });
    assert.throws(() => resolveTemplate('https://{config.subdomain}.x.com', {}, fields), {
      code: 'invalid_config',
      message: /config\.subdomain is required/,
    });
  });

  test('treats undeclared fields and malformed templates as catalog bugs', () => {
    assert.throws(() => resolveTemplate('https://{config.tenant}.x.com', { tenant: 'a' }, fields), {
      code: 'catalog_invalid',
    });
    assert.throws(() => resolveTemplate('https://{subdomain}.x.com', { subdomain: 'a' }, fields), {
      code: 'catalog_invalid',
    });
    assert.throws(() => resolveTemplate('https://{config.subdomain.x.com', { subdomain: 'a' }, fields), {
      code: 'catalog_invalid',
    });
  });

  test('listTemplateFields returns each config field once, in order', () => {
    assert.deepEqual(listTemplateFields('https://{config.b}.{config.a}.x/{config.b}/{access_token}'), [
      'b',
      'a',
    ]);
    assert.deepEqual(listTemplateFields('https://api.example.com'), []);
  });
});

describe('loadCatalog with broken entries', () => {
  const root = mkdtempSync(join(tmpdir(), 'pipes-catalog-'));
  let n = 0;
  after(() => rmSync(root, { recursive: true, force: true }));

  const github = (): Record<string, unknown> =>
    JSON.parse(readFileSync(join(PROVIDERS_DIR, 'github.json'), 'utf8')) as Record<string, unknown>;
  const zendesk = (): Record<string, unknown> =>
    JSON.parse(readFileSync(join(PROVIDERS_DIR, 'zendesk.json'), 'utf8')) as Record<string, unknown>;

  /** Writes `files` (name → JSON value or raw text) to a fresh catalog folder named `providers`. */
  function catalogDir(files: Record<string, unknown>): string {
    const dir = join(root, String(n++), 'providers');
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    }
    return dir;
  }

  function assertCatalogError(dir: string, ...fragments: string[]): void {
    assert.throws(
      () => loadCatalog(dir),
      (e: unknown) => {
        assert.ok(e instanceof PipesError, 'expected a PipesError');
        assert.equal(e.code, 'catalog_invalid');
        assert.equal(e.status, 500);
        for (const fragment of fragments)
          assert.ok(e.message.includes(fragment), `${fragment} not in:\n${e.message}`);
        return true;
      },
    );
  }

  test('a good copy loads', () => {
    const dir = catalogDir({ 'github.json': github(), 'zendesk.json': zendesk() });
    const loaded = loadCatalog(dir);
    assert.deepEqual(
      loaded.list().map((e) => e.slug),
      ['github', 'zendesk'],
    );
    assert.ok(loaded instanceof Catalog);
  });

  test('an invalid token URL names the file and the field path', () => {
    const entry = github();
    (entry['oauth'] as Record<string, unknown>)['token_url'] = 'not a url';
    assertCatalogError(
      catalogDir({ 'github.json': entry }),
      'providers/github.json: oauth.token_url: Invalid URL',
    );
  });

  test('an http URL is refused', () => {
    const entry = github();
    (entry['api'] as Record<string, unknown>)['base_url'] = 'http://api.github.com';
    assertCatalogError(
      catalogDir({ 'github.json': entry }),
      'providers/github.json: api.base_url: Invalid URL',
    );
  });

  test('a misspelt field is reported at its own path', () => {
    const entry = github();
    (entry['oauth'] as Record<string, unknown>)['pcke'] = true;
    assertCatalogError(
      catalogDir({ 'github.json': entry }),
      'providers/github.json: oauth.pcke: unknown field',
    );
  });

  test('a file named differently from its slug is refused', () => {
    assertCatalogError(catalogDir({ 'octocat.json': github() }), 'providers/octocat.json: slug:');
  });

  test('the same slug in two folders is refused', () => {
    assertCatalogError(
      catalogDir({ 'github.json': github(), 'extra/github.json': github() }),
      'providers/github.json: slug: duplicate slug "github"',
    );
  });

  test('a template using an undeclared config field is refused', () => {
    const entry = zendesk();
    (entry['api'] as Record<string, unknown>)['base_url'] = 'https://{config.tenant}.zendesk.com/api/v2';
    assertCatalogError(
      catalogDir({ 'zendesk.json': entry }),
      'providers/zendesk.json: api.base_url: uses {config.tenant}',
    );
  });

  test('an unanchored or permissive pattern is refused', () => {
    const entry = zendesk();
    const [field] = entry['connect_config'] as Record<string, unknown>[];
    assert.ok(field);
    field['pattern'] = '[a-z]+';
    assertCatalogError(
      catalogDir({ 'zendesk.json': entry }),
      'providers/zendesk.json: connect_config[0].pattern:',
    );
  });

  test('an example that does not match its pattern is refused', () => {
    const entry = zendesk();
    const [field] = entry['connect_config'] as Record<string, unknown>[];
    assert.ok(field);
    field['example'] = 'Acme Corp';
    assertCatalogError(
      catalogDir({ 'zendesk.json': entry }),
      'providers/zendesk.json: connect_config[0].example:',
    );
  });

  test('an oauth method without an oauth block is refused', () => {
    const entry = github();
    delete entry['oauth'];
    assertCatalogError(catalogDir({ 'github.json': entry }), 'providers/github.json: oauth: is required');
  });

  test('a default scope that is not described is refused', () => {
    const entry = github();
    (entry['oauth'] as Record<string, unknown>)['default_scopes'] = ['admin:everything'];
    assertCatalogError(
      catalogDir({ 'github.json': entry }),
      'providers/github.json: oauth.default_scopes[0]:',
    );
  });

  test('expiry "unknown" without a default lifetime is refused', () => {
    const entry = github();
    (entry['oauth'] as Record<string, unknown>)['token_response'] = { expiry: 'unknown' };
    assertCatalogError(
      catalogDir({ 'github.json': entry }),
      'providers/github.json: oauth.token_response.default_lifetime_seconds:',
    );
  });

  test('a resource header without a remaining header is refused', () => {
    const entry = github();
    const api = entry['api'] as Record<string, unknown>;
    api['rate_limit'] = { retry_after_header: 'retry-after', resource_header: 'x-ratelimit-resource' };
    assertCatalogError(
      catalogDir({ 'github.json': entry }),
      'providers/github.json: api.rate_limit.resource_header: is only used with remaining_header',
    );
  });

  test('invalid JSON names the file, and every broken file is reported at once', () => {
    const entry = zendesk();
    entry['slug'] = 'Zendesk';
    assertCatalogError(
      catalogDir({ 'github.json': '{ "slug": ', 'zendesk.json': entry }),
      'providers/github.json: (file): not valid JSON',
      'providers/zendesk.json: slug:',
    );
  });

  test('a missing directory is reported', () => {
    assertCatalogError(join(root, 'does-not-exist'), 'cannot be read');
  });
});
