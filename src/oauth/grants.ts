import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import type { ProviderEntry, ProviderOAuth } from '../providers/catalog-schema.ts';
import { resolveTemplate } from '../providers/templates.ts';
import { sendTokenRequest } from './token-request.ts';
import { parseTokenResponse } from './token-response.ts';
import type { OAuthClient, ProviderTokenSet } from './types.ts';

/** What the OAuth client needs from the context: only the egress-checked HTTP client. */
export type OAuthDeps = Pick<AppContext, 'providerHttp'>;

export interface GrantTarget {
  provider: ProviderEntry;
  /** The connection's (or flow's) provider config, for `{config.<field>}` URL templates. */
  config: Readonly<Record<string, string>>;
  client: OAuthClient;
}

function requireOAuth(provider: ProviderEntry): ProviderOAuth {
  if (provider.oauth === undefined) {
    throw new PipesError('auth_method_mismatch', `${provider.name} does not use OAuth.`, { status: 422 });
  }
  return provider.oauth;
}

const resolveUrl = (provider: ProviderEntry, template: string, config: Readonly<Record<string, string>>) =>
  resolveTemplate(template, config, provider.connect_config);

/**
 * Posts a grant to one of the provider's OAuth endpoints (`urlTemplate`, resolved against the connection's config)
 * with the provider's client authentication, body encoding, extra headers and issuer check, and parses the answer.
 */
async function requestOAuthTokens(
  ctx: OAuthDeps,
  input: GrantTarget,
  o: ProviderOAuth,
  request: {
    urlTemplate: string;
    grantType: 'authorization_code' | 'refresh_token';
    params: Record<string, string>;
  },
): Promise<ProviderTokenSet> {
  const raw = await sendTokenRequest(ctx.providerHttp.fetch, {
    url: resolveUrl(input.provider, request.urlTemplate, input.config),
    grantType: request.grantType,
    params: request.params,
    client: input.client,
    clientAuth: o.client_auth,
    contentType: o.token_body_content_type,
    headers: { ...o.token_headers },
    issuer: o.issuer,
  });
  return parseTokenResponse(raw, o);
}

/** The authorization-code grant (RFC 6749 §4.1.3) with the exact redirect URI and PKCE verifier of the flow. */
export async function exchangeAuthorizationCode(
  ctx: OAuthDeps,
  input: GrantTarget & { code: string; redirectUri: string; codeVerifier: string | null },
): Promise<ProviderTokenSet> {
  const o = requireOAuth(input.provider);
  const params: Record<string, string> = { code: input.code, redirect_uri: input.redirectUri };
  if (input.codeVerifier !== null) params.code_verifier = input.codeVerifier;
  return requestOAuthTokens(ctx, input, o, {
    urlTemplate: o.token_url,
    grantType: 'authorization_code',
    params,
  });
}

/**
 * The refresh grant (RFC 6749 §6). A response without `refresh_token` leaves `refreshToken` null: the caller keeps
 * the old one (R-T3). Scopes are not sent, so the provider keeps the granted set.
 */
export async function refreshAccessToken(
  ctx: OAuthDeps,
  input: GrantTarget & { refreshToken: string },
): Promise<ProviderTokenSet> {
  const o = requireOAuth(input.provider);
  return requestOAuthTokens(ctx, input, o, {
    urlTemplate: o.refresh_url ?? o.token_url,
    grantType: 'refresh_token',
    params: { refresh_token: input.refreshToken },
  });
}

/**
 * The client-credentials grant (RFC 6749 §4.4) with a tenant's own client: `provider.client_credentials` names the
 * endpoint and the default scopes.
 */
export async function clientCredentialsGrant(
  ctx: OAuthDeps,
  input: GrantTarget & { scopes?: readonly string[] },
): Promise<ProviderTokenSet> {
  const cc = input.provider.client_credentials;
  if (cc === undefined) {
    throw new PipesError(
      'auth_method_mismatch',
      `${input.provider.name} does not support client credentials.`,
      {
        status: 422,
      },
    );
  }
  const separator = input.provider.oauth?.scope_separator ?? ' ';
  const scopes = input.scopes ?? cc.default_scopes;
  const params: Record<string, string> = {};
  if (scopes.length > 0) params.scope = scopes.join(separator);
  const raw = await sendTokenRequest(ctx.providerHttp.fetch, {
    url: resolveUrl(input.provider, cc.token_url, input.config),
    grantType: 'client_credentials',
    params,
    client: input.client,
    clientAuth: cc.client_auth,
    contentType: input.provider.oauth?.token_body_content_type ?? 'application/x-www-form-urlencoded',
    headers: { ...(input.provider.oauth?.token_headers ?? {}) },
    issuer: undefined,
  });
  return parseTokenResponse(raw, {
    scope_separator: separator,
    token_response: input.provider.oauth?.token_response ?? {
      expiry: 'expires_in',
      metadata_fields: [],
      errors_with_200: false,
    },
  });
}
