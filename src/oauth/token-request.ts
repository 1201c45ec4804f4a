import * as oauth from 'oauth4webapi';
import type { ProviderFetch } from './http.ts';
import { describeNetworkFailure, TOKEN_ENDPOINT_TIMEOUT_MS } from './http.ts';
import type { RawTokenResponse } from './token-response.ts';
import { type OAuthClient, TokenEndpointError } from './types.ts';

/**
 * Sends one token-endpoint request and returns the raw answer; `parseTokenResponse` reads it.
 *
 * Form-encoded requests (the standard) are built and sent by oauth4webapi, whose client authentication follows
 * RFC 6749 §2.3.1 exactly (form-urlencoding inside HTTP Basic included); its `customFetch` hook routes them through
 * the egress-checked dispatcher. Providers that want a JSON body (`token_body_content_type`) get the same fields as
 * JSON. Network failures become `transient` errors, `ambiguous` when the request may have reached the provider.
 */
export interface TokenRequest {
  url: string;
  grantType: 'authorization_code' | 'refresh_token' | 'client_credentials';
  /** Grant parameters (code, redirect_uri, code_verifier, refresh_token, scope…), never client credentials. */
  params: Record<string, string>;
  client: OAuthClient;
  clientAuth: 'basic' | 'body';
  contentType: 'application/x-www-form-urlencoded' | 'application/json';
  headers: Record<string, string>;
  /** Where the request was meant to go, for the authorization server object oauth4webapi wants. */
  issuer: string | undefined;
}

const USER_AGENT = 'Pipes';

export async function sendTokenRequest(
  fetch: ProviderFetch,
  request: TokenRequest,
): Promise<RawTokenResponse> {
  const signal = AbortSignal.timeout(TOKEN_ENDPOINT_TIMEOUT_MS);
  try {
    const response =
      request.contentType === 'application/json'
        ? await sendJson(fetch, request, signal)
        : await sendForm(fetch, request, signal);
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text: await response.text(),
      retryAfter: response.headers.get('retry-after'),
    };
  } catch (error) {
    if (error instanceof TokenEndpointError) throw error;
    const failure = describeNetworkFailure(error);
    throw new TokenEndpointError(
      'transient',
      `The provider's token endpoint could not be reached: ${failure.description}.`,
      {
        ambiguous: failure.ambiguous,
        cause: error,
      },
    );
  }
}

async function sendForm(fetch: ProviderFetch, request: TokenRequest, signal: AbortSignal): Promise<Response> {
  const as: oauth.AuthorizationServer = {
    issuer: request.issuer ?? new URL(request.url).origin,
    token_endpoint: request.url,
  };
  const client: oauth.Client = { client_id: request.client.clientId };
  const auth =
    request.client.clientSecret === ''
      ? oauth.None()
      : request.clientAuth === 'basic'
        ? oauth.ClientSecretBasic(request.client.clientSecret)
        : oauth.ClientSecretPost(request.client.clientSecret);
  return oauth.genericTokenEndpointRequest(as, client, auth, request.grantType, request.params, {
    headers: { 'user-agent': USER_AGENT, ...request.headers },
    signal,
    // Whether plain http may be used is the egress policy's decision (enforced at connect time), not this library's.
    [oauth.allowInsecureRequests]: true,
    [oauth.customFetch]: (url, init) =>
      fetch(url, {
        method: init.method,
        headers: init.headers as Record<string, string>,
        body: init.body as URLSearchParams,
        signal: init.signal as AbortSignal,
      }),
  });
}

async function sendJson(fetch: ProviderFetch, request: TokenRequest, signal: AbortSignal): Promise<Response> {
  const body: Record<string, string> = { grant_type: request.grantType, ...request.params };
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    accept: 'application/json',
    ...request.headers,
    'content-type': 'application/json',
  };
  if (request.clientAuth === 'basic' && request.client.clientSecret !== '') {
    const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${encode(request.client.clientId)}:${encode(request.client.clientSecret)}`).toString('base64')}`;
  } else {
    body.client_id = request.client.clientId;
    if (request.client.clientSecret !== '') body.client_secret = request.client.clientSecret;
  }
  return fetch(request.url, { method: 'POST', headers, body: JSON.stringify(body), signal });
}
