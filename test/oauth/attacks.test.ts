import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/lib/clock.ts';
import { codeVerifierBinding } from '../../src/oauth/flow/flow-store.ts';
import { digest, s256 } from '../../src/oauth/flow/secrets.ts';
import type { TestPipes } from '../helpers/pipes.ts';
import { api } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { Browser } from './browser.ts';
import { connectLink, createFakeIntegration, FAKE_CLIENT_SECRET } from './custom-setup.ts';
import { FakeOAuthProvider } from './fake-oauth-provider.ts';
import {
  confirm,
  connectedAccounts,
  deliver,
  eventsNamed,
  fakeConsent,
  RETURN_TO,
  returnedTo,
} from './flow-helpers.ts';

/**
 * Rows O1–O17 of the security test plan, against fake providers configured as custom providers. Each row asserts a
 * clear error, that no token was stored, and (where the plan says so) that the token endpoint was never called.
 */
describe('connect flow attacks and faults (O1–O17)', () => {
  let pipes: TestPipes;
  let fp: FakeOAuthProvider;
  let other: FakeOAuthProvider;
  const clock = new ManualClock();
  before(async () => {
    pipes = await startPublicTestPipes({ clock });
    fp = await new FakeOAuthProvider().start();
    other = await new FakeOAuthProvider().start();
    await createFakeIntegration(pipes, fp, 'fake');
    fp.issuer = fp.url;
    await createFakeIntegration(pipes, fp, 'fake-iss', { issuer: fp.url });
    await createFakeIntegration(pipes, other, 'other');
  });
  after(async () => {
    fp.issuer = null;
    await fp.stop();
    await other.stop();
    await pipes.close();
  });

  /** Runs a flow up to the provider's redirect back; returns the browser and the callback URL. */
  async function toCallback(slug = 'fake', body: Record<string, unknown> = { return_to: RETURN_TO }) {
    const browser = new Browser();
    const authorizeUrl = await confirm(browser, await connectLink(pipes, slug, body));
    const provider = slug === 'other' ? other : fp;
    provider.issuer = slug === 'fake-iss' ? provider.url : null;
    const callback = await fakeConsent(browser, authorizeUrl);
    return { browser, callback, authorizeUrl };
  }

  async function expectPage(response: Response, code: string) {
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
    const html = await response.text();
    assert.match(html, new RegExp(`<code>${code}</code>`));
    return html;
  }

  test('a complete flow works (the baseline the attacks deviate from)', async () => {
    const before = (await connectedAccounts(pipes)).length;
    const { browser, callback } = await toCallback();
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('status'), 'connected');
    assert.equal((await connectedAccounts(pipes)).length, before + 1);
    const request = fp.tokenRequests.at(-1)!;
    assert.equal(
      request.params.get('redirect_uri'),
      new URL(callback).origin + new URL(callback).pathname,
      'O19: same redirect_uri',
    );
    assert.equal(request.params.get('client_secret'), FAKE_CLIENT_SECRET);
  });

  test('O1: a callback without state, or with an unknown state → 400 invalid_state, no token request', async () => {
    const { browser, callback } = await toCallback();
    const tokens = fp.tokenCount();
    const accounts = (await connectedAccounts(pipes)).length;
    const url = new URL(callback);
    url.searchParams.delete('state');
    await expectPage(await deliver(browser, url.href), 'invalid_state');
    url.searchParams.set('state', 'A'.repeat(43));
    await expectPage(await deliver(browser, url.href), 'invalid_state');
    assert.equal(fp.tokenCount(), tokens);
    assert.equal((await connectedAccounts(pipes)).length, accounts);
  });

  test('O2: the callback from another browser is refused and the flow is left untouched', async () => {
    const { browser, callback } = await toCallback();
    const tokens = fp.tokenCount();
    const attacker = new Browser();
    await expectPage(await deliver(attacker, callback), 'browser_mismatch');
    assert.equal(fp.tokenCount(), tokens);
    // Untouched: the right browser can still finish it.
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('status'), 'connected');
  });

  test('O3: a replayed callback is refused; the token endpoint is called once', async () => {
    const { browser, callback } = await toCallback();
    const tokens = fp.tokenCount();
    returnedTo(await deliver(browser, callback));
    await expectPage(await deliver(browser, callback), 'invalid_state');
    assert.equal(fp.tokenCount(), tokens + 1);
  });

  test('O4: a state older than 10 minutes → "expired, start again", no token request, connection_failed', async () => {
    const { browser, callback } = await toCallback();
    const tokens = fp.tokenCount();
    const failed = (await eventsNamed(pipes, 'pipes.connected_account.connection_failed')).length;
    clock.advance(11 * 60_000);
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('error'), 'authorization_expired');
    assert.match(back.searchParams.get('error_description') ?? '', /start again/);
    assert.equal(fp.tokenCount(), tokens);
    const events = await eventsNamed(pipes, 'pipes.connected_account.connection_failed');
    assert.equal(events.length, failed + 1);
    assert.equal(events.at(-1)!.data.error_code, 'authorization_expired');
  });

  test('an expired connect link is refused before anything happens', async () => {
    const link = await connectLink(pipes, 'fake', { return_to: RETURN_TO });
    clock.advance(11 * 60_000);
    const response = await new Browser().get(link);
    await expectPage(response, 'link_expired');
  });

  test('O5: iss of another server (provider declares its issuer) → rejected before the token request', async () => {
    const { browser, callback } = await toCallback('fake-iss');
    const tokens = fp.tokenCount();
    const url = new URL(callback);
    assert.equal(url.searchParams.get('iss'), fp.url);
    url.searchParams.set('iss', 'https://other.test');
    const back = returnedTo(await deliver(browser, url.href));
    assert.equal(back.searchParams.get('error'), 'invalid_authorization_response');
    assert.equal(fp.tokenCount(), tokens);
  });

  test('O6: iss missing from a provider that declares it → rejected', async () => {
    const { browser, callback } = await toCallback('fake-iss');
    const tokens = fp.tokenCount();
    const url = new URL(callback);
    url.searchParams.delete('iss');
    const back = returnedTo(await deliver(browser, url.href));
    assert.equal(back.searchParams.get('error'), 'invalid_authorization_response');
    assert.equal(fp.tokenCount(), tokens);
  });

  test('O7: a duplicated state, code or iss → 400, no token request', async () => {
    for (const name of ['state', 'code', 'iss']) {
      const { browser, callback } = await toCallback('fake-iss');
      const tokens = fp.tokenCount();
      const url = new URL(callback);
      url.searchParams.append(name, url.searchParams.get(name)!);
      await expectPage(await deliver(browser, url.href), 'invalid_request');
      assert.equal(fp.tokenCount(), tokens, name);
    }
  });

  test('O8: a response for flow A delivered to integration B redirect URI → rejected; no token endpoint sees the code', async () => {
    const { browser, callback } = await toCallback('fake');
    const tokensA = fp.tokenCount();
    const tokensB = other.tokenCount();
    const otherRedirect = (await api(pipes, 'GET', '/data-integrations/other', { key: pipes.sandboxKey }))
      .json.redirect_uri;
    const mixed = new URL(otherRedirect);
    mixed.search = new URL(callback).search;
    const back = returnedTo(await deliver(browser, mixed.href));
    assert.equal(back.searchParams.get('error'), 'invalid_authorization_response');
    assert.equal(fp.tokenCount(), tokensA);
    assert.equal(other.tokenCount(), tokensB);
  });

  test('O9: PKCE S256 on every flow; verifiers unique, 43+ unreserved characters, never in a URL, sealed at rest', async () => {
    const verifiers = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const authorizeUrl = new URL(await confirm(new Browser(), await connectLink(pipes, 'fake')));
      assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
      const challenge = authorizeUrl.searchParams.get('code_challenge')!;
      const state = authorizeUrl.searchParams.get('state')!;
      assert.match(state, /^[A-Za-z0-9_-]{43}$/, '256-bit state');
      const flow = await pipes.server.ctx.store.db
        .selectFrom('authorization_flows')
        .selectAll()
        .where('state_hash', '=', digest(state))
        .executeTakeFirstOrThrow();
      const verifier = pipes.server.ctx.vault.open(flow.code_verifier!, codeVerifierBinding(flow));
      assert.match(verifier, /^[A-Za-z0-9._~-]{43,128}$/);
      assert.equal(s256(verifier), challenge, 'challenge = b64url(SHA-256(verifier))');
      assert.ok(!flow.code_verifier!.toString('latin1').includes(verifier), 'not stored in plaintext');
      assert.ok(!authorizeUrl.href.includes(verifier), 'not in the URL');
      assert.ok(!pipes.logs.text().includes(verifier), 'not logged');
      verifiers.add(verifier);
    }
    assert.equal(verifiers.size, 20, 'one verifier per flow');
  });

  test('O10: a provider that rejects code_challenge → a clear PKCE configuration error, no retry without PKCE', async () => {
    fp.authorizeError = { error: 'invalid_request', error_description: 'code_challenge is not supported' };
    try {
      const authorizeRequests = fp.authorizeRequests.length;
      const { browser, callback } = await toCallback();
      const back = returnedTo(await deliver(browser, callback));
      assert.equal(back.searchParams.get('provider_error'), 'invalid_request');
      assert.match(back.searchParams.get('error_description') ?? '', /PKCE/);
      assert.equal(fp.authorizeRequests.length, authorizeRequests + 1, 'no second attempt');
      assert.ok(fp.authorizeRequests.at(-1)!.get('code_challenge'));
    } finally {
      fp.authorizeError = null;
    }
  });

  test('O11: an injected code fails the exchange at the provider and stores nothing (see oidc-flow for a real AS)', async () => {
    const { browser, callback } = await toCallback();
    fp.tokenScript.push({
      status: 400,
      body: JSON.stringify({ error: 'invalid_grant', error_description: 'PKCE verification failed' }),
    });
    const accounts = (await connectedAccounts(pipes)).length;
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('error'), 'authorization_code_exchange_error');
    assert.equal(back.searchParams.get('provider_error'), 'invalid_grant');
    assert.equal((await connectedAccounts(pipes)).length, accounts);
  });

  test('O12: error=access_denied with a script in the description → escaped page, one connection_failed event', async () => {
    fp.authorizeError = { error: 'access_denied', error_description: '<script>alert(1)</script>' };
    try {
      const before = (await eventsNamed(pipes, 'pipes.connected_account.connection_failed')).length;
      const { browser, callback } = await toCallback('fake', {});
      const response = await deliver(browser, callback);
      const html = await expectPage(response, 'authorization_denied');
      assert.ok(!html.includes('<script>alert(1)</script>'), 'not executable');
      assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const events = await eventsNamed(pipes, 'pipes.connected_account.connection_failed');
      assert.equal(events.length, before + 1);
      assert.equal(events.at(-1)!.data.provider_error, 'access_denied');
      assert.equal(events.at(-1)!.data.provider_error_description, '<script>alert(1)</script>');
    } finally {
      fp.authorizeError = null;
    }
  });

  test('access_denied with a return_to: back to the app with error and what to do', async () => {
    fp.authorizeError = { error: 'access_denied' };
    try {
      const { browser, callback } = await toCallback();
      const back = returnedTo(await deliver(browser, callback));
      assert.equal(back.origin + back.pathname, RETURN_TO);
      assert.equal(back.searchParams.get('status'), 'failed');
      assert.equal(back.searchParams.get('error'), 'authorization_denied');
      assert.match(back.searchParams.get('error_description') ?? '', /start again and approve/);
    } finally {
      fp.authorizeError = null;
    }
  });

  test('redirect_uri_mismatch at the provider says which URI to register', async () => {
    fp.authorizeError = { error: 'redirect_uri_mismatch' };
    try {
      const { browser, callback } = await toCallback();
      const back = returnedTo(await deliver(browser, callback));
      const redirectUri = new URL(callback).origin + new URL(callback).pathname;
      assert.ok(back.searchParams.get('error_description')!.includes(`Register exactly ${redirectUri}`));
    } finally {
      fp.authorizeError = null;
    }
  });

  test('O13: an unregistered return_to is refused at authorize time (no open redirector)', async () => {
    for (const returnTo of [
      'https://evil.test/cb',
      'javascript:alert(1)',
      'http://127.0.0.1.evil.test/',
      '//evil.test',
    ]) {
      const response = await api(pipes, 'POST', '/data-integrations/fake/authorize', {
        key: pipes.sandboxKey,
        body: { user_id: 'user_1', return_to: returnTo },
      });
      assert.equal(response.status, 422, returnTo);
      assert.equal(response.json.code, 'invalid_return_to');
      assert.equal(response.json.errors[0].field, 'return_to');
      assert.match(response.json.message, /redirect_urls\.sandbox/);
      assert.equal(response.headers.get('location'), null);
    }
  });

  const malformedBodies: [string, string][] = [
    ['non-JSON', '<html>'],
    ['null', 'null'],
    ['[]', '[]'],
    ['no access_token', '{"token_type":"bearer"}'],
    ['access_token 1', '{"access_token":1,"token_type":"bearer"}'],
    ['token_type mac', '{"access_token":"a","token_type":"mac"}'],
    ['expires_in "x"', '{"access_token":"a","token_type":"bearer","expires_in":"x"}'],
    ['expires_in -1', '{"access_token":"a","token_type":"bearer","expires_in":-1}'],
    ['expires_in 1e20', '{"access_token":"a","token_type":"bearer","expires_in":1e20}'],
    ['refresh_token 123', '{"access_token":"a","token_type":"bearer","refresh_token":123}'],
  ];
  test('O14: malformed token responses → typed error, nothing stored, no 500', async () => {
    for (const [name, body] of malformedBodies) {
      const { browser, callback } = await toCallback();
      const accounts = (await connectedAccounts(pipes)).length;
      fp.tokenScript.push({ body });
      const response = await deliver(browser, callback);
      const back = returnedTo(response);
      assert.equal(back.searchParams.get('error'), 'authorization_code_exchange_error', name);
      assert.match(back.searchParams.get('error_description') ?? '', /invalid token response/, name);
      assert.equal((await connectedAccounts(pipes)).length, accounts, name);
    }
  });

  test('O15: lenient but valid (bearer, no expires_in, no scope) → connected; expiry unknown, scopes as requested', async () => {
    const { browser, callback } = await toCallback('fake', {
      return_to: RETURN_TO,
      connection_intent: 'add',
    });
    fp.tokenScript.push({ body: '{"access_token":"lenient-token","token_type":"bearer"}' });
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('status'), 'connected');
    const account = (await connectedAccounts(pipes)).find(
      (a) => a.id === back.searchParams.get('connected_account_id'),
    )!;
    assert.equal(account.expiry_kind, 'unknown');
    assert.equal(account.expires_at, null);
    assert.deepEqual(JSON.parse(account.scopes), ['read', 'write']);
  });

  test('O16: an error with HTTP 200, and 400 invalid_grant, at the code exchange → failure, nothing stored', async () => {
    for (const scripted of [
      { status: 200, body: '{"error":"bad_verification_code"}' },
      { status: 400, body: '{"error":"invalid_grant"}' },
    ]) {
      const { browser, callback } = await toCallback();
      const accounts = (await connectedAccounts(pipes)).length;
      fp.tokenScript.push(scripted);
      const back = returnedTo(await deliver(browser, callback));
      assert.equal(back.searchParams.get('error'), 'authorization_code_exchange_error');
      assert.match(back.searchParams.get('error_description') ?? '', /refused the authorization code/);
      assert.equal((await connectedAccounts(pipes)).length, accounts);
    }
  });

  test('O17: a token endpoint that resets the connection fails the flow cleanly', async () => {
    const { browser, callback } = await toCallback();
    fp.tokenScript.push({ reset: true });
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('error'), 'authorization_code_exchange_error');
    assert.match(
      back.searchParams.get('error_description') ?? '',
      /did not answer in time or is unavailable/,
    );
  });

  test('O17: a token endpoint that hangs fails within the 10 s timeout; the user can restart', async () => {
    const { browser, callback } = await toCallback();
    fp.tokenScript.push({ hang: true });
    const started = Date.now();
    const back = returnedTo(await deliver(browser, callback));
    const elapsed = Date.now() - started;
    assert.equal(back.searchParams.get('error'), 'authorization_code_exchange_error');
    // The 10 s timeout, plus the callback's own work (with room for a loaded machine); without a timeout it would hang.
    assert.ok(elapsed >= 9_000 && elapsed < 15_000, `failed after ${elapsed} ms`);
    const again = await toCallback();
    assert.equal(
      returnedTo(await deliver(again.browser, again.callback)).searchParams.get('status'),
      'connected',
    );
  });

  test('no token, code, state or client secret in the logs', async () => {
    const logs = pipes.logs.text();
    for (const token of [...fp.issuedAccessTokens, ...fp.issuedRefreshTokens])
      assert.ok(!logs.includes(token));
    assert.ok(!logs.includes(FAKE_CLIENT_SECRET));
    assert.ok(!/fp_code_/.test(logs), 'no authorization code');
    assert.ok(!/state=/.test(logs), 'no callback URL');
  });
});
