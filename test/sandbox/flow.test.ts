import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { sandboxCatalogEntry } from '../../src/sandbox/index.ts';
import {
  authorize,
  CLIENT,
  callApi,
  connect,
  exchangeCode,
  OTHER_CLIENT,
  REDIRECT_URI,
  refresh,
  type SandboxHarness,
  startSandbox,
} from './helpers.ts';

describe('sandbox: full OAuth flow with oauth4webapi', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox();
  });
  after(async () => {
    await h.close();
  });

  test('discovery: RFC 8414 metadata at the root well-known path and under the mount', async () => {
    assert.equal(h.as.issuer, h.issuer);
    assert.equal(h.as.authorization_endpoint, `${h.issuer}/oauth/authorize`);
    assert.equal(h.as.token_endpoint, `${h.issuer}/oauth/token`);
    assert.equal(h.as.revocation_endpoint, `${h.issuer}/oauth/revoke`);
    assert.deepEqual(h.as.code_challenge_methods_supported, ['S256']);
    assert.equal(h.as.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(h.as.token_endpoint_auth_methods_supported, [
      'client_secret_basic',
      'client_secret_post',
    ]);
    assert.deepEqual(h.as.scopes_supported, ['profile', 'items:read', 'items:write', 'offline_access']);
    assert.equal(h.provider.wellKnownPath, '/.well-known/oauth-authorization-server/sandbox');

    const mounted = await fetch(`${h.issuer}/.well-known/oauth-authorization-server`);
    const fromMount = await oauth.processDiscoveryResponse(new URL(h.issuer), mounted);
    assert.deepEqual(fromMount, h.as);
  });

  test('connect, exchange the code, call the API as the chosen account', async () => {
    const result = await authorize(h, { account: 'grace' });
    assert.equal(result.callback.origin + result.callback.pathname, REDIRECT_URI);
    assert.equal(result.callback.searchParams.get('iss'), h.issuer);
    assert.equal(result.callback.searchParams.get('state'), result.state);
    assert.match(result.callback.searchParams.get('code') ?? '', /^sbx_ac_[A-Za-z0-9_-]{43}$/);

    const tokens = await exchangeCode(h, result);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.equal(tokens.scope, 'profile items:read offline_access');
    assert.match(tokens.access_token, /^sbx_at_[A-Za-z0-9_-]{43}$/);
    assert.match(tokens.refresh_token ?? '', /^sbx_rt_[A-Za-z0-9_-]{43}$/);

    const response = await oauth.protectedResourceRequest(
      tokens.access_token,
      'GET',
      new URL(`${h.issuer}/api/user`),
      new Headers(),
      null,
      h.httpOptions,
    );
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      id: '1002',
      login: 'grace',
      name: 'Grace Hopper',
      email: 'grace@sandbox.example',
    });
  });

  test('the token response is not cacheable and has the RFC 6749 shape', async () => {
    const result = await authorize(h);
    const params = oauth.validateAuthResponse(h.as, h.client, result.callback, result.state);
    const response = await oauth.authorizationCodeGrantRequest(
      h.as,
      h.client,
      oauth.ClientSecretPost(CLIENT.client_secret),
      params,
      REDIRECT_URI,
      result.verifier,
      h.httpOptions,
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'access_token',
      'expires_in',
      'refresh_token',
      'scope',
      'token_type',
    ]);
    assert.equal(body['token_type'], 'Bearer');
  });

  test('no refresh token without offline_access', async () => {
    const tokens = await connect(h, { scope: 'profile' });
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.scope, 'profile');
  });

  test('deny sends access_denied back with state and iss', async () => {
    const result = await authorize(h, { decision: 'deny' });
    assert.equal(result.callback.searchParams.get('code'), null);
    assert.equal(result.callback.searchParams.get('iss'), h.issuer);
    assert.throws(
      () => oauth.validateAuthResponse(h.as, h.client, result.callback, result.state),
      (error: unknown) =>
        error instanceof oauth.AuthorizationResponseError && error.error === 'access_denied',
    );
  });

  test('validateAuthResponse rejects a callback whose iss is not this issuer', async () => {
    const result = await authorize(h);
    result.callback.searchParams.set('iss', 'http://127.0.0.1:1/evil');
    assert.throws(() => oauth.validateAuthResponse(h.as, h.client, result.callback, result.state));
  });

  test('refresh through oauth4webapi', async () => {
    const tokens = await connect(h);
    const refreshed = await oauth.processRefreshTokenResponse(
      h.as,
      h.client,
      await refresh(h, tokens.refresh_token!),
    );
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.equal((await callApi(h, '/user', refreshed.access_token)).status, 200);
  });

  test('RFC 7009: revoking the refresh token kills the grant, its access tokens included', async () => {
    const tokens = await connect(h);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 200);
    const response = await oauth.revocationRequest(
      h.as,
      h.client,
      h.clientAuth,
      tokens.refresh_token!,
      h.httpOptions,
    );
    assert.equal(response.status, 200);
    await oauth.processRevocationResponse(response);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 401);
    assert.equal((await refresh(h, tokens.refresh_token!)).status, 400);
  });

  test('RFC 7009: revoking an access token leaves the refresh token usable', async () => {
    const tokens = await connect(h);
    const response = await oauth.revocationRequest(h.as, h.client, h.clientAuth, tokens.access_token, {
      ...h.httpOptions,
      additionalParameters: { token_type_hint: 'access_token' },
    });
    assert.equal(response.status, 200);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 401);
    assert.equal((await refresh(h, tokens.refresh_token!)).status, 200);
  });

  test('RFC 7009: unknown tokens and tokens of other clients get 200 and nothing is revoked', async () => {
    const tokens = await connect(h);
    const unknown = await oauth.revocationRequest(
      h.as,
      h.client,
      h.clientAuth,
      'sbx_at_unknown',
      h.httpOptions,
    );
    assert.equal(unknown.status, 200);
    for (const token of [tokens.access_token, tokens.refresh_token!]) {
      const foreign = await oauth.revocationRequest(
        h.as,
        { client_id: OTHER_CLIENT.client_id },
        oauth.ClientSecretBasic(OTHER_CLIENT.client_secret),
        token,
        h.httpOptions,
      );
      assert.equal(foreign.status, 200);
    }
    const badSecret = await oauth.revocationRequest(
      h.as,
      h.client,
      oauth.ClientSecretBasic('wrong-secret'),
      tokens.access_token,
      h.httpOptions,
    );
    assert.equal(badSecret.status, 401);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 200);
    assert.equal((await refresh(h, tokens.refresh_token!)).status, 200);
  });

  test('catalog entry describes the mounted sandbox', () => {
    const entry = sandboxCatalogEntry(`${h.issuer}/`);
    assert.equal(entry.issuer, h.issuer);
    assert.equal(entry.authorization_url, h.as.authorization_endpoint);
    assert.equal(entry.token_url, h.as.token_endpoint);
    assert.equal(entry.revocation_url, h.as.revocation_endpoint);
    assert.equal(entry.api.base_url, `${h.issuer}/api`);
    assert.deepEqual(entry.account_info, {
      method: 'GET',
      url: `${h.issuer}/api/user`,
      path: '/api/user',
      id_field: 'id',
      display_name_field: 'login',
    });
    assert.deepEqual(entry.default_scopes, ['profile', 'items:read', 'offline_access']);
    assert.deepEqual(
      entry.scopes.map((scope) => scope.name),
      ['profile', 'items:read', 'items:write', 'offline_access'],
    );
    assert.ok(entry.scopes.every((scope) => scope.description.length > 0));
    assert.equal(entry.pkce, true);
    assert.deepEqual(h.provider.catalogEntry(), entry);
  });
});
