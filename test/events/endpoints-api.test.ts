import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConflictException, NotFoundException, UnprocessableEntityException } from '@workos-inc/node';
import { newId } from '../../src/lib/ids.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';
import { createEndpoint, sdk } from './helpers.ts';

// Public IP literals: valid receivers under the strictest policy, and no DNS lookup in the test.
const PUBLIC_URL = 'https://8.8.8.8/hooks';

describe('webhook endpoints API', () => {
  let pipes: TestPipes;
  before(async () => {
    pipes = await startTestPipes({ webhookWorker: { background: false } });
  });
  after(() => pipes.close());

  test('create, list, update and delete through the real SDK; the secret is shown once', async () => {
    const workos = sdk(pipes, pipes.sandboxKey);
    const created = await workos.webhooks.createWebhookEndpoint({
      endpointUrl: 'https://8.8.4.4/sdk',
      events: ['pipes.connected_account.connected'],
    });
    assert.match(created.id, /^we_[0-9A-Z]{26}$/);
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(created.status, 'enabled');
    assert.equal(created.endpointUrl, 'https://8.8.4.4/sdk');
    assert.deepEqual(created.events, ['pipes.connected_account.connected']);
    assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));

    const list = await workos.webhooks.listWebhookEndpoints();
    const listed = list.data.find((e) => e.id === created.id);
    assert.ok(listed);
    assert.equal(listed.secret, undefined, 'later reads never carry the secret');
    const raw = await api(pipes, 'GET', '/webhook_endpoints', { key: pipes.sandboxKey });
    const rawItem = raw.json.data.find((e: { id: string }) => e.id === created.id);
    assert.equal('secret' in rawItem, false);
    assert.equal(rawItem.secret_last_4, created.secret.slice(-4));
    assert.ok(!raw.text.includes(created.secret));

    const updated = await workos.webhooks.updateWebhookEndpoint({
      id: created.id,
      status: 'disabled',
      // An alias is not in the SDK's event type; Pipes accepts it (see docs/webhooks.md).
      events: [
        'pipes.connected_account.disconnected',
        'pipe.connection.deactivated' as 'connection.deactivated',
      ],
      endpointUrl: 'https://8.8.4.4/sdk2',
    });
    assert.equal(updated.status, 'disabled');
    assert.equal(updated.endpointUrl, 'https://8.8.4.4/sdk2');
    assert.deepEqual(updated.events, ['pipes.connected_account.disconnected', 'pipe.connection.deactivated']);
    const enabled = await workos.webhooks.updateWebhookEndpoint({ id: created.id, status: 'enabled' });
    assert.equal(enabled.status, 'enabled');
    assert.equal(enabled.endpointUrl, 'https://8.8.4.4/sdk2', 'fields not sent are kept');

    await workos.webhooks.deleteWebhookEndpoint({ id: created.id });
    const after = await workos.webhooks.listWebhookEndpoints();
    assert.equal(
      after.data.some((e) => e.id === created.id),
      false,
    );
    await assert.rejects(() => workos.webhooks.deleteWebhookEndpoint({ id: created.id }), NotFoundException);
    assert.ok(!pipes.logs.text().includes(created.secret), 'the secret never reaches a log');
  });

  test('409 for a URL already registered in the environment (also after normalisation and on PATCH)', async () => {
    const workos = sdk(pipes, pipes.sandboxKey);
    const first = await createEndpoint(pipes, 'https://1.1.1.1/dup');
    await assert.rejects(
      () =>
        workos.webhooks.createWebhookEndpoint({
          endpointUrl: 'https://1.1.1.1/dup',
          events: ['pipes.connected_account.connected'],
        }),
      (error: unknown) => error instanceof ConflictException && error.status === 409,
    );
    const normalised = await api(pipes, 'POST', '/webhook_endpoints', {
      key: pipes.sandboxKey,
      body: { endpoint_url: 'HTTPS://1.1.1.1:443/dup', events: ['pipes.connected_account.connected'] },
    });
    assert.equal(normalised.status, 409);
    assert.equal(normalised.json.code, 'webhook_endpoint_exists');
    // Another environment may use the same URL.
    await createEndpoint(pipes, 'https://1.1.1.1/dup', undefined, pipes.productionKey);
    const other = await createEndpoint(pipes, 'https://1.1.1.1/other');
    const patched = await api(pipes, 'PATCH', `/webhook_endpoints/${other.id}`, {
      key: pipes.sandboxKey,
      body: { endpoint_url: 'https://1.1.1.1/dup' },
    });
    assert.equal(patched.status, 409);
    assert.ok(first.id);
  });

  test('422 with one error per field', async () => {
    const workos = sdk(pipes, pipes.sandboxKey);
    await assert.rejects(
      () =>
        workos.webhooks.createWebhookEndpoint({
          endpointUrl: 'https://1.1.1.1/x',
          events: ['user.created' as 'pipes.connected_account.connected'],
        }),
      (error: unknown) => error instanceof UnprocessableEntityException,
    );
    const cases: Array<[unknown, string]> = [
      [{ events: ['pipes.connected_account.connected'] }, 'endpoint_url'],
      [{ endpoint_url: 'https://1.1.1.1/x', events: [] }, 'events'],
      [{ endpoint_url: 'https://1.1.1.1/x', events: ['pipes.connected_account.nope'] }, 'events.0'],
      [{ endpoint_url: 'https://1.1.1.1/x', events: ['pipe.connection.activated'], extra: 1 }, '(body)'],
      [{ endpoint_url: 'not a url', events: ['pipe.connection.activated'] }, 'endpoint_url'],
      [{ endpoint_url: 'ftp://1.1.1.1/x', events: ['pipe.connection.activated'] }, 'endpoint_url'],
    ];
    for (const [body, field] of cases) {
      const res = await api(pipes, 'POST', '/webhook_endpoints', { key: pipes.sandboxKey, body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.json.code, 'invalid_request_parameters');
      assert.ok(
        res.json.errors.some((e: { field: string }) => e.field === field),
        `${JSON.stringify(body)} → ${res.text}`,
      );
    }
    const endpoint = await createEndpoint(pipes, 'https://1.1.1.1/valid');
    for (const body of [{ status: 'paused' }, { events: [] }, { overlap_seconds: 1 }]) {
      const res = await api(pipes, 'PATCH', `/webhook_endpoints/${endpoint.id}`, {
        key: pipes.sandboxKey,
        body,
      });
      assert.equal(res.status, 422, JSON.stringify(body));
    }
  });

  test("another environment's endpoint answers exactly like a missing one (404)", async () => {
    const prod = await createEndpoint(pipes, 'https://1.1.1.1/prod-only', undefined, pipes.productionKey);
    const routes: Array<[string, string, unknown?]> = [
      ['GET', ''],
      ['PATCH', '', { status: 'disabled' }],
      ['DELETE', ''],
      ['POST', '/rotate_secret', {}],
      ['GET', '/deliveries'],
    ];
    for (const [method, suffix, body] of routes) {
      const texts = new Set<string>();
      for (const id of [prod.id, newId('webhookEndpoint'), 'we_garbage']) {
        const res = await api(pipes, method, `/webhook_endpoints/${id}${suffix}`, {
          key: pipes.sandboxKey,
          ...(body !== undefined ? { body } : {}),
        });
        assert.equal(res.status, 404, `${method} ${suffix} ${id}`);
        assert.equal(res.json.code, 'webhook_endpoint_not_found');
        texts.add(res.text);
      }
      assert.equal(texts.size, 1, `${method} ${suffix}: one body for every kind of miss`);
    }
    const still = await api(pipes, 'GET', `/webhook_endpoints/${prod.id}`, { key: pipes.productionKey });
    assert.equal(still.json.status, 'enabled', 'the other environment’s endpoint was not touched');
  });

  test('rotate_secret returns a new secret once and records the overlap', async () => {
    const endpoint = await createEndpoint(pipes, 'https://1.1.1.1/rotate');
    const rotated = await api(pipes, 'POST', `/webhook_endpoints/${endpoint.id}/rotate_secret`, {
      key: pipes.sandboxKey,
      body: { overlap_seconds: 3600 },
    });
    assert.equal(rotated.status, 200, rotated.text);
    assert.match(rotated.json.secret, /^whsec_/);
    assert.notEqual(rotated.json.secret, endpoint.secret);
    assert.equal(rotated.json.secret_last_4, rotated.json.secret.slice(-4));
    assert.equal(
      Date.parse(rotated.json.previous_secret_expires_at) - Date.parse(rotated.json.updated_at),
      3600_000,
    );
    const read = await api(pipes, 'GET', `/webhook_endpoints/${endpoint.id}`, { key: pipes.sandboxKey });
    assert.equal('secret' in read.json, false);
    assert.equal(read.json.secret_last_4, rotated.json.secret.slice(-4));
    const noOverlap = await api(pipes, 'POST', `/webhook_endpoints/${endpoint.id}/rotate_secret`, {
      key: pipes.sandboxKey,
    });
    assert.equal(noOverlap.status, 200, 'an empty body takes the default overlap');
    const bad = await api(pipes, 'POST', `/webhook_endpoints/${endpoint.id}/rotate_secret`, {
      key: pipes.sandboxKey,
      body: { overlap_seconds: -1 },
    });
    assert.equal(bad.status, 422);
    for (const secret of [endpoint.secret, rotated.json.secret, noOverlap.json.secret]) {
      assert.ok(!pipes.logs.text().includes(secret));
    }
  });

  test('list pagination', async () => {
    const env = await startTestPipes({ webhookWorker: { background: false } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await createEndpoint(env, `https://1.1.1.1/page/${i}`)).id);
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const query: string = `/webhook_endpoints?limit=2&order=asc${after ? `&after=${after}` : ''}`;
        const res = await api(env, 'GET', query, { key: env.sandboxKey });
        seen.push(...res.json.data.map((e: { id: string }) => e.id));
        after = res.json.list_metadata.after;
      } while (after !== null);
      assert.deepEqual(seen, ids);
      const sdkPage = await sdk(env, env.sandboxKey).webhooks.listWebhookEndpoints({ limit: 3 });
      assert.deepEqual(
        sdkPage.data.map((e) => e.id),
        ids.slice(2).reverse(),
      );
    } finally {
      await env.close();
    }
  });
});

describe('webhook URLs under a production-like egress policy (W8, registration)', () => {
  let strict: TestPipes;
  let dev: TestPipes;
  before(async () => {
    strict = await startTestPipes({
      env: { PIPES_ALLOW_PRIVATE_NETWORK: 'false', PIPES_ALLOW_INSECURE_HTTP: 'false' },
      webhookWorker: { background: false },
    });
    dev = await startTestPipes({ webhookWorker: { background: false } });
  });
  after(async () => {
    await strict.close();
    await dev.close();
  });

  const register = (pipes: TestPipes, url: string) =>
    api(pipes, 'POST', '/webhook_endpoints', {
      key: pipes.sandboxKey,
      body: { endpoint_url: url, events: ['pipes.connected_account.connected'] },
    });

  test('loopback, private, metadata, plain http and credentials are refused with a clear 422', async () => {
    for (const url of [
      'http://8.8.8.8/hooks',
      'https://127.0.0.1/hooks',
      'https://localhost/hooks',
      'https://[::1]/hooks',
      'https://10.0.0.8/hooks',
      'https://192.168.1.20/hooks',
      'https://169.254.169.254/latest/meta-data',
      'https://metadata.google.internal/',
      'https://2130706433/hooks',
      'https://user:pass@8.8.8.8/hooks',
    ]) {
      const res = await register(strict, url);
      assert.equal(res.status, 422, `${url}: ${res.text}`);
      assert.equal(res.json.errors[0].field, 'endpoint_url');
      assert.equal(res.json.errors[0].code, 'blocked_destination');
      assert.match(res.json.errors[0].message, /Refusing/);
    }
    assert.equal((await register(strict, PUBLIC_URL)).status, 201);
  });

  test('development mode allows a loopback receiver over http, but never cloud metadata', async () => {
    assert.equal((await register(dev, 'http://127.0.0.1:9/hooks')).status, 201);
    assert.equal((await register(dev, 'http://169.254.169.254/latest')).status, 422);
  });

  test('PIPES_ALLOW_PRIVATE_NETWORK=false alone refuses a loopback receiver', async () => {
    const noPrivate = await startTestPipes({
      env: { PIPES_ALLOW_PRIVATE_NETWORK: 'false' },
      webhookWorker: { background: false },
    });
    try {
      const res = await register(noPrivate, 'http://127.0.0.1:9/hooks');
      assert.equal(res.status, 422);
      assert.match(res.json.errors[0].message, /loopback/);
      assert.equal(
        (await register(noPrivate, 'http://8.8.8.8/hooks')).status,
        201,
        'http itself is allowed here',
      );
    } finally {
      await noPrivate.close();
    }
  });
});
