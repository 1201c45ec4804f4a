import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); playwright cannot download browsers here. */
const EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags from docs (reference/environment.md): no sandbox as root, and no background calls to the internet. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: EXECUTABLE, args: ARGS, headless: true });
}

/** A fresh profile with a desktop-sized screen, so that popups get the size the widget asks for. */
export async function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: 1100, height: 800 },
    screen: { width: 1440, height: 900 },
  });
}

export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-output/screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** At Pipes' confirmation screen: continue to the provider. */
export async function continueToProvider(page: Page): Promise<void> {
  await page.getByRole('button', { name: /Continue to/ }).click();
}

/** At the sandbox's consent page: pick a test account and allow. */
export async function sandboxAllow(page: Page, account: string): Promise<void> {
  await page.locator(`input[name="account"][value="${account}"]`).check();
  await page.getByRole('button', { name: /allow/i }).click();
}
