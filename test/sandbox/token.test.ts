import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import {
  authorize,
  CLIENT,
  callApi,
  exchangeCode,
  expectOAuthError,
  OTHER_CLIENT,
  postToken,
  REDIRECT_URI,
  type SandboxHarness,
  startSandbox,
} from './helpers.ts';

describe('sandbox: token endpoint, authorization_code grant', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await startSandbox();
  });
  after(async () => {
    await h.close();
  });

  const codeBody = (code: string, verifier: string, redirectUri = REDIRECT_URI) => ({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });

  test('a code works once; the replay fails and revokes what the first use issued', async () => {
    const result = await authorize(h);
    const tokens = await exchangeCode(h, result);
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 200);

    const code = result.callback.searchParams.get('code')!;
    await expectOAuthError(await postToken(h, codeBody(code, result.verifier)), 400, 'invalid_grant');
    assert.equal((await callApi(h, '/user', tokens.access_token)).status, 401);
    const refreshed = await postToken(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
    });
    await expectOAuthError(refreshed, 400, 'invalid_grant');
  });

  test('oauth4webapi surfaces a reused code as invalid_grant', async () => {
    const result = await authorize(h);
    await exchangeCode(h, result);
    await assert.rejects(
      () => exchangeCode(h, result),
      (error: unknown) => error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant',
    );
  });

  test('wrong PKCE verifier: invalid_grant, and the code is spent', async () => {
    const result = await authorize(h);
    const code = result.callback.searchParams.get('code')!;
    const wrong = oauth.generateRandomCodeVerifier();
    await expectOAuthError(await postToken(h, codeBody(code, wrong)), 400, 'invalid_grant');
    await expectOAuthError(await postToken(h, codeBody(code, result.verifier)), 400, 'invalid_grant');
  });

  test('malformed verifier: invalid_grant', async () => {
    const result = await authorize(h);
    const code = result.callback.searchParams.get('code')!;
    await expectOAuthError(await postToken(h, codeBody(code, 'short')), 400, 'invalid_grant');
  });

  test('redirect_uri differing from the authorization request: invalid_grant', async () => {
    const result = await authorize(h);
    const code = result.callback.searchParams.get('code')!;
    const other = 'https://app.example/other-callback';
    await expectOAuthError(await postToken(h, codeBody(code, result.verifier, other)), 400, 'invalid_grant');
  });

  test('a code issued to one client cannot be redeemed by another', async () => {
    const result = await authorize(h);
    const code = result.callback.searchParams.get('code')!;
    const response = await postToken(h, codeBody(code, result.verifier), {
      id: OTHER_CLIENT.client_id,
      secret: OTHER_CLIENT.client_secret,
    });
    await expectOAuthError(response, 400, 'invalid_grant');
  });

  test('a code expires after 60 seconds', async () => {
    const result = await authorize(h);
    const code = result.callback.searchParams.get('code')!;
    h.clock.advance(60_000);
    await expectOAuthError(await postToken(h, codeBody(code, result.verifier)), 400, 'invalid_grant');
  });

  test('a code still works just before 60 seconds', async () => {
    const result = await authorize(h);
    h.clock.advance(59_000);
    const tokens = await exchangeCode(h, result);
    assert.ok(tokens.access_token);
  });

  test('bad client secret: 401 invalid_client with a Basic challenge, and the code survives', async () => {
    const result = await authorize(h);
    const code = result.callback.searchParams.get('code')!;
    const response = await postToken(h, codeBody(code, result.verifier), {
      id: CLIENT.client_id,
      secret: 'not-the-secret',
    });
    assert.match(response.headers.get('www-authenticate') ?? '', /^Basic /);
    await expectOAuthError(response, 401, 'invalid_client');
    assert.equal((await postToken(h, codeBody(code, result.verifier))).status, 200);
  });

  test('bad client secret through oauth4webapi', async () => {
    const result = await authorize(h);
    const params = oauth.validateAuthResponse(h.as, h.client, result.callback, result.state);
    const response = await oauth.authorizationCodeGrantRequest(
      h.as,
      h.client,
      oauth.ClientSecretPost('not-the-secret'),
      params,
      REDIRECT_URI,
      result.verifier,
      h.httpOptions,
    );
    await expectOAuthError(response, 401, 'invalid_client');
  });

  test('unknown client, missing authentication, two methods at once', async () => {
    const result = await authorize(h);
    const code = result.callback.searchParams.get('code')!;
    const body = codeBody(code, result.verifier);
    await expectOAuthError(await postToken(h, body, { id: 'nobody', secret: 'x' }), 401, 'invalid_client');
    await expectOAuthError(await postToken(h, body, 'none'), 401, 'invalid_client');
    const both = await postToken(h, { ...body, client_secret: CLIENT.client_secret });
    await expectOAuthError(both, 400, 'invalid_request');
  });

  test('request shape errors', async () => {
    await expectOAuthError(
      await postToken(h, { grant_type: 'client_credentials' }),
      400,
      'unsupported_grant_type',
    );
    await expectOAuthError(await postToken(h, {}), 400, 'invalid_request');
    await expectOAuthError(await postToken(h, { grant_type: 'authorization_code' }), 400, 'invalid_request');
    const json = await fetch(h.as.token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code' }),
    });
    await expectOAuthError(json, 400, 'invalid_request');
    const repeated = await fetch(h.as.token_endpoint!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${CLIENT.client_id}:${CLIENT.client_secret}`).toString('base64')}`,
      },
      body: 'grant_type=refresh_token&refresh_token=a&refresh_token=b',
    });
    await expectOAuthError(repeated, 400, 'invalid_request');
  });

  test('Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1)', async () => {
    const result = await authorize(h);
    const code = result.callback.searchParams.get('code')!;
    // Spelled with %-escapes for characters that need none: must decode to the same client.
    const id = CLIENT.client_id.replace(/-/g, '%2D');
    const response = await fetch(h.as.token_endpoint!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${id}:${CLIENT.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams(codeBody(code, result.verifier)),
    });
    assert.equal(response.status, 200);
  });
});
