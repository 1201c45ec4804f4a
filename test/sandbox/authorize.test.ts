import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  buildAuthorizeUrl,
  CLIENT,
  connect,
  parseConsentForm,
  REDIRECT_URI,
  type SandboxHarness,
  startSandbox,
} from './helpers.ts';

/** GET the authorize URL without following redirects. */
async function getAuthorize(url: URL): Promise<Response> {
  return fetch(url, { redirect: 'manual' });
}

async function expectErrorPage(response: Response, text: RegExp): Promise<string> {
  assert.equal(response.status, 400);
  assert.equal(response.headers.get('location'), null);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  const html = await response.text();
  assert.match(html, text);
  return html;
}

function expectErrorRedirect(response: Response, issuer: string, error: string, state: string | null): URL {
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get('location') ?? '');
  assert.equal(location.origin + location.pathname, REDIRECT_URI);
  assert.equal(location.searchParams.get('error'), error);
  assert.ok((location.searchParams.get('error_description') ?? '').length > 0);
  assert.equal(location.searchParams.get('state'), state);
  assert.equal(location.searchParams.get('iss'), issuer);
  assert.equal(location.searchParams.get('code'), null);
  return location;
}

describe('sandbox: authorization endpoint', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox();
  });
  after(async () => {
    await h.close();
  });

  test('unknown client: an HTML error page, never a redirect', async () => {
    const { url } = await buildAuthorizeUrl(h, { clientId: 'nobody' });
    await expectErrorPage(await getAuthorize(url), /Unknown client/);
  });

  test('unregistered redirect_uri: an HTML error page, never a redirect', async () => {
    for (const redirectUri of [
      'https://evil.example/oauth/callback',
      `${REDIRECT_URI}/`,
      `${REDIRECT_URI}?x=1`,
      'https://APP.example/oauth/callback',
    ]) {
      const { url } = await buildAuthorizeUrl(h, { redirectUri });
      await expectErrorPage(await getAuthorize(url), /Invalid redirect URI/);
    }
  });

  test('missing or repeated client_id / redirect_uri: an HTML error page', async () => {
    const { url } = await buildAuthorizeUrl(h);
    const missing = new URL(url);
    missing.searchParams.delete('redirect_uri');
    await expectErrorPage(await getAuthorize(missing), /redirect_uri/);
    const repeated = new URL(url);
    repeated.searchParams.append('client_id', CLIENT.client_id);
    await expectErrorPage(await getAuthorize(repeated), /client_id/);
  });

  test('other errors are redirected to the verified redirect_uri with error, state and iss', async () => {
    const cases: [string, (url: URL) => void, string][] = [
      ['no PKCE', (url) => url.searchParams.delete('code_challenge'), 'invalid_request'],
      ['plain PKCE', (url) => url.searchParams.set('code_challenge_method', 'plain'), 'invalid_request'],
      ['PKCE method omitted', (url) => url.searchParams.delete('code_challenge_method'), 'invalid_request'],
      ['malformed challenge', (url) => url.searchParams.set('code_challenge', 'short'), 'invalid_request'],
      ['unknown scope', (url) => url.searchParams.set('scope', 'profile admin'), 'invalid_scope'],
      ['empty scope', (url) => url.searchParams.set('scope', ' '), 'invalid_scope'],
      ['implicit flow', (url) => url.searchParams.set('response_type', 'token'), 'unsupported_response_type'],
      ['no response_type', (url) => url.searchParams.delete('response_type'), 'invalid_request'],
      ['repeated scope', (url) => url.searchParams.append('scope', 'profile'), 'invalid_request'],
    ];
    for (const [name, mutate, error] of cases) {
      const { url, state } = await buildAuthorizeUrl(h);
      mutate(url);
      const response = await getAuthorize(url);
      assert.equal(response.status, 302, name);
      expectErrorRedirect(response, h.issuer, error, state);
    }
  });

  test('state is required; its absence is reported without a state', async () => {
    const { url } = await buildAuthorizeUrl(h);
    url.searchParams.delete('state');
    expectErrorRedirect(await getAuthorize(url), h.issuer, 'invalid_request', null);
  });

  test('a redirect keeps the query the client registered in its redirect_uri', async () => {
    const registered = 'https://app.example/other-callback';
    const { url, state } = await buildAuthorizeUrl(h, { redirectUri: registered });
    url.searchParams.set('scope', 'nope');
    const response = await getAuthorize(url);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.origin + location.pathname, registered);
    assert.equal(location.searchParams.get('state'), state);
  });

  test('the consent page: accounts with labels, scopes with descriptions, hardening headers', async () => {
    const { url } = await buildAuthorizeUrl(h, { scope: 'profile items:write' });
    const response = await getAuthorize(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
    const html = await response.text();
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /<script/i);
    const accounts: [string, string][] = [
      ['ada', 'Ada Lovelace'],
      ['grace', 'Grace Hopper'],
      ['alan', 'Alan Turing'],
    ];
    for (const [login, name] of accounts) {
      assert.match(html, new RegExp(`<label[^>]*for="account-${login}"`));
      assert.match(
        html,
        new RegExp(`<input[^>]*id="account-${login}"[^>]*name="account"[^>]*value="${login}"`),
      );
      assert.ok(html.includes(name));
    }
    assert.match(html, /<legend>Sign in as a test account<\/legend>/);
    assert.match(html, /<code>profile<\/code>/);
    assert.match(html, /<code>items:write<\/code>: Create items/);
    assert.doesNotMatch(html, /<code>items:read<\/code>/);
    assert.match(html, /<button[^>]*value="allow"[^>]*>\s*Allow\s*<\/button>/);
    assert.match(html, /<button[^>]*value="deny"[^>]*>\s*Deny\s*<\/button>/);
    const form = parseConsentForm(html);
    assert.equal(form.action, `${h.issuer}/oauth/authorize/decision`);
    assert.match(form.requestId, /^sbx_cr_[A-Za-z0-9_-]{43}$/);
  });

  test('omitting scope grants just profile', async () => {
    const { url } = await buildAuthorizeUrl(h);
    url.searchParams.delete('scope');
    const html = await (await getAuthorize(url)).text();
    assert.match(html, /<code>profile<\/code>/);
    assert.doesNotMatch(html, /<code>items:read<\/code>|<code>offline_access<\/code>/);
  });

  test('a consent request id works once; a made-up one is refused', async () => {
    const { url } = await buildAuthorizeUrl(h);
    const form = parseConsentForm(await (await getAuthorize(url)).text());
    const submit = (requestId: string) =>
      fetch(form.action, {
        method: 'POST',
        body: new URLSearchParams({ request_id: requestId, account: 'ada', decision: 'allow' }),
        redirect: 'manual',
      });
    assert.equal((await submit(form.requestId)).status, 302);
    await expectErrorPage(await submit(form.requestId), /Request expired/);
    await expectErrorPage(await submit(`sbx_cr_${'A'.repeat(43)}`), /Request expired/);
  });

  test('a consent request expires after 10 minutes', async () => {
    const { url } = await buildAuthorizeUrl(h);
    const form = parseConsentForm(await (await getAuthorize(url)).text());
    h.clock.advance(10 * 60_000 + 1);
    const response = await fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams({ request_id: form.requestId, account: 'ada', decision: 'allow' }),
      redirect: 'manual',
    });
    await expectErrorPage(response, /Request expired/);
  });

  test('allow with an unknown account is reported to the client, not granted', async () => {
    const { url, state } = await buildAuthorizeUrl(h);
    const form = parseConsentForm(await (await getAuthorize(url)).text());
    const response = await fetch(form.action, {
      method: 'POST',
      body: new URLSearchParams({ request_id: form.requestId, account: 'mallory', decision: 'allow' }),
      redirect: 'manual',
    });
    expectErrorRedirect(response, h.issuer, 'invalid_request', state);
  });
});

describe('sandbox: acceptAnyClient', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox({ acceptAnyClient: true });
  });
  after(async () => {
    await h.close();
  });

  test('an unregistered client connects; its secret is pinned on first use', async () => {
    const id = 'my-own-client';
    const redirectUri = 'http://localhost:3000/callback';
    const { url } = await buildAuthorizeUrl(h, { clientId: id, redirectUri });
    assert.equal((await getAuthorize(url)).status, 200);

    const first = await startOwnClientFlow(h, id, redirectUri, 'first-secret');
    assert.equal(first.status, 200);
    const second = await startOwnClientFlow(h, id, redirectUri, 'other-secret');
    assert.equal(second.status, 401);
    assert.equal(((await second.json()) as { error: string }).error, 'invalid_client');
    assert.equal((await startOwnClientFlow(h, id, redirectUri, 'first-secret')).status, 200);
  });

  test('redirect URIs must still be absolute http(s) URLs without fragment', async () => {
    for (const redirectUri of [
      'javascript:alert(1)',
      'https://app.example/cb#frag',
      '/relative',
      'ftp://x.example/',
    ]) {
      const { url } = await buildAuthorizeUrl(h, { clientId: 'anyone', redirectUri });
      await expectErrorPage(await getAuthorize(url), /Invalid redirect URI/);
    }
  });

  test('registered clients are still checked strictly', async () => {
    const { url } = await buildAuthorizeUrl(h, { redirectUri: 'https://evil.example/cb' });
    await expectErrorPage(await getAuthorize(url), /Invalid redirect URI/);
    await connect(h);
  });
});

/** Runs consent + code exchange for an unregistered client with client_secret_post, returning the token response. */
async function startOwnClientFlow(
  h: SandboxHarness,
  clientId: string,
  redirectUri: string,
  secret: string,
): Promise<Response> {
  const { url, verifier } = await buildAuthorizeUrl(h, { clientId, redirectUri });
  const form = parseConsentForm(await (await fetch(url)).text());
  const decision = await fetch(form.action, {
    method: 'POST',
    body: new URLSearchParams({ request_id: form.requestId, account: 'alan', decision: 'allow' }),
    redirect: 'manual',
  });
  const code = new URL(decision.headers.get('location') ?? '').searchParams.get('code') ?? '';
  return fetch(h.as.token_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: clientId,
      client_secret: secret,
    }),
  });
}
