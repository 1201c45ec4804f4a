import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Browser as Chromium, Page } from 'playwright-core';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { Browser } from '../oauth/browser.ts';
import { confirm, deliver, RETURN_TO, returnedTo, sandboxConsent, sdkFor } from '../oauth/flow-helpers.ts';
import { eventually } from '../tokens/harness.ts';
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
} from './helpers.ts';

/**
 * The operator's day in Chromium: sign in, configure the built-in sandbox provider (custom credentials, then
 * shared), create an API key and a webhook endpoint (each secret shown once), watch a real connection arrive with
 * its events and webhook deliveries, then disconnect it. Screenshots of every main page land in
 * test-output/screenshots/.
 */
describe('operator dashboard in Chromium', () => {
  let pipes: TestPipes;
  let chromium: Chromium;
  let context: BrowserContext;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startHttp>>;
  const received: string[] = [];
  const issued: {
    apiKey?: string;
    webhookSecret?: string;
    rotatedSecret?: string;
    clientSecret: string;
    customSecret: string;
  } = {
    clientSecret: 'sandbox-client-secret-7f3a9c2e',
    customSecret: 'acme-client-secret-0000-5d1b',
  };
  let accountId = '';

  before(async () => {
    pipes = await startPublicTestPipes();
    await seedOperator(pipes);
    receiver = await startHttp((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push(body);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok, thanks');
      });
    });
    chromium = await launchChromium();
    context = await newContext(chromium);
    page = await context.newPage();
  });
  after(async () => {
    await context?.close();
    await chromium?.close();
    await receiver?.close();
    await pipes?.close();
  });

  const dashboard = (path: string) => `${pipes.config.publicUrl}/dashboard${path}`;

  test('the sign-in page is labelled and signs the operator in', async () => {
    await page.goto(dashboard('/sign-in'));
    await screenshot(page, 'sign-in');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in to Pipes');
    await signIn(page, pipes);
    assert.match(await text(page.locator('.envline')), /Showing the sandbox environment/);
    assert.equal(await text(page.locator('nav[aria-label="Dashboard"] a[aria-current="page"]')), 'Providers');
    await screenshot(page, 'providers');
  });

  test('the catalog is searchable with a plain GET form', async () => {
    await page.getByLabel('Search').fill('sandbox');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=sandbox/);
    const names = await page.locator('table a').allInnerTexts();
    assert.deepEqual(names, ['Pipes Sandbox']);
    await page.getByLabel('Search').fill('crm');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=crm/);
    const crm = await page.locator('table a').allInnerTexts();
    assert.ok(crm.includes('HubSpot') && crm.includes('Salesforce'), crm.join(', '));
    assert.ok(!crm.includes('Pipes Sandbox'));
  });

  test('configures the sandbox provider with custom credentials and sees it Active', async () => {
    await page.goto(dashboard('/providers/sandbox'));
    await page.getByRole('button', { name: 'Add with my own OAuth app' }).click();
    await page.waitForURL(/notice=added/);
    // Inactive, with its reason and the fix beside it.
    assert.equal(await text(page.locator('#status-title .badge')), 'Inactive');
    assert.match(await text(page.locator('.fix').first()), /client id and secret/);
    const redirectUri = await page.getByLabel(/Redirect URI to register/).inputValue();
    assert.match(
      redirectUri,
      new RegExp(`^${pipes.config.publicUrl}/data-integrations/sandbox/dik_[0-9A-Z]{26}/callback$`),
    );
    await page.getByLabel(/Custom credentials/).check();
    await page.getByLabel('Client id').fill('my-sandbox-app');
    await page.getByLabel('Client secret').fill(issued.clientSecret);
    await page.locator('input[name="scope"][value="items:write"]').check();
    await page.getByLabel('Description for your users').fill('Reads your sandbox items.');
    await page.getByRole('button', { name: 'Save credentials' }).click();
    await page.waitForURL(/notice=saved/);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.waitForURL(/notice=enabled/);
    assert.equal(await text(page.locator('#status-title .badge')), 'Active');
    assert.match(
      await text(page.locator('.facts').first()),
      /custom: client id my-sandbox-app, secret …9c2e/,
    );
    assert.ok(!(await page.content()).includes(issued.clientSecret), 'the client secret is not in the page');
    await screenshot(page, 'provider-configuration');

    const integration = await api(pipes, 'GET', '/data-integrations/sandbox', { key: pipes.sandboxKey });
    assert.equal(integration.json.status, 'active');
    assert.deepEqual(integration.json.credentials, {
      type: 'custom',
      client_id: 'my-sandbox-app',
      redacted_client_secret: '9c2e',
    });
    assert.deepEqual(integration.json.scopes, ['profile', 'items:read', 'items:write', 'offline_access']);
    assert.equal(integration.json.description, 'Reads your sandbox items.');
  });

  test('switches the sandbox provider to shared credentials; production shows them disabled with the reason', async () => {
    await page.getByLabel(/Shared credentials/).check();
    await page.locator('input[name="scope"][value="items:write"]').uncheck();
    await page.getByRole('button', { name: 'Save credentials' }).click();
    await page.waitForURL(/notice=saved/);
    assert.equal(await text(page.locator('#status-title .badge')), 'Active');
    const integration = await api(pipes, 'GET', '/data-integrations/sandbox', { key: pipes.sandboxKey });
    assert.equal(integration.json.credentials.type, 'shared');
    assert.deepEqual(integration.json.scopes, ['profile', 'items:read', 'offline_access']);

    await page.getByLabel('Environment', { exact: true }).selectOption('production');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.waitForURL(/notice=environment/);
    assert.match(await text(page.locator('.envline')), /production environment/);
    await page.goto(dashboard('/providers/github'));
    assert.match(await text(page.locator('.envline')), /production/);
    assert.equal(await page.getByRole('button', { name: 'Add with shared credentials' }).isDisabled(), true);
    await screenshot(page, 'provider-production');
    assert.match(await text(page.locator('#add-title + p + .actions + .hint')), /only available in sandbox/);
    assert.equal(
      (await page.goto(dashboard('/providers/sandbox')))?.status(),
      404,
      'no sandbox in production',
    );
    await page.goto(dashboard('/providers'));
    await page.getByLabel('Environment', { exact: true }).selectOption('sandbox');
    await page.getByRole('button', { name: 'Switch' }).click();
    await page.waitForURL(/notice=environment/);
  });

  test('defines a custom provider with the §4.5 fields, then gives it credentials', async () => {
    await page.goto(dashboard('/providers'));
    await page.getByRole('link', { name: 'Define a custom provider' }).click();
    await page.getByLabel('Slug').fill('acme-crm');
    await page.getByLabel('Name', { exact: true }).fill('Acme CRM');
    await page.getByLabel('Authorization URL').fill('https://acme.example/oauth/authorize');
    await page.getByLabel('Token URL', { exact: true }).fill('ftp://acme.example/oauth/token');
    await page.getByLabel('Use PKCE (S256)').uncheck();
    await page.getByLabel('Client authentication at the token URL').selectOption('basic_auth_header');
    await page.getByLabel('Extra authorization parameters').fill('prompt=consent\naccess_type=offline');
    await page.getByLabel('Revocation URL (optional)').fill('https://acme.example/oauth/revoke');
    await page.getByLabel('API base URL (optional)').fill('https://api.acme.example/v2');
    await page.getByRole('button', { name: 'Create custom provider' }).click();
    assert.match(
      await text(page.locator('.problem')),
      /custom_provider\.token_url.*must be an http or https URL/,
    );
    assert.equal(await page.getByLabel('Slug').inputValue(), 'acme-crm', 'the form keeps what was typed');
    await page.getByLabel('Token URL', { exact: true }).fill('https://acme.example/oauth/token');
    await page.getByRole('button', { name: 'Create custom provider' }).click();
    await page.waitForURL(/\/dashboard\/providers\/acme-crm\?notice=added/);
    const definition = await text(page.locator('main'));
    assert.match(definition, /PKCE\s+off/);
    assert.match(definition, /Client authentication\s+basic auth header/);
    assert.match(definition, /"prompt":"consent","access_type":"offline"/);
    assert.match(definition, /Revocation URL \(RFC 7009\)\s+https:\/\/acme\.example\/oauth\/revoke/);
    assert.match(definition, /API base URL \(relay\)\s+https:\/\/api\.acme\.example\/v2/);
    assert.equal(await page.getByLabel(/Shared credentials/).isDisabled(), true);
    await page.getByLabel('Client id').fill('acme-client');
    await page.getByLabel('Client secret').fill(issued.customSecret);
    await page.getByLabel('Scopes to request').fill('contacts.read deals.read');
    await page.getByRole('button', { name: 'Save credentials' }).click();
    await page.waitForURL(/notice=saved/);
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.waitForURL(/notice=enabled/);
    assert.equal(await text(page.locator('#status-title .badge')), 'Active');
    await screenshot(page, 'custom-provider');
    const integration = await api(pipes, 'GET', '/data-integrations/acme-crm', { key: pipes.sandboxKey });
    assert.equal(integration.json.integration_type, 'custom');
    assert.equal(integration.json.custom_provider.pkce_enabled, false);
    assert.equal(integration.json.custom_provider.revocation_url, 'https://acme.example/oauth/revoke');
    assert.equal(integration.json.custom_provider.api_base_url, 'https://api.acme.example/v2');
    assert.deepEqual(integration.json.scopes, ['contacts.read', 'deals.read']);
    await page.goto(dashboard('/providers?status=configured'));
    assert.deepEqual(await page.locator('table a').allTextContents(), ['Acme CRM', 'Pipes Sandbox']);
  });

  test('creates an API key, shown once, that works against the API', async () => {
    await page.goto(dashboard('/api-keys'));
    await page.getByLabel('Name').fill('backend');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByLabel('API key', { exact: true }).inputValue();
    assert.match(key, /^sk_test_[0-9A-Za-z]{49}$/);
    issued.apiKey = key;
    assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key })).status, 200);
    await page.goto(dashboard('/api-keys'));
    const html = await page.content();
    assert.ok(!html.includes(key), 'a reload does not show the key again');
    assert.ok(html.includes(`sk_test_…${key.slice(-4)}`));
    await screenshot(page, 'api-keys');
  });

  test('revokes a key after a confirmation; it stops working at once', async () => {
    await page.getByLabel('Name').fill('short-lived');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByLabel('API key', { exact: true }).inputValue();
    assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key })).status, 200);
    await page.goto(dashboard('/api-keys'));
    await page.getByRole('link', { name: `Revoke short-lived …${key.slice(-4)}` }).click();
    assert.match(await text(page.locator('h1')), /Revoke the key "short-lived"\?/);
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await page.waitForURL(/notice=revoked/);
    assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key })).status, 401);
    assert.equal((await api(pipes, 'GET', '/pipes/api-keys', { key: issued.apiKey! })).status, 200);
  });

  test('creates a webhook endpoint; its signing secret is shown once', async () => {
    await page.goto(dashboard('/webhooks'));
    await page.getByLabel('Endpoint URL').fill(`http://127.0.0.1:${receiver.port}/hooks`);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = await page.getByLabel('Signing secret').inputValue();
    assert.match(secret, /^whsec_/);
    issued.webhookSecret = secret;
    await screenshot(page, 'webhook-created');
    await page.goto(dashboard('/webhooks'));
    assert.ok(!(await page.content()).includes(secret));
    assert.match(await text(page.locator('tbody tr').first()), /enabled/);
  });

  test('rotates the webhook signing secret: the new one is shown once', async () => {
    await page.goto(dashboard('/webhooks'));
    await page.locator('tbody a').first().click();
    await page.getByLabel('Keep signing with the old secret for').selectOption('3600');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = await page.getByLabel('New signing secret').inputValue();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, issued.webhookSecret);
    issued.rotatedSecret = rotated;
    assert.match(await text(page.locator('main')), /Previous secret\s+still signing until/);
    await page.reload();
    assert.ok(!(await page.content()).includes(rotated), 'a reload does not show it again');
  });

  test('a connection made through the real sandbox flow shows up with scopes, events and deliveries', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const { url } = await workos.pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId: 'user_123',
      returnTo: RETURN_TO,
    });
    const flow = new Browser();
    const authorizeUrl = await confirm(flow, url);
    const back = returnedTo(
      await deliver(flow, await sandboxConsent(flow, authorizeUrl, { account: 'ada' })),
    );
    assert.equal(back.searchParams.get('status'), 'connected');
    accountId = back.searchParams.get('connected_account_id')!;

    await page.goto(dashboard('/connections'));
    const row = page.locator('tbody tr', { hasText: accountId });
    assert.match(await text(row), /ada[\s\S]*sandbox[\s\S]*user_123[\s\S]*connected/);
    await screenshot(page, 'connections');
    await page.getByLabel('State').selectOption('needs_reauthorization');
    await page.getByRole('button', { name: 'Filter' }).click();
    assert.match(await text(page.locator('main')), /No connection matches/);

    // The operator now asks for items:write too: the existing grant lacks it.
    await page.goto(dashboard('/providers/sandbox'));
    await page.locator('input[name="scope"][value="items:write"]').check();
    await page.getByRole('button', { name: 'Save credentials' }).click();
    await page.waitForURL(/notice=saved/);

    await page.goto(dashboard(`/connections/${accountId}`));
    const main = await text(page.locator('main'));
    assert.match(main, /Granted\s+profile items:read offline_access/);
    // The fix beside it: reauthorize.
    assert.match(main, /Missing\s+items:write/);
    assert.match(main, /Fix:.*lacks items:write.*user_123/);
    assert.match(main, /Outcome\s+granted/);
    assert.match(main, /pipes\.connected_account\.connected/);
    await screenshot(page, 'connection-detail');

    // The background webhook worker delivers the connected event to the receiver.
    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(received.length, 1);
    assert.equal(JSON.parse(received[0]!).event, 'pipes.connected_account.connected');
    // The receiver has the event; the worker records the delivery once it has read the answer.
    const delivered = async () =>
      (await pipes.server.ctx.store.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'delivered')
        .executeTakeFirst()) !== undefined;
    await eventually(delivered, 'the delivery to be recorded as delivered', 1000);
    await page.goto(dashboard('/webhooks'));
    await page.locator('tbody a').first().click();
    const detail = await text(page.locator('main'));
    assert.match(detail, /pipes\.connected_account\.connected[\s\S]*delivered[\s\S]*HTTP 200/);
    await page.locator('details summary', { hasText: 'Response body' }).first().click();
    assert.match(await text(page.locator('main pre').first()), /ok, thanks/);
    await screenshot(page, 'webhooks');

    await page
      .getByRole('button', { name: /^Redeliver / })
      .first()
      .click();
    await page.waitForURL(/notice=redelivered/);
    for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(received.length, 2, 'the redelivery reached the receiver');
    assert.equal(JSON.parse(received[1]!).id, JSON.parse(received[0]!).id, 'same event id');
  });

  test('the event log is filterable and shows each event with its data', async () => {
    await page.goto(dashboard('/events'));
    assert.match(await text(page.locator('tbody')), /pipes\.connected_account\.connected/);
    await page.getByLabel('Event', { exact: true }).selectOption('pipes.connected_account.disconnected');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/event=pipes.connected_account.disconnected/);
    assert.match(await text(page.locator('main')), /No events/);
    await page.goto(dashboard(`/events?connection=${accountId}`));
    assert.equal(await page.locator('tbody tr').count(), 1);
    await page.locator('details summary', { hasText: 'Data' }).first().click();
    assert.match(await text(page.locator('main pre').first()), /"user_id": "user_123"/);
    await screenshot(page, 'events');
  });

  test('disconnects a connection after a confirmation', async () => {
    await page.goto(dashboard(`/connections/${accountId}`));
    await page.getByRole('link', { name: 'Disconnect…' }).click();
    assert.match(await text(page.locator('h1')), /^Disconnect ada\?/);
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.waitForURL(/notice=disconnected/);
    assert.match(await text(page.locator('main')), /No connection matches/);
    const token = await sdkFor(pipes, pipes.sandboxKey).pipes.getAccessToken({
      provider: 'sandbox',
      userId: 'user_123',
    });
    assert.equal(token.active, false);
    await page.goto(dashboard('/events?event=pipes.connected_account.disconnected'));
    assert.equal(await page.locator('tbody tr').count(), 1);
  });

  test('D6: no page shows an issued secret again (every dashboard page crawled)', async () => {
    const client = new DashboardClient(pipes.config.publicUrl);
    for (const cookie of await context.cookies()) client.jar.set(cookie.name, cookie.value);
    const secrets = [
      issued.apiKey!,
      issued.webhookSecret!,
      issued.rotatedSecret!,
      issued.clientSecret,
      issued.customSecret,
    ];
    const seen = new Set<string>();
    const queue = ['/dashboard/providers', '/dashboard/assets/dashboard.css'];
    while (queue.length > 0 && seen.size < 400) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const response = await client.request(path);
      assert.ok(response.status === 200, `${path} answered ${response.status}`);
      for (const secret of secrets)
        assert.ok(!response.text.includes(secret), `${path} shows an issued secret`);
      for (const match of response.text.matchAll(/href="(\/dashboard[^"#]*)"/g)) {
        const next = match[1]!.replaceAll('&amp;', '&');
        if (!seen.has(next)) queue.push(next);
      }
    }
    assert.ok(seen.size > 50, `crawled ${seen.size} pages`);
    for (const path of [
      `/dashboard/connections`,
      `/dashboard/webhooks`,
      '/dashboard/api-keys',
      '/dashboard/events',
    ]) {
      assert.ok(seen.has(path), `${path} was crawled`);
    }
  });

  test('sign-out ends the session on the server', async () => {
    const before = (await context.cookies()).find((c) => c.name === 'pipes_session')!.value;
    await page.goto(dashboard('/providers'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/sign-in\?notice=signed_out/);
    const replay = new DashboardClient(pipes.config.publicUrl);
    replay.jar.set('pipes_session', before);
    const response = await replay.request('/dashboard/providers');
    assert.equal(response.status, 303);
    assert.match(response.headers.get('location')!, /\/dashboard\/sign-in/);
    assert.equal(OPERATOR.email.length > 0, true);
  });
});
