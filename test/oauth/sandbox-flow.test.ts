import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { openAccountSecret } from '../../src/tokens/account-secrets.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { Browser } from './browser.ts';
import {
  confirm,
  connectedAccounts,
  deliver,
  eventsNamed,
  RETURN_TO,
  returnedTo,
  sandboxConsent,
  sdkFor,
} from './flow-helpers.ts';

/** The quickstart path: the built-in sandbox provider with its built-in shared credentials. */
describe('connect flow with the built-in sandbox provider', () => {
  let pipes: TestPipes;
  const issuedTokens: string[] = [];
  before(async () => {
    pipes = await startPublicTestPipes();
    const workos = sdkFor(pipes, pipes.sandboxKey);
    await workos.pipes.createDataIntegration({
      provider: 'sandbox',
      enabled: true,
      // `shared` is a Pipes credentials type the SDK's type does not list; the SDK sends it as is.
      credentials: { type: 'shared' } as never,
    });
  });
  after(() => pipes.close());

  async function remember(accountId: string) {
    const row = (await connectedAccounts(pipes)).find((a) => a.id === accountId)!;
    for (const kind of ['access_token', 'refresh_token'] as const) {
      const value = openAccountSecret(pipes.server.ctx.vault, row, kind, row[kind]);
      if (value !== null) issuedTokens.push(value);
    }
    return row;
  }

  test('create with shared credentials (SDK), authorize, pick a test account, come back connected', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const integration = await workos.pipes.getDataIntegration({ slug: 'sandbox' });
    assert.equal(integration.credentials?.type, 'shared');
    assert.equal(integration.state, 'valid');
    const { url } = await workos.pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId: 'user_123',
      returnTo: RETURN_TO,
    });
    assert.match(
      url,
      new RegExp(`^${pipes.config.publicUrl}/data-integrations/[A-Za-z0-9_-]{43}/authorize-redirect$`),
    );
    const browser = new Browser();
    const confirmation = await browser.get(url);
    const html = await confirmation.text();
    assert.match(html, /Connect your Pipes Sandbox account to this application/);
    assert.match(html, /user_123/);
    assert.equal(confirmation.headers.get('referrer-policy'), 'no-referrer');
    const authorizeUrl = await confirm(browser, url);
    const cookie = [...browser.cookies(url)].find(([name]) => name === 'pipes_browser');
    assert.ok(cookie, 'the browser-binding cookie is set');
    const callback = await sandboxConsent(browser, authorizeUrl, { account: 'grace' });
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.origin + back.pathname, RETURN_TO);
    assert.equal(back.searchParams.get('status'), 'connected');
    assert.equal(back.searchParams.get('provider'), 'sandbox');
    const account = await remember(back.searchParams.get('connected_account_id')!);
    assert.equal(account.user_id, 'user_123');
    assert.equal(account.account_identifier, '1002');
    assert.equal(account.account_display_name, 'grace');
    assert.equal(account.state, 'connected');
    assert.deepEqual(JSON.parse(account.scopes), ['profile', 'items:read', 'offline_access']);
    assert.ok(account.refresh_token !== null && account.expires_at !== null);
    const events = await eventsNamed(pipes, 'pipes.connected_account.connected');
    assert.equal(events.length, 1);
    assert.equal(events[0]!.data.id, account.id);
  });

  test('the connected account vends a token that works against the sandbox API', async () => {
    const result = await sdkFor(pipes, pipes.sandboxKey).pipes.getAccessToken({
      provider: 'sandbox',
      userId: 'user_123',
    });
    assert.ok(result.active, JSON.stringify(result));
    const me = await fetch(`${pipes.config.publicUrl}/sandbox/api/user`, {
      headers: { authorization: `Bearer ${result.accessToken.accessToken}` },
    });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { login: string }).login, 'grace');
  });

  test('reauthorizing an account that needs it reconnects that same account', async () => {
    const [first] = await connectedAccounts(pipes);
    await pipes.server.ctx.store.db
      .updateTable('connected_accounts')
      .set({ state: 'needs_reauthorization', reauthorization_reason: 'test' })
      .where('id', '=', first!.id)
      .execute();
    const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId: 'user_123',
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const back = returnedTo(
      await deliver(
        browser,
        await sandboxConsent(browser, await confirm(browser, url), { account: 'grace' }),
      ),
    );
    assert.equal(back.searchParams.get('connected_account_id'), first!.id);
    const again = await remember(first!.id);
    assert.equal(again.state, 'connected');
    assert.equal(again.generation, first!.generation + 1);
    assert.equal((await connectedAccounts(pipes)).length, 1);
  });

  test('denying at the provider: back to the app with the error, a connection_failed event, nothing stored', async () => {
    const before = (await connectedAccounts(pipes)).length;
    const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId: 'user_456',
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const back = returnedTo(
      await deliver(
        browser,
        await sandboxConsent(browser, await confirm(browser, url), { decision: 'deny' }),
      ),
    );
    assert.equal(back.searchParams.get('error'), 'authorization_denied');
    assert.equal(back.searchParams.get('provider_error'), 'access_denied');
    assert.equal((await connectedAccounts(pipes)).length, before);
    const [event] = await eventsNamed(pipes, 'pipes.connected_account.connection_failed');
    assert.deepEqual(
      { ...event!.data, created_at: undefined, occurred_at: undefined },
      {
        object: 'connection_failed',
        data_integration_id: event!.data.data_integration_id,
        provider_slug: 'sandbox',
        user_id: 'user_456',
        organization_id: null,
        error_code: 'authorization_denied',
        error_reason: back.searchParams.get('error_description'),
        provider_error: 'access_denied',
        provider_error_description: 'The user denied the request.',
        created_at: undefined,
        occurred_at: undefined,
      },
    );
  });

  test('without return_to the user sees a "connected" page', async () => {
    const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId: 'user_789',
    });
    const browser = new Browser();
    const done = await deliver(browser, await sandboxConsent(browser, await confirm(browser, url)));
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Pipes Sandbox is connected/);
    await remember((await connectedAccounts(pipes)).find((a) => a.user_id === 'user_789')!.id);
  });

  test('session binding: no confirmation screen; the account is saved only when the app finishes with its verifier', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const start = await api(pipes, 'POST', '/data-integrations/sandbox/authorize', {
      key: pipes.sandboxKey,
      body: {
        user_id: 'user_sb',
        return_to: RETURN_TO,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    });
    assert.equal(start.status, 200, start.text);
    const browser = new Browser();
    const leave = await browser.get(start.json.url);
    assert.equal(leave.status, 302, 'straight to the provider');
    const back = returnedTo(
      await deliver(browser, await sandboxConsent(browser, leave.headers.get('location')!)),
    );
    assert.equal(back.searchParams.get('status'), 'pending');
    const authorizationId = back.searchParams.get('authorization_id')!;
    assert.equal(authorizationId, start.json.authorization_id);
    assert.equal(
      (await connectedAccounts(pipes)).filter((a) => a.user_id === 'user_sb').length,
      0,
      'nothing saved yet',
    );

    const wrongEnv = await api(pipes, 'POST', '/data-integrations/sandbox/authorize/finish', {
      key: pipes.productionKey,
      body: { authorization_id: authorizationId, code_verifier: verifier },
    });
    assert.equal(wrongEnv.status, 404);
    const finish = await api(pipes, 'POST', '/data-integrations/sandbox/authorize/finish', {
      key: pipes.sandboxKey,
      body: { authorization_id: authorizationId, code_verifier: verifier },
    });
    assert.equal(finish.status, 200, finish.text);
    assert.equal(finish.json.object, 'connected_account');
    assert.equal(finish.json.user_id, 'user_sb');
    await remember(finish.json.id);
    const replay = await api(pipes, 'POST', '/data-integrations/sandbox/authorize/finish', {
      key: pipes.sandboxKey,
      body: { authorization_id: authorizationId, code_verifier: verifier },
    });
    assert.equal(replay.status, 404, 'single use');
  });

  test('session binding: a wrong verifier cancels the authorization for good', async () => {
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    const start = await api(pipes, 'POST', '/data-integrations/sandbox/authorize', {
      key: pipes.sandboxKey,
      body: { user_id: 'user_wrong', return_to: RETURN_TO, code_challenge: challenge },
    });
    const browser = new Browser();
    const leave = await browser.get(start.json.url);
    const back = returnedTo(
      await deliver(browser, await sandboxConsent(browser, leave.headers.get('location')!)),
    );
    const attempt = (verifier: string) =>
      api(pipes, 'POST', '/data-integrations/sandbox/authorize/finish', {
        key: pipes.sandboxKey,
        body: { authorization_id: back.searchParams.get('authorization_id'), code_verifier: verifier },
      });
    const wrong = await attempt(randomBytes(32).toString('base64url'));
    assert.equal(wrong.status, 422);
    assert.equal(wrong.json.code, 'invalid_code_verifier');
    assert.equal((await attempt(randomBytes(32).toString('base64url'))).status, 404);
    assert.equal((await connectedAccounts(pipes)).filter((a) => a.user_id === 'user_wrong').length, 0);
  });

  test('session binding needs return_to, and only S256', async () => {
    const challenge = 'a'.repeat(43);
    const noReturn = await api(pipes, 'POST', '/data-integrations/sandbox/authorize', {
      key: pipes.sandboxKey,
      body: { user_id: 'u', code_challenge: challenge },
    });
    assert.equal(noReturn.status, 422);
    assert.equal(noReturn.json.code, 'return_to_required');
    const plain = await api(pipes, 'POST', '/data-integrations/sandbox/authorize', {
      key: pipes.sandboxKey,
      body: { user_id: 'u', return_to: RETURN_TO, code_challenge: challenge, code_challenge_method: 'plain' },
    });
    assert.equal(plain.status, 422);
    assert.equal(plain.json.errors[0].field, 'code_challenge_method');
  });

  test('a connect link is single-use', async () => {
    const { url } = await sdkFor(pipes, pipes.sandboxKey).pipes.authorizeDataIntegration({
      slug: 'sandbox',
      userId: 'u1',
    });
    const browser = new Browser();
    await confirm(browser, url);
    const again = await browser.get(url);
    assert.equal(again.status, 400);
    assert.match(await again.text(), /link_already_used/);
  });

  test('the sandbox is served under /sandbox with its RFC 8414 metadata, admin routes in development', async () => {
    const meta = await fetch(`${pipes.url}/.well-known/oauth-authorization-server/sandbox`);
    assert.equal(meta.status, 200);
    assert.equal(((await meta.json()) as { issuer: string }).issuer, `${pipes.config.publicUrl}/sandbox`);
    assert.equal((await fetch(`${pipes.url}/sandbox/admin/stats`)).status, 200);
  });

  test('no token or client secret in the logs', () => {
    assert.ok(issuedTokens.length >= 6);
    const logs = pipes.logs.text();
    for (const token of issuedTokens) assert.ok(!logs.includes(token), 'a token was logged');
    assert.ok(
      !logs.includes(pipes.server.ctx.sandbox!.sharedClient.clientSecret),
      'the shared secret was logged',
    );
  });
});
