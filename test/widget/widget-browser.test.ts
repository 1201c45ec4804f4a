import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CreateTokenOptions, WorkOS } from '@workos-inc/node';
import type { Browser, Page } from 'playwright-core';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { FakeOAuthProvider } from '../oauth/fake-oauth-provider.ts';
import { eventsNamed } from '../oauth/flow-helpers.ts';
import { continueToProvider, launchChromium, newContext, sandboxAllow, screenshot } from './chromium.ts';
import { type EmbedPage, startCoopConsentPage, startEmbedPage } from './embed-page.ts';

/** The widget's row of a provider, inside the element's shadow root (Playwright's locators pierce it). */
const row = (page: Page, slug: string) => page.locator(`pipes-connect li[data-provider="${slug}"]`);

describe('the connect widget in Chromium', () => {
  let pipes: TestPipes;
  let workos: WorkOS;
  let browser: Browser;
  let embed: EmbedPage;

  before(async () => {
    pipes = await startPublicTestPipes();
    workos = sdkFor(pipes, pipes.sandboxKey);
    await workos.pipes.createDataIntegration({
      provider: 'sandbox',
      enabled: true,
      description: 'Fake accounts to try Pipes: <b>not</b> real.',
      credentials: { type: 'shared' } as never,
    });
    browser = await launchChromium();
    embed = await startEmbedPage(pipes.config.publicUrl, workos);
  });
  after(async () => {
    await browser?.close();
    await embed?.close();
    await pipes?.close();
  });

  async function connectedAccountOf(userId: string) {
    const { data } = await workos.pipes.listUserDataProviders({ userId });
    return data.find((p) => p.slug === 'sandbox')?.connectedAccount ?? null;
  }

  test('hosted page, redirect mode: connect, come back connected, disconnect', async () => {
    const { token } = await workos.widgets.createToken({ userId: 'user_hosted' } as CreateTokenOptions);
    const context = await newContext(browser);
    const page = await context.newPage();
    const response = await page.goto(`${pipes.config.publicUrl}/widget?token=${token}`);
    const csp = response!.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const sandbox = row(page, 'sandbox');
    await sandbox.getByRole('button', { name: 'Connect Pipes Sandbox' }).waitFor();
    // The token left the address bar as soon as the page read it.
    assert.doesNotMatch(page.url(), /token=/);
    // The integration's description is shown as text, markup and all.
    assert.equal(
      await sandbox.locator('.description').textContent(),
      'Fake accounts to try Pipes: <b>not</b> real.',
    );
    await screenshot(page, 'widget-hosted-list');

    await sandbox.getByRole('button', { name: 'Connect Pipes Sandbox' }).click();
    await page.waitForURL(/authorize-redirect/);
    await continueToProvider(page);
    await page.waitForURL(/\/sandbox\/oauth\/authorize/);
    await sandboxAllow(page, 'grace');
    await page.waitForURL(`${pipes.config.publicUrl}/widget`);
    await sandbox.getByText('Connected as grace').waitFor();
    await page.getByText('Pipes Sandbox is connected.').waitFor();
    await screenshot(page, 'widget-hosted-connected');

    const account = await connectedAccountOf('user_hosted');
    assert.ok(account, 'data_providers shows the connection');
    assert.equal(account.state, 'connected');
    const connected = await eventsNamed(pipes, 'pipes.connected_account.connected');
    assert.ok(connected.some((e) => e.data.user_id === 'user_hosted' && e.data.id === account.id));

    // The connection needs reauthorization: the widget says so and offers Reauthorize, which reconnects it.
    const flagged = await api(pipes, 'PUT', '/user_management/users/user_hosted/connected_accounts/sandbox', {
      key: pipes.sandboxKey,
      body: { state: 'needs_reauthorization' },
    });
    assert.equal(flagged.status, 200, flagged.text);
    await page.reload();
    await sandbox.getByText('grace needs to be reconnected').waitFor();
    await screenshot(page, 'widget-hosted-needs-reauthorization');
    await sandbox.getByRole('button', { name: 'Reauthorize Pipes Sandbox' }).click();
    await continueToProvider(page);
    await sandboxAllow(page, 'grace');
    await page.waitForURL(`${pipes.config.publicUrl}/widget`);
    await sandbox.getByText('Connected as grace').waitFor();
    const reconnected = await connectedAccountOf('user_hosted');
    assert.equal(reconnected?.id, account.id, 'the same connection was reauthorized');
    assert.equal(reconnected?.state, 'connected');

    await sandbox.getByRole('button', { name: 'Disconnect Pipes Sandbox' }).click();
    await sandbox.getByRole('button', { name: 'Disconnect Pipes Sandbox' }).click();
    await page.getByText('Pipes Sandbox is disconnected.').waitFor();
    await sandbox.getByRole('button', { name: 'Connect Pipes Sandbox' }).waitFor();
    assert.equal(await connectedAccountOf('user_hosted'), null);
    const disconnected = await eventsNamed(pipes, 'pipes.connected_account.disconnected');
    assert.ok(disconnected.some((e) => e.data.id === account.id));
    await context.close();
  });

  /** Records the element's events on the page, to prove what was (and was not) reported. */
  async function recordWidgetEvents(page: Page) {
    await page.evaluate(`(() => {
      window.__pipesEvents = [];
      for (const name of ['ready', 'connected', 'disconnected', 'cancelled', 'error'])
        document.addEventListener('pipes:' + name, (e) => window.__pipesEvents.push({ name, detail: e.detail }));
    })()`);
  }
  const widgetEvents = (page: Page) =>
    page.evaluate('window.__pipesEvents') as Promise<{ name: string; detail: Record<string, unknown> }[]>;

  test('embedded on an app page with a strict CSP, popup mode: a large popup, postMessage back, disconnect', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(embed.pageUrl({ user: 'user_popup', mode: 'popup' }));
    const sandbox = row(page, 'sandbox');
    const connect = sandbox.getByRole('button', { name: 'Connect Pipes Sandbox' });
    await connect.waitFor();
    await recordWidgetEvents(page);
    await screenshot(page, 'widget-embedded-list');

    const [popup] = await Promise.all([page.waitForEvent('popup'), connect.click()]);
    await popup.waitForURL(/authorize-redirect/);
    const [width, height] = (await popup.evaluate('[window.outerWidth, window.outerHeight]')) as number[];
    assert.ok(width! >= 700 && height! >= 800, `the popup fits consent pages (${width}×${height})`);
    await sandbox.getByText('Finish connecting Pipes Sandbox in the pop-up window…').waitFor();
    await screenshot(page, 'widget-embedded-waiting');
    await screenshot(popup, 'widget-popup-confirm');
    await continueToProvider(popup);
    await popup.waitForURL(/\/sandbox\/oauth\/authorize/);
    await screenshot(popup, 'widget-popup-consent');
    await Promise.all([popup.waitForEvent('close'), sandboxAllow(popup, 'alan')]);

    await sandbox.getByText('Connected as alan').waitFor();
    await page.getByText('Pipes Sandbox is connected.').waitFor();
    await screenshot(page, 'widget-embedded-connected');
    const account = await connectedAccountOf('user_popup');
    assert.ok(account);
    const events = await widgetEvents(page);
    assert.deepEqual(
      events.filter((e) => e.name === 'connected').map((e) => e.detail),
      [{ provider: 'sandbox', connectedAccountId: account.id }],
    );
    assert.ok(!events.some((e) => e.name === 'cancelled' || e.name === 'error'), JSON.stringify(events));

    await sandbox.getByRole('button', { name: 'Disconnect Pipes Sandbox' }).click();
    await sandbox.getByRole('button', { name: 'Disconnect Pipes Sandbox' }).click();
    await sandbox.getByRole('button', { name: 'Connect Pipes Sandbox' }).waitFor();
    assert.equal(await connectedAccountOf('user_popup'), null);
    assert.ok((await widgetEvents(page)).some((e) => e.name === 'disconnected'));
    await context.close();
  });

  test('popup severed by a provider page with COOP: no false "closed", the result arrives by polling', async () => {
    // A provider whose consent page sends Cross-Origin-Opener-Policy: same-origin, as Google's and Microsoft's do:
    // the popup moves to another browsing context group, its `window.opener` becomes null, and the opener's handle
    // reads `closed` although the window is open.
    const fake = await new FakeOAuthProvider().start();
    const consent = await startCoopConsentPage(fake.url);
    try {
      const created = await api(pipes, 'POST', '/data-integrations', {
        key: pipes.sandboxKey,
        body: {
          provider: 'coop-provider',
          enabled: true,
          description: 'A provider whose consent page isolates itself (COOP).',
          credentials: {
            type: 'custom',
            client_id: 'coop-client',
            client_secret: 'coop-client-secret-123456',
          },
          custom_provider: {
            name: 'Isolated Provider',
            authorization_url: `${consent.url}/authorize`,
            token_url: `${fake.url}/token`,
          },
        },
      });
      assert.equal(created.status, 201, created.text);
      const context = await newContext(browser);
      const page = await context.newPage();
      await page.goto(embed.pageUrl({ user: 'user_coop', mode: 'popup' }));
      const item = row(page, 'coop-provider');
      const connect = item.getByRole('button', { name: 'Connect Isolated Provider' });
      await connect.waitFor();
      await recordWidgetEvents(page);
      const [popup] = await Promise.all([page.waitForEvent('popup'), connect.click()]);
      await continueToProvider(popup);
      await popup.waitForURL(`${consent.url}/authorize?**`);
      assert.equal(await popup.evaluate('window.opener'), null, 'the provider page severed the opener');
      // Polling rounds pass while the user is at the provider (the handle reads closed), and nothing is reported.
      for (let round = 0; round < 2; round++)
        await page.waitForRequest(/\/widget\/api\/authorizations\/flow_/);
      assert.deepEqual(
        (await widgetEvents(page)).filter((e) => e.name !== 'ready'),
        [],
      );
      assert.deepEqual(
        (await widgetEvents(page)).filter((e) => e.name !== 'ready'),
        [],
      );
      await item.getByText('Finish connecting Isolated Provider in the pop-up window…').waitFor();
      await popup.getByRole('link', { name: 'Allow' }).click();
      await popup.waitForURL(/\/widget\/done\?/);
      await popup.getByText('You can close this window').waitFor();
      await screenshot(popup, 'widget-popup-done-severed');
      await item.getByText(/^Connected as /).waitFor();
      await page.getByText('Isolated Provider is connected.').waitFor();
      const events = await widgetEvents(page);
      assert.ok(events.some((e) => e.name === 'connected'));
      assert.ok(!events.some((e) => e.name === 'cancelled' || e.name === 'error'), JSON.stringify(events));
      const { data } = await workos.pipes.listUserDataProviders({ userId: 'user_coop' });
      assert.equal(data.find((p) => p.slug === 'coop-provider')?.connectedAccount?.state, 'connected');
      await context.close();
    } finally {
      await consent.close();
      await fake.stop();
    }
  });

  test('a popup closed on the confirmation screen is a quiet cancellation, not an error', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(embed.pageUrl({ user: 'user_cancel', mode: 'popup' }));
    const connect = row(page, 'sandbox').getByRole('button', { name: 'Connect Pipes Sandbox' });
    await connect.waitFor();
    await recordWidgetEvents(page);
    const [popup] = await Promise.all([page.waitForEvent('popup'), connect.click()]);
    await popup.waitForURL(/authorize-redirect/);
    await popup.close();
    await page.getByText('Connecting Pipes Sandbox was cancelled.').waitFor();
    await connect.waitFor();
    const events = await widgetEvents(page);
    assert.deepEqual(
      events.filter((e) => e.name === 'cancelled').map((e) => e.detail),
      [{ provider: 'sandbox' }],
    );
    assert.ok(!events.some((e) => e.name === 'error'));
    assert.equal(await connectedAccountOf('user_cancel'), null);
    await context.close();
  });

  test('popup mode whose popup is blocked falls back to redirect mode, in the same page', async () => {
    const context = await newContext(browser);
    // What a popup blocker does: `window.open` returns null. (Playwright's Chromium runs with its blocker off, and
    // its clicks are user gestures, which blockers allow.)
    await context.addInitScript('window.open = () => null;');
    const page = await context.newPage();
    await page.goto(embed.pageUrl({ user: 'user_blocked', mode: 'popup' }));
    const connect = row(page, 'sandbox').getByRole('button', { name: 'Connect Pipes Sandbox' });
    await connect.waitFor();
    await connect.click();
    await page.waitForURL(/authorize-redirect/);
    assert.equal(context.pages().length, 1, 'no popup opened');
    await continueToProvider(page);
    await sandboxAllow(page, 'ada');
    await page.waitForURL((url) => url.origin === embed.origin);
    await row(page, 'sandbox').getByText('Connected as ada').waitFor();
    assert.ok(await connectedAccountOf('user_blocked'));
    await context.close();
  });

  test('embedded, redirect mode: the flow returns to the app page, which shows the result', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const pageUrl = embed.pageUrl({ user: 'user_redirect', mode: 'redirect' });
    await page.goto(pageUrl);
    const sandbox = row(page, 'sandbox');
    await sandbox.getByRole('button', { name: 'Connect Pipes Sandbox' }).click();
    await page.waitForURL(/authorize-redirect/);
    await continueToProvider(page);
    await sandboxAllow(page, 'grace');
    await page.waitForURL((url) => url.origin === embed.origin);
    await sandbox.getByText('Connected as grace').waitFor();
    await page.getByText('Pipes Sandbox is connected.').waitFor();
    // The result parameters were read, then removed from the address bar.
    assert.equal(page.url(), pageUrl);
    assert.ok(await connectedAccountOf('user_redirect'));
    await context.close();
  });
});
