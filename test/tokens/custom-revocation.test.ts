import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testEngine } from '../helpers/database.ts';
import { api, type TestPipes } from '../helpers/pipes.ts';
import { startPublicTestPipes } from '../helpers/public-pipes.ts';
import { sdkFor } from '../helpers/sdk.ts';
import { type FakeProvider, json, type RecordedRequest, startFakeProvider } from '../relay/helpers.ts';
import { accountRow, eventually, leakedIn, storedSecret } from './harness.ts';
import { connectThroughOidc } from './oidc-connect.ts';
import { type OidcRefreshServer, startOidcRefreshServer } from './oidc-server.ts';

const CLIENT_SECRET = 'custom-revocation-secret-7c6b5a49';

/**
 * The Pipes extension `custom_provider.revocation_url`: deleting a connection of a custom provider revokes its grant
 * at that RFC 7009 endpoint after the commit, exactly as for catalog providers with revocation, authenticating the
 * way `authenticate_via` says (or by client id alone for a public client).
 */
describe(`custom provider revocation on delete (${testEngine()})`, () => {
  let pipes: TestPipes;
  let oidc: OidcRefreshServer;
  let recorder: FakeProvider;
  before(async () => {
    pipes = await startPublicTestPipes({ startOptions: { refresher: { background: false } } });
    oidc = await startOidcRefreshServer({ rotateRefreshToken: false, accessTokenTtlSeconds: 600 });
    recorder = await startFakeProvider((_req, res) => json(res, 200, {}));
  });
  after(async () => {
    await recorder.close();
    await oidc.close();
    await pipes.close();
  });

  const createCustom = async (
    slug: string,
    customProvider: Record<string, unknown>,
    credentials: unknown,
  ) => {
    const created = await api(pipes, 'POST', '/data-integrations', {
      key: pipes.sandboxKey,
      body: { provider: slug, enabled: true, credentials, custom_provider: customProvider },
    });
    assert.equal(created.status, 201, created.text);
    return created.json as { redirect_uri: string };
  };

  /** A custom provider whose endpoints are the recording server, revoking at `revokePath` there. */
  const createRecorded = (
    slug: string,
    revokePath: string,
    extra: Record<string, unknown>,
    credentials: unknown,
  ) =>
    createCustom(
      slug,
      {
        name: `Recorded ${slug}`,
        authorization_url: `${recorder.url}/authorize`,
        token_url: `${recorder.url}/token`,
        revocation_url: `${recorder.url}${revokePath}`,
        ...extra,
      },
      credentials,
    );

  const deleteConnection = async (userId: string, slug: string) => {
    const deleted = await api(
      pipes,
      'DELETE',
      `/user_management/users/${userId}/connected_accounts/${slug}`,
      {
        key: pipes.sandboxKey,
      },
    );
    assert.equal(deleted.status, 204, deleted.text);
  };

  /** Imports tokens as `userId`'s connection (no provider round trip needed to test the revocation request). */
  const importTokens = async (userId: string, slug: string, tokens: Record<string, string>) => {
    const imported = await api(pipes, 'POST', `/user_management/users/${userId}/connected_accounts/${slug}`, {
      key: pipes.sandboxKey,
      body: tokens,
    });
    assert.equal(imported.status, 201, imported.text);
  };

  const revocationsAt = (path: string): RecordedRequest[] =>
    recorder.requests.filter((r) => r.url === path && r.method === 'POST');

  test('oidc-provider: DELETE revokes the grant at revocation_url, and its tokens stop working there', async () => {
    const slug = 'acme-oidc';
    const integration = await createCustom(
      slug,
      {
        name: 'Acme OIDC',
        authorization_url: `${oidc.issuer}/auth`,
        token_url: `${oidc.issuer}/token`,
        revocation_url: `${oidc.issuer}/token/revocation`,
        additional_authorization_parameters: { prompt: 'consent' },
        authenticate_via: 'request_body',
      },
      { type: 'custom', client_id: 'pipes-client', client_secret: CLIENT_SECRET },
    );
    await api(pipes, 'PUT', `/data-integrations/${slug}`, {
      key: pipes.sandboxKey,
      body: { scopes: ['openid', 'offline_access'] },
    });
    oidc.configure({
      clientId: 'pipes-client',
      clientSecret: CLIENT_SECRET,
      redirectUri: integration.redirect_uri,
    });
    const workos = sdkFor(pipes, pipes.sandboxKey);
    const row = await accountRow(pipes, await connectThroughOidc(pipes, slug, 'user_oidc'));
    const refreshToken = storedSecret(pipes.server.ctx, row, 'refresh_token')!;
    assert.ok(refreshToken, 'offline_access + prompt=consent gave a refresh token');
    const vended = await workos.pipes.getAccessToken({ provider: slug, userId: 'user_oidc' });
    assert.ok(vended.active);
    const accessToken = vended.accessToken.accessToken;
    assert.equal(await oidc.userinfo(accessToken), 200, 'the provider accepts the token before the delete');

    await deleteConnection('user_oidc', slug);

    assert.deepEqual(await workos.pipes.getAccessToken({ provider: slug, userId: 'user_oidc' }), {
      active: false,
      error: 'not_installed',
    });
    // Revoking the refresh token ends the whole grant at oidc-provider: the access token dies with it.
    await eventually(
      async () => (await oidc.userinfo(accessToken)) === 401,
      'the provider to reject the token',
    );
    const refreshed = await oidc.refreshDirectly(refreshToken);
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.body.error, 'invalid_grant');
    assert.deepEqual(leakedIn(pipes.logs.text(), [accessToken, refreshToken, CLIENT_SECRET]), []);
  });

  test('authenticate_via basic_auth_header: the refresh token is sent with HTTP Basic client authentication', async () => {
    const slug = 'acme-basic';
    await createRecorded(
      slug,
      '/basic/revoke',
      { authenticate_via: 'basic_auth_header' },
      { type: 'custom', client_id: 'basic client', client_secret: CLIENT_SECRET },
    );
    await importTokens('user_basic', slug, {
      access_token: 'at-basic-0123456789',
      refresh_token: 'rt-basic-0123456789',
    });
    await deleteConnection('user_basic', slug);

    await eventually(() => revocationsAt('/basic/revoke').length === 1, 'the revocation request');
    const [request] = revocationsAt('/basic/revoke');
    assert.equal(request?.headers['content-type'], 'application/x-www-form-urlencoded');
    const expected = Buffer.from(`basic%20client:${CLIENT_SECRET}`).toString('base64');
    assert.equal(request?.headers.authorization, `Basic ${expected}`);
    const body = new URLSearchParams(request?.body.toString('utf8'));
    assert.equal(body.get('token'), 'rt-basic-0123456789');
    assert.equal(body.get('token_type_hint'), 'refresh_token');
    assert.equal(body.has('client_secret'), false, 'the secret travels in the header only');
    assert.equal(recorder.requests.filter((r) => r.url === '/token').length, 0, 'nothing else was called');
  });

  test('a public client (client_secret_required: false) revokes the access token with its client id alone', async () => {
    const slug = 'acme-public';
    await createRecorded(
      slug,
      '/public/revoke',
      { client_secret_required: false },
      { type: 'custom', client_id: 'public-client' },
    );
    await importTokens('user_public', slug, { access_token: 'at-public-0123456789' });
    await deleteConnection('user_public', slug);

    await eventually(() => revocationsAt('/public/revoke').length === 1, 'the revocation request');
    const [request] = revocationsAt('/public/revoke');
    assert.equal(request?.headers.authorization, undefined);
    const body = new URLSearchParams(request?.body.toString('utf8'));
    assert.deepEqual(Object.fromEntries(body), {
      token: 'at-public-0123456789',
      token_type_hint: 'access_token',
      client_id: 'public-client',
    });
  });
});
