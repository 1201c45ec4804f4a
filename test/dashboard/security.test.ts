import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Browser as Chromium, Page } from 'playwright-core';
import { connectionFailedEventData, recordEvent } from '../../src/events/record-event.ts';
import { createApiKey } from '../../src/store/api-keys.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import {
  DashboardClient,
  launchChromium,
  newContext,
  OPERATOR,
  screenshot,
  seedOperator,
  signIn,
  startHttp,
  text,
  XSS,
  XSS_ESCAPED,
} from './helpers.ts';

const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Rows D1–D3, D5–D7 of the security test plan, in Chromium against a real server (D4 and D8: sessions.test.ts). */
describe('dashboard security in Chromium (D1–D3, D5–D7)', () => {
  let pipes: TestPipes;
  let chromium: Chromium;
  let context: BrowserContext;
  let page: Page;
  let attacker: Awaited<ReturnType<typeof startHttp>>;
  let attackerHtml = '';
  const dialogs: string[] = [];
  let accountId = '';

  before(async () => {
    pipes = await startPublicTestPipes();
    await seedOperator(pipes);
    const ctx = pipes.server.ctx;
    const db = ctx.store.db;
    const sandbox = await requireEnvironment(db, 'sandbox');
    // User-entered text: an integration description, a custom provider's name, an API key's name.
    const created = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: { provider: 'sandbox', enabled: true, credentials: { type: 'shared' }, description: XSS },
    });
    assert.equal(created.status, 201, created.text);
    const custom = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: {
        provider: 'evil-provider',
        custom_provider: {
          name: XSS,
          authorization_url: 'https://evil.example/authorize',
          token_url: 'https://evil.example/token',
        },
      },
    });
    assert.equal(custom.status, 201, custom.text);
    await createApiKey(db, sandbox, XSS, ctx.clock.now());
    // Provider-supplied text: the account's display name, granted scopes, a refresh error, event data.
    const imported = await api(pipes, 'POST', '/user_management/users/user_xss/connected_accounts/sandbox', {
      key: pipes.sandboxKey,
      body: { access_token: 'at-1', refresh_token: 'rt-1', scopes: ['profile', XSS] },
    });
    assert.equal(imported.status, 201, imported.text);
    accountId = imported.json.id;
    await db
      .updateTable('connected_accounts')
      .set({
        account_display_name: XSS,
        account_identifier: XSS,
        state: 'needs_reauthorization',
        reauthorization_reason: 'invalid_grant',
        last_refresh_outcome: 'invalid_grant',
        last_refresh_error: `invalid_grant: ${XSS}`,
      })
      .where('id', '=', accountId)
      .execute();
    const integration = await db
      .selectFrom('data_integrations')
      .select('id')
      .where('slug', '=', 'sandbox')
      .executeTakeFirstOrThrow();
    await recordEvent(db, {
      environmentId: sandbox.id,
      event: 'pipes.connected_account.connection_failed',
      data: connectionFailedEventData({
        dataIntegrationId: integration.id,
        providerSlug: 'sandbox',
        userId: 'user_xss',
        organizationId: null,
        errorCode: 'authorization_error',
        errorReason: XSS,
        providerError: 'redirect_uri_mismatch',
        providerErrorDescription: XSS,
        createdAt: ctx.clock.now(),
      }),
      organizationId: null,
      now: ctx.clock.now(),
    });

    attacker = await startHttp((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(attackerHtml);
    });
    chromium = await launchChromium();
    context = await newContext(chromium);
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await signIn(page, pipes);
  });
  after(async () => {
    await context?.close();
    await chromium?.close();
    await attacker?.close();
    await pipes?.close();
  });

  const dashboard = (path: string) => `${pipes.config.publicUrl}/dashboard${path}`;
  const attackerUrl = () => `http://localhost:${attacker.port}/`;

  async function activeKeys(): Promise<number> {
    const rows = await pipes.server.ctx.store.db
      .selectFrom('api_keys')
      .select('id')
      .where('revoked_at', 'is', null)
      .execute();
    return rows.length;
  }

  test('D1: a form on another origin posting to the dashboard gets 403 and changes nothing', async () => {
    // Even with the victim's real CSRF token (as if it had leaked), the origin check refuses the POST.
    await page.goto(dashboard('/api-keys'));
    const token = await page.locator('input[name="_csrf"]').first().inputValue();
    const keysBefore = await activeKeys();
    attackerHtml = `<!DOCTYPE html><title>Win a prize</title>
      <form method="post" action="${dashboard('/api-keys')}">
        <input name="name" value="attacker"><input name="_csrf" value="${token}">
        <button id="key">Claim your prize</button>
      </form>
      <form method="post" action="${dashboard(`/connections/${accountId}/disconnect`)}">
        <input name="_csrf" value="${token}"><button id="disconnect">Second prize</button>
      </form>`;
    await page.goto(attackerUrl());
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url() === dashboard('/api-keys')),
      page.locator('#key').click(),
    ]);
    assert.equal(refused.status(), 403);
    assert.match(await text(page.locator('h1')), /Request refused/);
    await page.goto(attackerUrl());
    const [second] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/disconnect')),
      page.locator('#disconnect').click(),
    ]);
    assert.equal(second.status(), 403);
    // A script on the attacker's page, with credentials: the request goes out, nothing changes.
    await page.goto(attackerUrl());
    await page.evaluate(
      async ([url, csrf]) => {
        await fetch(url!, {
          method: 'POST',
          mode: 'no-cors',
          credentials: 'include',
          body: new URLSearchParams({ name: 'attacker-fetch', _csrf: csrf! }),
        }).catch(() => undefined);
      },
      [dashboard('/api-keys'), token],
    );
    assert.equal(await activeKeys(), keysBefore, 'no key was created');
    const account = await pipes.server.ctx.store.db
      .selectFrom('connected_accounts')
      .select('id')
      .where('id', '=', accountId)
      .executeTakeFirst();
    assert.ok(account, 'the connection is still there');
    assert.match(pipes.logs.text(), /cross-origin POST refused/);
  });

  test('D1: a same-origin POST without the session’s CSRF token is refused; GET never changes state', async () => {
    const client = new DashboardClient(pipes.config.publicUrl);
    for (const cookie of await context.cookies()) client.jar.set(cookie.name, cookie.value);
    const keysBefore = await activeKeys();
    const missing = await client.request('/dashboard/api-keys', { form: { name: 'no-token' } });
    assert.equal(missing.status, 403);
    const other = new DashboardClient(pipes.config.publicUrl);
    assert.equal((await other.signIn(OPERATOR.email, OPERATOR.password)).status, 303);
    const otherToken = await other.csrf();
    const wrong = await client.request('/dashboard/api-keys', { form: { name: 'x', _csrf: otherToken } });
    assert.equal(wrong.status, 403, "another session's token does not work");
    const noOrigin = await client.request('/dashboard/api-keys', {
      form: { name: 'x', _csrf: await client.csrf() },
      origin: null,
    });
    assert.equal(noOrigin.status, 403, 'a POST with neither Origin nor Sec-Fetch-Site is refused');
    const crossSite = await client.request('/dashboard/api-keys', {
      form: { name: 'x', _csrf: await client.csrf() },
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(crossSite.status, 403);
    const sandbox = await requireEnvironment(pipes.server.ctx.store.db, 'sandbox');
    const key = await pipes.server.ctx.store.db
      .selectFrom('api_keys')
      .select('id')
      .where('revoked_at', 'is', null)
      .where('environment_id', '=', sandbox.id)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    assert.equal((await client.request(`/dashboard/api-keys/${key.id}/revoke`)).status, 200);
    assert.equal(await activeKeys(), keysBefore, 'a GET of the revoke page revokes nothing');
    const ok = await client.request('/dashboard/api-keys', {
      form: { name: 'legit', _csrf: await client.csrf() },
    });
    assert.equal(ok.status, 201, 'the same POST with the token and the right origin works');
  });

  test('D2: provider-supplied and user-entered text is rendered escaped; no script runs; CSP is set', async () => {
    const pages = [
      '/providers',
      '/providers/sandbox',
      '/providers/evil-provider',
      '/connections',
      `/connections/${accountId}`,
      '/events',
      '/api-keys',
    ];
    for (const path of pages) {
      const response = await page.goto(dashboard(path));
      assert.equal(response?.status(), 200, path);
      assert.equal(response?.headers()['content-security-policy'], CSP, path);
      const html = await page.content();
      assert.ok(html.includes(XSS_ESCAPED), `${path} shows the payload as text`);
      assert.equal(await page.locator('img[src="x"]').count(), 0, `${path} has no injected element`);
      const raw = await response!.text();
      assert.ok(!raw.includes(XSS), `${path} never writes the payload as markup`);
    }
    await page.goto(dashboard('/events'));
    await page.locator('details summary', { hasText: 'Data' }).first().click();
    assert.equal(dialogs.length, 0, `no dialog opened: ${dialogs.join(', ')}`);
    // The connection page puts the fix beside each error: reauthorize, and the exact redirect URI.
    await page.goto(dashboard(`/connections/${accountId}`));
    assert.match(await text(page.locator('main')), /Fix:.*no longer accepts this connection's refresh token/);
    await screenshot(page, 'connection-needs-reauthorization');
    await page.goto(dashboard('/events'));
    assert.match(
      await text(page.locator('main')),
      new RegExp(
        `Fix: Register exactly ${pipes.config.publicUrl}/data-integrations/sandbox/dik_\\w+/callback`,
      ),
    );
    await screenshot(page, 'events-with-fix');
  });

  test('D3: query parameters are never reflected as markup', async () => {
    const q = encodeURIComponent(XSS);
    const pages = [
      `/providers?q=${q}&status=${q}&category=${q}&notice=${q}`,
      `/connections?provider=${q}&user=${q}&organization=${q}&state=${q}&after=${q}`,
      `/events?event=${q}&provider=${q}&organization=${q}&connection=${q}&problem=${q}&after=${q}`,
      `/webhooks?notice=${q}`,
      `/providers/${q}`,
      `/connections/${q}`,
      `/sign-in?notice=${q}`,
    ];
    for (const path of pages) {
      const response = await page.goto(dashboard(path));
      const raw = await response!.text();
      assert.ok(!raw.includes(XSS) && !raw.includes('<img src=x'), `${path} reflects the payload`);
      assert.equal(response?.headers()['content-security-policy'], CSP);
    }
    await page.goto(dashboard(`/providers?q=${q}`));
    assert.equal(await page.getByLabel('Search').inputValue(), XSS, 'the search box shows the text as typed');
    assert.equal(dialogs.length, 0);
  });

  test('D5: every dashboard answer refuses framing, and an iframe on another origin stays blank', async () => {
    const client = new DashboardClient(pipes.config.publicUrl);
    for (const path of [
      '/dashboard/sign-in',
      '/dashboard/providers',
      '/dashboard/nope',
      '/dashboard/setup/x',
    ]) {
      const response = await client.request(path);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', path);
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
    }
    const refused = await client.request('/dashboard/api-keys', { form: {}, origin: 'http://evil.example' });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('x-frame-options'), 'DENY');
    attackerHtml = `<!DOCTYPE html><title>Framed</title><iframe id="f" src="${dashboard('/sign-in')}" width="800" height="600"></iframe>`;
    await page.goto(attackerUrl());
    await page.waitForLoadState('load');
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame, 'the iframe exists');
    const framed = await frame.content().catch(() => '');
    assert.ok(!framed.includes('Sign in to Pipes'), 'the dashboard did not render inside the frame');
    assert.equal(
      await frame
        .locator('form')
        .count()
        .catch(() => 0),
      0,
    );
  });

  test('D7: another environment’s objects are not found (one operator role; environments isolate data)', async () => {
    await page.goto(dashboard('/connections'));
    await page.getByLabel('Environment', { exact: true }).selectOption('production');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.waitForURL(/notice=environment/);
    assert.match(await text(page.locator('main')), /No connection matches/);
    assert.equal((await page.goto(dashboard(`/connections/${accountId}`)))?.status(), 404);
    assert.equal((await page.goto(dashboard('/providers/evil-provider')))?.status(), 404);
    await page.goto(dashboard('/providers'));
    await page.getByLabel('Environment', { exact: true }).selectOption('sandbox');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.waitForURL(/notice=environment/);
  });
});
