import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/lib/logger.ts';
import { readAccountIdentity } from '../../src/oauth/account-identity.ts';
import { buildAuthorizationUrl } from '../../src/oauth/flow/leave.tsx';
import {
  clientCredentialsGrant,
  exchangeAuthorizationCode,
  refreshAccessToken,
} from '../../src/oauth/grants.ts';
import { createProviderHttp, type ProviderHttp } from '../../src/oauth/http.ts';
import { TokenEndpointError } from '../../src/oauth/types.ts';
import type { ProviderEntry } from '../../src/providers/catalog-schema.ts';
import { customProviderEntry, normaliseCustomProvider } from '../../src/providers/custom-provider.ts';
import { loadCatalog } from '../../src/providers/load-catalog.ts';
import { PROVIDERS_DIR } from '../../src/providers/runtime-catalog.ts';
import { FakeOAuthProvider } from './fake-oauth-provider.ts';

const catalog = loadCatalog(PROVIDERS_DIR);
const CLIENT = { clientId: 'client-id', clientSecret: 'client-secret-value' };
const LOOPBACK = { egress: { allowPrivateNetwork: true, allowInsecureHttp: true } };

/** A catalog entry with its OAuth endpoints moved to the fake provider (quirk flags untouched). */
function pointedAt(slug: string, fp: FakeOAuthProvider): ProviderEntry {
  const entry = structuredClone(catalog.get(slug)!) as ProviderEntry;
  entry.oauth!.token_url = `${fp.url}/token`;
  entry.oauth!.authorization_url = `${fp.url}/authorize`;
  delete entry.oauth!.refresh_url;
  entry.api.base_url = fp.url;
  return entry;
}

/** Decodes HTTP Basic credentials as RFC 6749 §2.3.1 encodes them (each part form-urlencoded first). */
const basicOf = (header: unknown) =>
  Buffer.from(String(header).replace(/^Basic /, ''), 'base64')
    .toString('utf8')
    .split(':')
    .map((part) => decodeURIComponent(part.replace(/\+/g, ' ')))
    .join(':');

describe('the OAuth client against provider quirks (fake providers on loopback)', () => {
  let fp: FakeOAuthProvider;
  let http: ProviderHttp;
  const deps = () => ({ providerHttp: http });
  before(async () => {
    fp = await new FakeOAuthProvider().start();
    http = createProviderHttp(LOOPBACK);
  });
  after(async () => {
    await http.close();
    await fp.stop();
  });

  test('Slack-like: nested user token, comma scopes, metadata, HTTP Basic client auth', async () => {
    fp.tokenScript.push({
      body: JSON.stringify({
        ok: true,
        access_token: 'xoxb-bot',
        token_type: 'bot',
        authed_user: {
          id: 'U42',
          scope: 'users:read,chat:write',
          access_token: 'xoxp-user',
          token_type: 'user',
        },
        team: { id: 'T9', name: 'Acme' },
      }),
    });
    const provider = pointedAt('slack', fp);
    const tokens = await exchangeAuthorizationCode(deps(), {
      provider,
      config: {},
      client: CLIENT,
      code: 'c1',
      redirectUri: 'https://pipes.test/cb',
      codeVerifier: null,
    });
    assert.equal(tokens.accessToken, 'xoxp-user');
    assert.deepEqual(tokens.scopes, ['users:read', 'chat:write']);
    assert.equal(tokens.metadata['team.id'], 'T9');
    const request = fp.tokenRequests.at(-1)!;
    assert.equal(basicOf(request.headers.authorization), 'client-id:client-secret-value');
    assert.equal(request.params.get('client_secret'), null, 'the secret is sent once, in the header');
    assert.equal(request.params.get('code_verifier'), null, 'Slack has PKCE off');
    const identity = await readAccountIdentity(
      { ...deps(), log: createLogger('silent') },
      { provider, config: {}, tokens },
    );
    assert.deepEqual(identity, { identifier: 'U42', displayName: 'Acme', metadata: {} });

    fp.tokenScript.push({ body: JSON.stringify({ ok: false, error: 'invalid_code' }) });
    await assert.rejects(
      exchangeAuthorizationCode(deps(), {
        provider,
        config: {},
        client: CLIENT,
        code: 'x',
        redirectUri: 'https://pipes.test/cb',
        codeVerifier: null,
      }),
      (error: unknown) =>
        error instanceof TokenEndpointError &&
        error.kind === 'invalid_grant' &&
        error.providerError === 'invalid_code',
    );
  });

  test('GitHub-like: never-expiring token, Accept header, secret in the body, errors with HTTP 200, form bodies', async () => {
    const provider = pointedAt('github', fp);
    fp.tokenScript.push({
      body: JSON.stringify({ access_token: 'gho_1', token_type: 'bearer', scope: 'read:user' }),
    });
    const tokens = await exchangeAuthorizationCode(deps(), {
      provider,
      config: {},
      client: CLIENT,
      code: 'c2',
      redirectUri: 'https://pipes.test/cb',
      codeVerifier: 'v'.repeat(43),
    });
    assert.equal(tokens.expiresIn, null);
    assert.equal(tokens.refreshToken, null);
    assert.equal(provider.oauth!.token_response.expiry, 'never');
    const request = fp.tokenRequests.at(-1)!;
    assert.equal(request.headers.accept, 'application/json');
    assert.equal(request.params.get('client_secret'), 'client-secret-value');
    assert.equal(request.params.get('code_verifier'), 'v'.repeat(43));
    assert.equal(request.headers.authorization, undefined);

    fp.tokenScript.push({
      body: JSON.stringify({
        error: 'bad_verification_code',
        error_description: 'The code passed is incorrect or expired.',
      }),
    });
    await assert.rejects(
      exchangeAuthorizationCode(deps(), {
        provider,
        config: {},
        client: CLIENT,
        code: 'bad',
        redirectUri: 'https://pipes.test/cb',
        codeVerifier: null,
      }),
      (error: unknown) => error instanceof TokenEndpointError && error.kind === 'invalid_grant',
    );
    fp.tokenScript.push({
      contentType: 'application/x-www-form-urlencoded',
      body: 'access_token=gho_form&token_type=bearer&scope=repo',
    });
    const form = await exchangeAuthorizationCode(deps(), {
      provider,
      config: {},
      client: CLIENT,
      code: 'c3',
      redirectUri: 'https://pipes.test/cb',
      codeVerifier: null,
    });
    assert.equal(form.accessToken, 'gho_form');

    // Identity from the API (`/user` relative to api.base_url), with the API's extra headers.
    provider.account = { ...provider.account!, url: '/userinfo', id_path: 'sub', display_name_path: 'name' };
    const minted = fp.mintTokens();
    const identity = await readAccountIdentity(
      { ...deps(), log: createLogger('silent') },
      { provider, config: {}, tokens: { ...form, accessToken: String(minted.access_token) } },
    );
    assert.equal(identity.displayName, 'Fake User');
    assert.match(identity.identifier ?? '', /^fp-user-/);
  });

  test('Google-like: offline access parameters, exact redirect URI and PKCE on the authorization URL', () => {
    const provider = pointedAt('google-drive', fp);
    const url = new URL(
      buildAuthorizationUrl(
        provider,
        provider.oauth!,
        {},
        {
          clientId: 'cid',
          redirectUri: 'https://pipes.test/data-integrations/google-drive/dik_X/callback',
          state: 's'.repeat(43),
          scopes: provider.oauth!.default_scopes,
          codeChallenge: 'c'.repeat(43),
        },
      ),
    );
    assert.equal(url.searchParams.get('access_type'), 'offline');
    assert.equal(url.searchParams.get('prompt'), 'consent');
    assert.equal(url.searchParams.get('scope'), 'openid email https://www.googleapis.com/auth/drive.file');
    assert.equal(
      url.searchParams.get('redirect_uri'),
      'https://pipes.test/data-integrations/google-drive/dik_X/callback',
    );
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('response_type'), 'code');
  });

  test('extra authorization parameters cannot override the ones Pipes sets', () => {
    const provider = pointedAt('google-drive', fp);
    provider.oauth!.authorization_params = {
      redirect_uri: 'https://evil.test/',
      state: 'x',
      prompt: 'consent',
    };
    const url = new URL(
      buildAuthorizationUrl(
        provider,
        provider.oauth!,
        {},
        {
          clientId: 'cid',
          redirectUri: 'https://pipes.test/cb',
          state: 'S',
          scopes: [],
          codeChallenge: null,
        },
      ),
    );
    assert.equal(url.searchParams.get('redirect_uri'), 'https://pipes.test/cb');
    assert.equal(url.searchParams.get('state'), 'S');
    assert.equal(url.searchParams.get('scope'), null, 'no empty scope parameter');
  });

  test('a custom provider with JSON request bodies and Basic client auth', async () => {
    const provider = customProviderEntry(
      'jsonish',
      normaliseCustomProvider({
        name: 'Jsonish',
        authorization_url: `${fp.url}/authorize`,
        token_url: `${fp.url}/token`,
        token_body_content_type: 'application/json',
        authenticate_via: 'basic_auth_header',
      }),
    );
    const tokens = await exchangeAuthorizationCode(deps(), {
      provider,
      config: {},
      client: CLIENT,
      code: 'c4',
      redirectUri: 'https://pipes.test/cb',
      codeVerifier: 'w'.repeat(43),
    });
    assert.match(tokens.accessToken, /^fp_at_/);
    const request = fp.tokenRequests.at(-1)!;
    assert.deepEqual(request.json, {
      grant_type: 'authorization_code',
      code: 'c4',
      redirect_uri: 'https://pipes.test/cb',
      code_verifier: 'w'.repeat(43),
    });
    assert.equal(basicOf(request.headers.authorization), 'client-id:client-secret-value');
  });

  test('refresh: the refresh URL, no new refresh token means keep the old one (null)', async () => {
    const provider = customProviderEntry(
      'refresher',
      normaliseCustomProvider({
        name: 'Refresher',
        authorization_url: `${fp.url}/authorize`,
        token_url: `${fp.url}/unused`,
        refresh_token_url: `${fp.url}/token`,
      }),
    );
    fp.tokenScript.push({
      body: JSON.stringify({ access_token: 'new-at', token_type: 'bearer', expires_in: 60 }),
    });
    const tokens = await refreshAccessToken(deps(), {
      provider,
      config: {},
      client: CLIENT,
      refreshToken: 'old-rt',
    });
    assert.equal(tokens.accessToken, 'new-at');
    assert.equal(tokens.refreshToken, null);
    assert.equal(tokens.expiresIn, 60);
    const request = fp.tokenRequests.at(-1)!;
    assert.equal(request.params.get('grant_type'), 'refresh_token');
    assert.equal(request.params.get('refresh_token'), 'old-rt');
    assert.equal(request.params.get('client_secret'), 'client-secret-value');
  });

  test('client credentials (Salesforce-like metadata)', async () => {
    const provider = structuredClone(catalog.get('salesforce')!) as ProviderEntry;
    provider.client_credentials!.token_url = `${fp.url}/token`;
    fp.tokenScript.push({
      body: JSON.stringify({
        access_token: '00D!x',
        token_type: 'Bearer',
        instance_url: 'https://acme.my.salesforce.com',
        id: 'https://login/id/1',
      }),
    });
    const tokens = await clientCredentialsGrant(deps(), { provider, config: {}, client: CLIENT });
    assert.equal(tokens.accessToken, '00D!x');
    assert.equal(tokens.metadata.instance_url, 'https://acme.my.salesforce.com');
    assert.equal(fp.tokenRequests.at(-1)!.params.get('grant_type'), 'client_credentials');
  });

  test('transient failures: 503 with Retry-After, a reset connection (ambiguous), a closed port (not ambiguous)', async () => {
    const provider = pointedAt('github', fp);
    const exchange = (p: ProviderEntry = provider) =>
      exchangeAuthorizationCode(deps(), {
        provider: p,
        config: {},
        client: CLIENT,
        code: 'c',
        redirectUri: 'https://pipes.test/cb',
        codeVerifier: null,
      });
    fp.tokenScript.push({
      status: 503,
      contentType: 'text/plain',
      body: 'busy',
      headers: { 'retry-after': '3' },
    });
    await assert.rejects(
      exchange(),
      (e: unknown) =>
        e instanceof TokenEndpointError && e.kind === 'transient' && e.retryAfterMs === 3000 && !e.ambiguous,
    );
    fp.tokenScript.push({ reset: true });
    await assert.rejects(
      exchange(),
      (e: unknown) => e instanceof TokenEndpointError && e.kind === 'transient' && e.ambiguous,
    );

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const nowhere = structuredClone(provider);
    nowhere.oauth!.token_url = `http://127.0.0.1:${port}/token`;
    await assert.rejects(
      exchange(nowhere),
      (e: unknown) => e instanceof TokenEndpointError && e.kind === 'transient' && !e.ambiguous,
    );
  });

  test('the egress policy is enforced on token endpoints (loopback refused in production policy)', async () => {
    const strict = createProviderHttp({ egress: { allowPrivateNetwork: false, allowInsecureHttp: true } });
    try {
      const before = fp.tokenCount();
      await assert.rejects(
        exchangeAuthorizationCode(
          { providerHttp: strict },
          {
            provider: pointedAt('github', fp),
            config: {},
            client: CLIENT,
            code: 'c',
            redirectUri: 'https://pipes.test/cb',
            codeVerifier: null,
          },
        ),
        (e: unknown) =>
          e instanceof TokenEndpointError &&
          e.kind === 'transient' &&
          !e.ambiguous &&
          /Refusing/.test(e.message),
      );
      assert.equal(fp.tokenCount(), before, 'nothing reached the provider');
    } finally {
      await strict.close();
    }
  });
});
