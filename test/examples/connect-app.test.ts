import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { TestPipes } from '../helpers/pipes.ts';
import { reservePort, startPublicTestPipes } from '../helpers/public-pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { eventsNamed } from '../oauth/flow-helpers.ts';
import {
  continueToProvider,
  launchChromium,
  newContext,
  sandboxAllow,
  screenshot,
} from '../widget/chromium.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Starts the example exactly as its README says: `node --import tsx examples/connect-app/server.ts`. */
async function startExample(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output(): string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/connect-app/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited with ${code}:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

describe('examples/connect-app in Chromium', () => {
  let pipes: TestPipes;
  let browser: Browser;
  let example: Awaited<ReturnType<typeof startExample>>;

  before(async () => {
    pipes = await startPublicTestPipes();
    const port = await reservePort();
    example = await startExample({
      PIPES_URL: pipes.config.publicUrl,
      WORKOS_API_KEY: pipes.sandboxKey,
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    example?.child.kill('SIGTERM');
    await pipes?.close();
  });

  test('the README command starts it, and it set up the sandbox provider with shared credentials', async () => {
    const integration = await sdkFor(pipes, pipes.sandboxKey).pipes.getDataIntegration({ slug: 'sandbox' });
    assert.equal(integration.enabled, true);
    assert.equal(integration.credentials?.type, 'shared');
    assert.equal(example.url, `http://127.0.0.1:${new URL(example.url).port}`);
  });

  test('connect with the app’s button, come back, see the account, fetch a token, call the sandbox API', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(example.url);
    await page.getByRole('link', { name: 'Connect Pipes Sandbox' }).waitFor();
    // The embedded widget renders too, under the app's own strict CSP.
    await page.locator('pipes-connect li[data-provider="sandbox"]').getByText('Not connected').waitFor();
    await screenshot(page, 'example-home');

    await page.getByRole('link', { name: 'Connect Pipes Sandbox' }).click();
    await page.waitForURL(/authorize-redirect/);
    assert.match(await page.content(), /user_demo/);
    await continueToProvider(page);
    await sandboxAllow(page, 'grace');
    await page.waitForURL(`${example.url}/connected?**`);
    assert.equal(await page.locator('#account-name').textContent(), 'grace');
    await screenshot(page, 'example-connected');
    const connected = await eventsNamed(pipes, 'pipes.connected_account.connected');
    assert.equal(connected.length, 1);
    assert.equal(connected[0]!.data.user_id, 'user_demo');

    await page.getByRole('link', { name: 'Fetch a token and call the sandbox API' }).click();
    await page.waitForURL(`${example.url}/call`);
    const body = JSON.parse((await page.locator('#api-response').textContent()) ?? '{}') as {
      login?: string;
    };
    assert.equal(body.login, 'grace');
    assert.match((await page.locator('h1').textContent()) ?? '', /→ 200/);
    await screenshot(page, 'example-api-call');
    assert.doesNotMatch(await page.content(), /sbx_at_/, 'the provider token never reaches the browser');

    await page.goto(example.url);
    await page.locator('pipes-connect li[data-provider="sandbox"]').getByText('Connected as grace').waitFor();
    await screenshot(page, 'example-home-connected');
    await context.close();
  });

  test('the embedded widget connects and disconnects in redirect mode, back to the app page', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(example.url);
    const item = page.locator('pipes-connect li[data-provider="sandbox"]');
    await item.getByRole('button', { name: 'Disconnect Pipes Sandbox' }).click();
    await item.getByRole('button', { name: 'Disconnect Pipes Sandbox' }).click();
    await item.getByRole('button', { name: 'Connect Pipes Sandbox' }).click();
    await page.waitForURL(/authorize-redirect/);
    await continueToProvider(page);
    await sandboxAllow(page, 'alan');
    await page.waitForURL(`${example.url}/**`);
    await item.getByText('Connected as alan').waitFor();
    // The app's own view, rendered on the server from the SDK, agrees.
    await page.reload();
    assert.equal(await page.locator('#account-name').textContent(), 'alan');
    await context.close();
  });
});
