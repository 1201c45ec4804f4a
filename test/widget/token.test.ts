import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CreateTokenOptions, UnauthorizedException, type WorkOS } from '@workos-inc/node';
import { ManualClock } from '../../src/lib/clock.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { eventsNamed } from '../oauth/flow-helpers.ts';

const widget = (pipes: TestPipes, token: string, method: string, path: string, body?: unknown) =>
  api(pipes, method, `/widget/api${path}`, {
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body }),
  });

describe('widget tokens and the widget API', () => {
  let pipes: TestPipes;
  let workos: WorkOS;
  const clock = new ManualClock(Date.UTC(2031, 0, 1));
  const tokenFor = async (userId: string, organizationId?: string) =>
    (
      await workos.widgets.createToken({
        userId,
        ...(organizationId ? { organizationId } : {}),
      } as CreateTokenOptions)
    ).token;
  const importAccount = async (userId: string, query = '') => {
    const response = await api(
      pipes,
      'POST',
      `/user_management/users/${userId}/connected_accounts/sandbox${query}`,
      {
        key: pipes.sandboxKey,
        body: { access_token: `imported-token-for-${userId}` },
      },
    );
    assert.equal(response.status, 201, response.text);
    return response.json.id as string;
  };

  before(async () => {
    pipes = await startPublicTestPipes({ clock });
    workos = sdkFor(pipes, pipes.sandboxKey);
    await workos.pipes.createDataIntegration({
      provider: 'sandbox',
      enabled: true,
      credentials: { type: 'shared' } as never,
    });
  });
  after(() => pipes.close());

  test('POST /widgets/token: the SDK gets a token; user_id is required; WorkOS widget scopes are refused', async () => {
    const token = await tokenFor('user_a');
    assert.match(token, /^pwt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.doesNotMatch(token, /user_a/, 'the user id is sealed, not readable in the token');

    const raw = await api(pipes, 'POST', '/widgets/token', {
      key: pipes.sandboxKey,
      body: { user_id: 'user_a' },
    });
    assert.equal(raw.status, 201);
    assert.equal(raw.headers.get('cache-control'), 'no-store');
    assert.equal(Date.parse(raw.json.expires_at), clock.now() + 15 * 60_000);

    const noKey = await api(pipes, 'POST', '/widgets/token', { body: { user_id: 'user_a' } });
    assert.equal(noKey.status, 401);
    const noUser = await api(pipes, 'POST', '/widgets/token', {
      key: pipes.sandboxKey,
      body: { organization_id: 'org_1' },
    });
    assert.equal(noUser.status, 422);
    assert.equal(noUser.json.code, 'user_id_required');
    const scoped = await api(pipes, 'POST', '/widgets/token', {
      key: pipes.sandboxKey,
      body: { user_id: 'user_a', scopes: ['widgets:users-table:manage'] },
    });
    assert.equal(scoped.status, 422);
    assert.equal(scoped.json.code, 'unsupported_widget_scope');
    assert.ok(!pipes.logs.text().includes(token), 'no widget token in the logs');
  });

  test("a token for user A sees and disconnects only A's own connection", async () => {
    const accountA = await importAccount('user_a');
    const accountB = await importAccount('user_b');
    const accountAInOrg = await importAccount('user_a', '?organization_id=org_1');
    const tokenA = await tokenFor('user_a');

    const list = await widget(pipes, tokenA, 'GET', '/providers');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.headers.get('cache-control'), 'no-store');
    const [sandbox] = list.json.data;
    assert.equal(sandbox.slug, 'sandbox');
    assert.equal(sandbox.name, 'Pipes Sandbox');
    assert.equal(sandbox.connection.id, accountA);
    assert.equal(sandbox.connectable, true);
    assert.equal(sandbox.available, true);
    assert.ok(!list.text.includes(accountB) && !list.text.includes(accountAInOrg));
    assert.ok(!list.text.includes('imported-token'), 'no provider token in the widget API');

    // With an organization, the token is the owner (user A, org_1): another connection.
    const inOrg = await widget(pipes, await tokenFor('user_a', 'org_1'), 'GET', '/providers');
    assert.equal(inOrg.json.data[0].connection.id, accountAInOrg);

    const steal = await widget(pipes, tokenA, 'POST', '/providers/sandbox/disconnect', {
      connected_account_id: accountB,
    });
    assert.equal(steal.status, 404);
    assert.equal(
      (await workos.pipes.getUserConnectedAccount({ userId: 'user_b', slug: 'sandbox' })).id,
      accountB,
    );

    const own = await widget(pipes, tokenA, 'POST', '/providers/sandbox/disconnect', {});
    assert.equal(own.status, 204);
    const after = await widget(pipes, tokenA, 'GET', '/providers');
    assert.equal(after.json.data[0].connection, null);
    const disconnected = await eventsNamed(pipes, 'pipes.connected_account.disconnected');
    assert.deepEqual(
      disconnected.map((e) => e.data.id),
      [accountA],
    );
  });

  test("a token for user A cannot follow user B's connect attempt", async () => {
    const started = await api(pipes, 'POST', '/data-integrations/sandbox/authorize', {
      key: pipes.sandboxKey,
      body: { user_id: 'user_b', return_to: 'http://127.0.0.1:9/back' },
    });
    assert.equal(started.status, 200);
    const id = started.json.authorization_id as string;
    const asA = await widget(pipes, await tokenFor('user_a'), 'GET', `/authorizations/${id}`);
    assert.equal(asA.status, 404);
    const asB = await widget(pipes, await tokenFor('user_b'), 'GET', `/authorizations/${id}`);
    assert.equal(asB.status, 200);
    assert.equal(asB.json.status, 'pending');
    assert.equal(asB.json.stage, 'confirming');
  });

  test('a widget token is not an API key, and an API key is not a widget token', async () => {
    const token = await tokenFor('user_a');
    const asKey = await api(pipes, 'GET', '/data-integrations', { key: token });
    assert.equal(asKey.status, 401);
    assert.equal(asKey.json.code, 'unauthorized');
    await assert.rejects(sdkFor(pipes, token).pipes.listDataIntegrations(), UnauthorizedException);
    const forToken = await api(pipes, 'POST', '/widgets/token', { key: token, body: { user_id: 'user_z' } });
    assert.equal(forToken.status, 401, 'a widget token cannot mint widget tokens');

    const keyAsToken = await widget(pipes, pipes.sandboxKey, 'GET', '/providers');
    assert.equal(keyAsToken.status, 401);
    assert.equal(keyAsToken.json.code, 'invalid_widget_token');
    const none = await api(pipes, 'GET', '/widget/api/providers');
    assert.equal(none.status, 401);
    // The token travels in a header only: a cookie or a query parameter is not read (no CSRF with it).
    const asCookie = await api(pipes, 'GET', '/widget/api/providers', {
      headers: { cookie: `token=${token}` },
    });
    assert.equal(asCookie.status, 401);
    const asQuery = await api(pipes, 'GET', `/widget/api/providers?token=${token}`);
    assert.equal(asQuery.status, 401);
  });

  test('a tampered token, a token of another environment and a token whose key was revoked do not work', async () => {
    const token = await tokenFor('user_a');
    const body = token.slice(token.indexOf('.') + 1);
    const flipped = `${token.slice(0, token.indexOf('.') + 1)}${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`;
    assert.equal((await widget(pipes, flipped, 'GET', '/providers')).status, 401);

    // Production has no sandbox integration: its token sees production's (empty) list only.
    const production = await sdkFor(pipes, pipes.productionKey).widgets.createToken({
      userId: 'user_a',
    } as CreateTokenOptions);
    const list = await widget(pipes, production.token, 'GET', '/providers');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.data, []);

    const created = await api(pipes, 'POST', '/pipes/api-keys', {
      key: pipes.sandboxKey,
      body: { name: 'short' },
    });
    assert.equal(created.status, 201, created.text);
    const shortLived = sdkFor(pipes, created.json.key as string);
    const revocable = (await shortLived.widgets.createToken({ userId: 'user_a' } as CreateTokenOptions))
      .token;
    assert.equal((await widget(pipes, revocable, 'GET', '/providers')).status, 200);
    const revoked = await api(pipes, 'DELETE', `/pipes/api-keys/${created.json.id}`, {
      key: pipes.sandboxKey,
    });
    assert.ok(revoked.status < 300, revoked.text);
    assert.equal((await widget(pipes, revocable, 'GET', '/providers')).status, 401);
  });

  test('connect: return_to and the embedding origin follow the allow-list; Pipes’ own pages are allowed', async () => {
    const token = await tokenFor('user_c');
    const hosted = await widget(pipes, token, 'POST', '/providers/sandbox/connect', {
      mode: 'redirect',
      return_to: `${pipes.config.publicUrl}/widget`,
    });
    assert.equal(hosted.status, 201, hosted.text);
    assert.match(hosted.json.url, /\/data-integrations\/[A-Za-z0-9_-]{43}\/authorize-redirect$/);
    assert.match(hosted.json.authorization_id, /^flow_/);
    const loopback = await widget(pipes, token, 'POST', '/providers/sandbox/connect', {
      mode: 'redirect',
      return_to: 'http://localhost:3000/settings',
    });
    assert.equal(loopback.status, 201);
    const foreign = await widget(pipes, token, 'POST', '/providers/sandbox/connect', {
      mode: 'redirect',
      return_to: 'https://evil.example/steal',
    });
    assert.equal(foreign.status, 422);
    assert.equal(foreign.json.code, 'invalid_return_to');
    const noReturn = await widget(pipes, token, 'POST', '/providers/sandbox/connect', { mode: 'redirect' });
    assert.equal(noReturn.status, 422);

    const popup = (origin: string) =>
      api(pipes, 'POST', '/widget/api/providers/sandbox/connect', {
        headers: { authorization: `Bearer ${token}`, origin },
        body: { mode: 'popup' },
      });
    const fromApp = await popup('http://127.0.0.1:3000');
    assert.equal(fromApp.status, 201, fromApp.text);
    const flow = await pipes.server.ctx.store.db
      .selectFrom('authorization_flows')
      .select('return_to')
      .where('id', '=', fromApp.json.authorization_id)
      .executeTakeFirstOrThrow();
    assert.equal(
      flow.return_to,
      `${pipes.config.publicUrl}/widget/done?origin=http%3A%2F%2F127.0.0.1%3A3000`,
    );
    const fromEvil = await popup('https://evil.example');
    assert.equal(fromEvil.status, 422);
    assert.equal(fromEvil.json.code, 'invalid_widget_origin');

    const unknown = await widget(pipes, token, 'POST', '/providers/github/connect', {
      mode: 'redirect',
      return_to: 'http://localhost:3000/settings',
    });
    assert.equal(unknown.status, 404);
  });

  test('the API answers cross-origin preflights for the bearer header, with no credentials', async () => {
    const response = await fetch(`${pipes.url}/widget/api/providers`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.ok(response.status === 204 || response.status === 200, String(response.status));
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.match(response.headers.get('access-control-allow-headers') ?? '', /authorization/i);
    assert.equal(response.headers.get('access-control-allow-credentials'), null);
    // Errors carry the CORS header too, so the element can read "expired" instead of a network error.
    const denied = await api(pipes, 'GET', '/widget/api/providers', {
      headers: { origin: 'https://app.example', authorization: 'Bearer nope' },
    });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), '*');
  });

  test('the static script and the pages: script headers, strict CSP, escaped provider text', async () => {
    const script = await fetch(`${pipes.url}/widget/pipes-connect.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(script.headers.get('cross-origin-resource-policy'), 'cross-origin');
    const source = await script.text();
    assert.doesNotMatch(source, /innerHTML|insertAdjacentHTML|document\.write|eval\(/);
    const again = await fetch(`${pipes.url}/widget/pipes-connect.js`, {
      headers: { 'if-none-match': script.headers.get('etag') ?? '' },
    });
    assert.equal(again.status, 304);

    const done = await fetch(
      `${pipes.url}/widget/done?origin=${encodeURIComponent('https://evil.example')}&status=failed&provider=sandbox` +
        `&error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script>')}`,
    );
    assert.equal(done.status, 200);
    const html = await done.text();
    assert.match(done.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(done.headers.get('cross-origin-opener-policy'), null, 'the done page keeps its opener');
    assert.ok(!html.includes('<script>alert(1)</script>'));
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /data-origin=""/, 'an unregistered origin gets no message');
    const fine = await (
      await fetch(
        `${pipes.url}/widget/done?origin=${encodeURIComponent('http://127.0.0.1:3000')}&status=connected&provider=sandbox`,
      )
    ).text();
    assert.match(fine, /data-origin="http:\/\/127.0.0.1:3000"/);
  });

  test('a token expires after 15 minutes: the API refuses it and the hosted page says so', async () => {
    const token = await tokenFor('user_a');
    clock.advance(15 * 60_000 - 1000);
    assert.equal((await widget(pipes, token, 'GET', '/providers')).status, 200);
    const page = await fetch(`${pipes.url}/widget?token=${token}`);
    assert.equal(page.status, 200);
    clock.advance(2000);
    const expired = await widget(pipes, token, 'GET', '/providers');
    assert.equal(expired.status, 401);
    assert.equal(expired.json.code, 'invalid_widget_token');
    const stale = await fetch(`${pipes.url}/widget?token=${token}`);
    assert.equal(stale.status, 400);
    assert.match(await stale.text(), /This link has expired or is not valid/);
    assert.ok(!pipes.logs.text().includes(token), 'the token, used in a URL, is not logged');
  });
});
