import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';

const OAUTH = {
  name: 'Acme CRM',
  authorization_url: 'https://acme.test/oauth/authorize',
  token_url: 'https://acme.test/oauth/token',
};
const CREDENTIALS = { type: 'custom', client_id: 'acme', client_secret: 'acme-secret-123456' };

/**
 * The Pipes extensions of §4.5 over HTTP: `revocation_url` and `api_base_url` on `custom_provider`, validated like
 * the other endpoints (https only here: PIPES_ALLOW_INSECURE_HTTP is off), echoed back, cleared with null, and
 * absent from definitions stored before they existed.
 */
describe('custom provider revocation_url and api_base_url', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startTestPipes({ env: { PIPES_ALLOW_INSECURE_HTTP: 'false' } });
  });
  after(() => pipes.close());
  const call = (method: string, route: string, body?: unknown) =>
    api(pipes, method, route, { key: pipes.sandboxKey, ...(body !== undefined ? { body } : {}) });

  /** Asserts a 422 naming `field` with `code`, and that the hostile part of the value (if given) is not echoed. */
  function assertFieldError(
    response: Awaited<ReturnType<typeof call>>,
    field: string,
    code: string,
    hostile: string,
  ) {
    assert.equal(response.status, 422, response.text);
    assert.equal(response.json.code, 'invalid_request_parameters');
    const error = response.json.errors.find((e: { field: string }) => e.field === field);
    assert.ok(error, `no error for ${field} in ${response.text}`);
    assert.equal(error.code, code, response.text);
    if (hostile !== '')
      assert.ok(!response.text.includes(hostile), `${hostile} is echoed in ${response.text}`);
  }

  test('bad URLs are 422 with the field named, on create', async () => {
    const cases: [Record<string, unknown>, string, string, string][] = [
      [{ revocation_url: 'http://acme.test/revoke' }, 'custom_provider.revocation_url', 'custom', 'http:'],
      [
        { revocation_url: 'https://u:s3cr3t@acme.test/revoke' },
        'custom_provider.revocation_url',
        'custom',
        's3cr3t',
      ],
      [{ revocation_url: 'revoke-here' }, 'custom_provider.revocation_url', 'custom', 'revoke-here'],
      [{ revocation_url: 42 }, 'custom_provider.revocation_url', 'invalid_type', ''],
      [{ api_base_url: 'https://api.acme.test/v1#top' }, 'custom_provider.api_base_url', 'custom', '#top'],
      [
        { api_base_url: 'https://api.acme.test/v1?tenant=9' },
        'custom_provider.api_base_url',
        'custom',
        'tenant=9',
      ],
      [
        { api_base_url: 'https://api.acme.test/{config.region}/v1' },
        'custom_provider.api_base_url',
        'custom',
        'config.region',
      ],
      [
        { api_base_url: 'https://169.254.169.254/latest' },
        'custom_provider.api_base_url',
        'blocked_destination',
        'latest',
      ],
      [{ api_base_url: 'ftp://api.acme.test/' }, 'custom_provider.api_base_url', 'custom', 'ftp:'],
    ];
    for (const [extra, field, code, hostile] of cases) {
      const response = await call('POST', '/data-integrations', {
        provider: 'acme-bad',
        credentials: CREDENTIALS,
        custom_provider: { ...OAUTH, ...extra },
      });
      assertFieldError(response, field, code, hostile);
    }
    const list = await call('GET', '/data-integrations?limit=100');
    assert.ok(!list.json.data.some((i: { slug: string }) => i.slug === 'acme-bad'), 'nothing was created');
  });

  test('an API-key custom provider refuses revocation_url but takes api_base_url', async () => {
    const refused = await call('POST', '/data-integrations', {
      provider: 'keyed-bad',
      auth_methods: ['api_key'],
      custom_provider: { name: 'Keyed', revocation_url: 'https://keyed.test/revoke' },
    });
    assertFieldError(refused, 'custom_provider.revocation_url', 'not_allowed', 'keyed.test');

    const created = await call('POST', '/data-integrations', {
      provider: 'keyed',
      auth_methods: ['api_key'],
      custom_provider: { name: 'Keyed', api_base_url: 'https://api.keyed.test/v2' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.custom_provider.api_base_url, 'https://api.keyed.test/v2');
    assert.equal(created.json.custom_provider.revocation_url, null);
  });

  test('create, get, list and update round-trip the fields; null clears one and keeps the other', async () => {
    const created = await call('POST', '/data-integrations', {
      provider: 'acme-ext',
      credentials: CREDENTIALS,
      custom_provider: {
        ...OAUTH,
        revocation_url: 'https://acme.test/oauth/revoke',
        api_base_url: 'https://api.acme.test/v1',
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.custom_provider.revocation_url, 'https://acme.test/oauth/revoke');
    assert.equal(created.json.custom_provider.api_base_url, 'https://api.acme.test/v1');

    const got = await call('GET', '/data-integrations/acme-ext');
    assert.deepEqual(got.json.custom_provider, created.json.custom_provider);
    const listed = (await call('GET', '/data-integrations?limit=100')).json.data.find(
      (i: { slug: string }) => i.slug === 'acme-ext',
    );
    assert.deepEqual(listed.custom_provider, created.json.custom_provider);

    const cleared = await call('PUT', '/data-integrations/acme-ext', {
      custom_provider: { revocation_url: null },
    });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal(cleared.json.custom_provider.revocation_url, null);
    assert.equal(cleared.json.custom_provider.api_base_url, 'https://api.acme.test/v1');

    const moved = await call('PUT', '/data-integrations/acme-ext', {
      custom_provider: {
        api_base_url: 'https://api.acme.test/v2',
        revocation_url: 'https://acme.test/revoke2',
      },
    });
    assert.equal(moved.status, 200, moved.text);
    const after = await call('GET', '/data-integrations/acme-ext');
    assert.equal(after.json.custom_provider.api_base_url, 'https://api.acme.test/v2');
    assert.equal(after.json.custom_provider.revocation_url, 'https://acme.test/revoke2');
    assert.equal(after.json.custom_provider.name, 'Acme CRM', 'the other fields are kept');

    const bad = await call('PUT', '/data-integrations/acme-ext', {
      custom_provider: { api_base_url: 'http://api.acme.test/v3' },
    });
    assertFieldError(bad, 'custom_provider.api_base_url', 'custom', 'v3');
    const unchanged = await call('GET', '/data-integrations/acme-ext');
    assert.equal(unchanged.json.custom_provider.api_base_url, 'https://api.acme.test/v2');

    const bothGone = await call('PUT', '/data-integrations/acme-ext', {
      custom_provider: { api_base_url: null, revocation_url: null },
    });
    assert.equal(bothGone.json.custom_provider.api_base_url, null);
    assert.equal(bothGone.json.custom_provider.revocation_url, null);
  });

  test('a definition stored before the fields existed reads with null and can be updated', async () => {
    const created = await call('POST', '/data-integrations', {
      provider: 'acme-old',
      credentials: CREDENTIALS,
      custom_provider: OAUTH,
    });
    assert.equal(created.status, 201, created.text);
    // What an older Pipes wrote: the §4.5 fields and issuer, without the two new ones.
    const { revocation_url: _r, api_base_url: _a, ...old } = created.json.custom_provider;
    assert.equal(Object.hasOwn(old, 'api_base_url'), false);
    await pipes.server.ctx.store.db
      .updateTable('data_integrations')
      .set({ custom_provider: JSON.stringify(old) })
      .where('id', '=', created.json.id)
      .execute();

    const got = await call('GET', '/data-integrations/acme-old');
    assert.equal(got.status, 200, got.text);
    assert.equal(got.json.custom_provider.revocation_url, null);
    assert.equal(got.json.custom_provider.api_base_url, null);
    assert.equal(got.json.status, created.json.status);

    const updated = await call('PUT', '/data-integrations/acme-old', {
      custom_provider: { api_base_url: 'https://api.acme.test/' },
    });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.json.custom_provider.api_base_url, 'https://api.acme.test/');
    assert.equal(updated.json.custom_provider.token_url, OAUTH.token_url);
  });
});
