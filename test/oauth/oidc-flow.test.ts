import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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
  sdkFor,
} from './flow-helpers.ts';
import { type OidcServer, oidcConsent, startOidcServer } from './oidc.ts';

const CLIENT_SECRET = 'oidc-client-secret-0123456789abcdef';

describe('connect flow against oidc-provider as a custom provider (through the real SDK)', () => {
  let pipes: TestPipes;
  let oidc: OidcServer;
  before(async () => {
    pipes = await startPublicTestPipes();
    oidc = await startOidcServer();
  });
  after(async () => {
    await oidc.close();
    await pipes.close();
  });

  test('PKCE, state, iss: the full dance leaves a connected account and a connected event', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const integration = await workos.pipes.createDataIntegration({
      provider: 'acme-oidc',
      enabled: true,
      scopes: ['openid', 'offline_access'],
      credentials: { type: 'custom', clientId: 'pipes-client', clientSecret: CLIENT_SECRET },
      customProvider: {
        name: 'Acme OIDC',
        authorizationUrl: `${oidc.issuer}/auth`,
        tokenUrl: `${oidc.issuer}/token`,
        pkceEnabled: true,
        additionalAuthorizationParameters: { prompt: 'consent' },
        authenticateVia: 'request_body',
      },
    });
    // Pipes addition (not in the SDK's types, so over plain HTTP): declaring the issuer turns on the RFC 9207 check.
    const updated = await api(pipes, 'PUT', '/data-integrations/acme-oidc', {
      key: pipes.sandboxKey,
      body: { custom_provider: { issuer: oidc.issuer } },
    });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.json.custom_provider.issuer, oidc.issuer);
    assert.equal(
      updated.json.custom_provider.additional_authorization_parameters.prompt,
      'consent',
      'merged, not replaced',
    );
    oidc.configure({
      clientId: 'pipes-client',
      clientSecret: CLIENT_SECRET,
      redirectUri: integration.redirectUri,
      auth: 'client_secret_post',
    });
    const { url } = await workos.pipes.authorizeDataIntegration({
      slug: 'acme-oidc',
      userId: 'user_oidc',
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const authorizeUrl = new URL(await confirm(browser, url));
    assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorizeUrl.searchParams.get('prompt'), 'consent');
    const callback = await oidcConsent(browser, authorizeUrl.href, 'alice');
    assert.equal(new URL(callback).searchParams.get('iss'), oidc.issuer);
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('status'), 'connected', back.href);
    const accounts = await connectedAccounts(pipes);
    assert.equal(accounts.length, 1);
    assert.ok(
      accounts[0]!.refresh_token !== null,
      'a refresh token was stored (offline_access + prompt=consent)',
    );
    assert.deepEqual(JSON.parse(accounts[0]!.scopes), ['openid', 'offline_access']);
    assert.equal((await eventsNamed(pipes, 'pipes.connected_account.connected')).length, 1);
    assert.equal(oidc.tokenRequests, 1);
  });

  test('O11: an injected code (victim state + attacker code) fails at the PKCE-enforcing server; nothing stored', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const link = (userId: string) =>
      workos.pipes
        .authorizeDataIntegration({ slug: 'acme-oidc', userId, returnTo: RETURN_TO })
        .then((r) => r.url);
    const victim = new Browser();
    const attacker = new Browser();
    const victimCallback = new URL(
      await oidcConsent(victim, await confirm(victim, await link('victim')), 'victim'),
    );
    const attackerCallback = new URL(
      await oidcConsent(attacker, await confirm(attacker, await link('attacker')), 'mallory'),
    );
    const before = (await connectedAccounts(pipes)).length;
    const tokens = oidc.tokenRequests;
    victimCallback.searchParams.set('code', attackerCallback.searchParams.get('code')!);
    const back = returnedTo(await deliver(victim, victimCallback.href));
    assert.equal(back.searchParams.get('error'), 'authorization_code_exchange_error');
    assert.equal(back.searchParams.get('provider_error'), 'invalid_grant');
    assert.equal(oidc.tokenRequests, tokens + 1);
    assert.equal((await connectedAccounts(pipes)).length, before);
  });

  test('O5 against a real server: a tampered iss is refused before the token request', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const { url } = await workos.pipes.authorizeDataIntegration({
      slug: 'acme-oidc',
      userId: 'user_iss',
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const callback = new URL(await oidcConsent(browser, await confirm(browser, url), 'bob'));
    callback.searchParams.set('iss', 'http://127.0.0.1:1');
    const tokens = oidc.tokenRequests;
    const back = returnedTo(await deliver(browser, callback.href));
    assert.equal(back.searchParams.get('error'), 'invalid_authorization_response', back.href);
    assert.equal(oidc.tokenRequests, tokens);
  });
});

describe('oidc-provider with client_secret_basic (authenticate_via: basic_auth_header)', () => {
  let pipes: TestPipes;
  let oidc: OidcServer;
  before(async () => {
    pipes = await startPublicTestPipes();
    oidc = await startOidcServer();
  });
  after(async () => {
    await oidc.close();
    await pipes.close();
  });

  test('connects with the secret in the Authorization header', async () => {
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const integration = await workos.pipes.createDataIntegration({
      provider: 'acme-basic',
      enabled: true,
      scopes: ['openid'],
      credentials: { type: 'custom', clientId: 'basic-client', clientSecret: CLIENT_SECRET },
      customProvider: {
        name: 'Acme Basic',
        authorizationUrl: `${oidc.issuer}/auth`,
        tokenUrl: `${oidc.issuer}/token`,
        authenticateVia: 'basic_auth_header',
      },
    });
    oidc.configure({
      clientId: 'basic-client',
      clientSecret: CLIENT_SECRET,
      redirectUri: integration.redirectUri,
      auth: 'client_secret_basic',
    });
    const { url } = await workos.pipes.authorizeDataIntegration({
      slug: 'acme-basic',
      userId: 'user_b',
      returnTo: RETURN_TO,
    });
    const browser = new Browser();
    const callback = await oidcConsent(browser, await confirm(browser, url), 'carol');
    const back = returnedTo(await deliver(browser, callback));
    assert.equal(back.searchParams.get('status'), 'connected', back.href);
    assert.equal((await eventsNamed(pipes, 'pipes.connected_account.connected')).length, 1);
    assert.ok(!pipes.logs.text().includes(CLIENT_SECRET));
  });
});
