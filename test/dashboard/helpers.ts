import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { createOperator } from '../../src/dashboard/auth/operators.ts';
import type { TestPipes } from '../helpers/pipes.ts';

/** Debian's Chromium with the flags of reference/environment.md (no sandbox as root, no calls to the internet). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1280, height: 900 } });
}

export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-output/screenshots');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `dashboard-${name}.png`), fullPage: true });
}

export const OPERATOR = { email: 'ada@example.com', password: 'correct horse battery staple' };

export async function seedOperator(pipes: TestPipes, operator = OPERATOR): Promise<void> {
  const ctx = pipes.server.ctx;
  await createOperator(ctx.store.db, operator, ctx.clock.now(), ctx.store.engine.isUniqueViolation);
}

/** Signs in through the real form in Chromium. */
export async function signIn(page: Page, pipes: TestPipes, operator = OPERATOR): Promise<void> {
  await page.goto(`${pipes.config.publicUrl}/dashboard/sign-in`);
  await page.getByLabel('Email').fill(operator.email);
  await page.getByLabel('Password').fill(operator.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/dashboard\/providers/);
}

/**
 * A cookie-jar HTTP client for the dashboard, for checks a browser hides (raw Set-Cookie headers, status codes of
 * refused POSTs). It sends `Origin` like a browser does on a POST, unless told otherwise.
 */
export class DashboardClient {
  readonly jar = new Map<string, string>();
  readonly setCookies: string[] = [];

  constructor(readonly base: string) {}

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(
    pathname: string,
    init: {
      form?: Record<string, string | string[]>;
      headers?: Record<string, string>;
      origin?: string | null;
    } = {},
  ): Promise<{ status: number; headers: Headers; text: string }> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.jar.size > 0) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(init.form)) {
        for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
      }
      body = params.toString();
      const origin = init.origin === undefined ? new URL(this.base).origin : init.origin;
      if (origin !== null) headers.origin = origin;
    }
    const response = await fetch(this.base + pathname, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      redirect: 'manual',
      ...(body !== undefined ? { body } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      if (/max-age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, pair!.slice(eq + 1).trim());
    }
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  /** Signs in with the form (fetching its token first); returns the POST's answer. */
  async signIn(email: string, password: string) {
    const page = await this.request('/dashboard/sign-in');
    const token = /name="_signin" value="([^"]+)"/.exec(page.text)?.[1];
    assert.ok(token, 'the sign-in form has its token');
    return this.request('/dashboard/sign-in', { form: { _signin: token, email, password } });
  }

  /** The CSRF token of a signed-in page. */
  async csrf(pathname = '/dashboard/providers'): Promise<string> {
    const page = await this.request(pathname);
    assert.equal(page.status, 200, `GET ${pathname}`);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
    assert.ok(token, 'the page carries a CSRF token');
    return token;
  }
}

/** A plain HTTP server on 127.0.0.1 (an attacker's page, a webhook receiver). */
export async function startHttp(
  handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The text as rendered (line breaks between blocks), which is what the operator reads. */
export function text(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText, not the DOM property
  return locator.innerText();
}

export const XSS = '<img src=x onerror=alert(1)>';
export const XSS_ESCAPED = '&lt;img src=x onerror=alert(1)&gt;';
