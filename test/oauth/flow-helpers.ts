import assert from 'node:assert/strict';
import { WorkOS } from '@workos-inc/node';
import type { TestPipes } from '../helpers/pipes.ts';
import { type Browser, readForm } from './browser.ts';

/** The official SDK, pointed at Pipes by its host options only. */
export function sdkFor(pipes: { port: number }, key: string): WorkOS {
  return new WorkOS(key, { apiHostname: '127.0.0.1', port: pipes.port, https: false, maxRetries: 0 });
}

/** Where a test app would be sent back to: a loopback URL, accepted in development without registration. */
export const RETURN_TO = 'http://127.0.0.1:9/app/connected';

/** Opens the connect link, confirms on the confirmation screen, and returns where Pipes sends the browser. */
export async function confirm(browser: Browser, connectUrl: string): Promise<string> {
  const page = await browser.get(connectUrl);
  assert.equal(page.status, 200, 'the confirmation screen is shown');
  const { action } = readForm(await page.text());
  const leave = await browser.post(action, {});
  assert.equal(leave.status, 302, 'confirming leaves for the provider');
  return leave.headers.get('location')!;
}

/** At the sandbox: picks a test account and allows (or denies); returns the callback URL the sandbox redirects to. */
export async function sandboxConsent(
  browser: Browser,
  authorizeUrl: string,
  options: { account?: string; decision?: 'allow' | 'deny' } = {},
): Promise<string> {
  const consent = await browser.get(authorizeUrl);
  assert.equal(consent.status, 200, 'the sandbox consent page is shown');
  const form = readForm(await consent.text());
  const decided = await browser.post(form.action, {
    ...form.fields,
    account: options.account ?? 'ada',
    decision: options.decision ?? 'allow',
  });
  assert.equal(decided.status, 302);
  return decided.headers.get('location')!;
}

/** At a fake provider that answers `/authorize` with a redirect at once. */
export async function fakeConsent(browser: Browser, authorizeUrl: string): Promise<string> {
  const response = await browser.get(authorizeUrl);
  assert.equal(response.status, 302);
  return response.headers.get('location')!;
}

/** Delivers the callback to Pipes; returns the response (302 to return_to, or an error page). */
export async function deliver(browser: Browser, callbackUrl: string): Promise<Response> {
  return browser.get(callbackUrl);
}

/** Where Pipes sent the browser back to, as a URL (asserts a redirect). */
export function returnedTo(response: Response): URL {
  assert.equal(response.status, 302, `expected a redirect back to the app, got ${response.status}`);
  return new URL(response.headers.get('location')!);
}

export async function connectedAccounts(pipes: TestPipes) {
  return pipes.server.ctx.store.db.selectFrom('connected_accounts').selectAll().orderBy('id').execute();
}

export async function eventsNamed(pipes: TestPipes, name: string) {
  const rows = await pipes.server.ctx.store.db
    .selectFrom('events')
    .selectAll()
    .where('event', '=', name)
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));
}
