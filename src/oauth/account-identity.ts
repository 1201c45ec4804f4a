import type { Logger } from '../lib/logger.ts';
import type { ProviderEntry } from '../providers/catalog-schema.ts';
import { resolveTemplate } from '../providers/templates.ts';
import type { OAuthDeps } from './grants.ts';
import { describeNetworkFailure, TOKEN_ENDPOINT_TIMEOUT_MS } from './http.ts';
import { readPath, scalarText } from './json-path.ts';
import type { ProviderTokenSet } from './types.ts';

export interface AccountIdentity {
  /** Best-effort provider account id (correlation only; R-T4): shows when a reauthorization used another account. */
  identifier: string | null;
  displayName: string | null;
  /** Non-secret fields of the identity response (`account.metadata_fields`). */
  metadata: Record<string, string>;
}

const NO_IDENTITY: AccountIdentity = { identifier: null, displayName: null, metadata: {} };

/**
 * Reads who connected, as the provider's `account` block says: from the token response (Slack `authed_user.id`,
 * Salesforce `id`) or from an identity endpoint called with the new token. Best effort: the connection is still
 * saved without an identity, so a provider's userinfo hiccup never loses a fresh grant. Never logs the token.
 */
export async function readAccountIdentity(
  ctx: OAuthDeps & { log: Logger },
  input: { provider: ProviderEntry; config: Readonly<Record<string, string>>; tokens: ProviderTokenSet },
): Promise<AccountIdentity> {
  const account = input.provider.account;
  if (account === undefined) return NO_IDENTITY;
  if (account.source === 'token_response') {
    return pick(input.tokens.identity, account.id_path, account.display_name_path, account.metadata_fields);
  }
  if (account.url === undefined) return NO_IDENTITY;
  try {
    const response = await callIdentityEndpoint(ctx, input.provider, input.config, input.tokens.accessToken);
    const text = await response.text();
    if (!response.ok) {
      ctx.log.warn(
        { provider: input.provider.slug, status: response.status },
        'account identity call failed',
      );
      return NO_IDENTITY;
    }
    return pick(
      JSON.parse(text) as unknown,
      account.id_path,
      account.display_name_path,
      account.metadata_fields,
    );
  } catch (error) {
    const reason = error instanceof SyntaxError ? 'not JSON' : describeNetworkFailure(error).description;
    ctx.log.warn({ provider: input.provider.slug, reason }, 'account identity could not be read');
    return NO_IDENTITY;
  }
}

/**
 * What the provider's identity endpoint says of an access token: `refused` for a 401 (the token is dead),
 * `accepted` for a 2xx, `unknown` for anything else (a 403, a 5xx, a timeout, no identity endpoint). Used to confirm
 * that a token a provider refused, and that nothing can renew, was revoked (src/tokens/revoked-grant.ts).
 */
export async function probeAccountIdentity(
  ctx: OAuthDeps & { log: Logger },
  input: { provider: ProviderEntry; config: Readonly<Record<string, string>>; accessToken: string },
): Promise<'accepted' | 'refused' | 'unknown'> {
  const account = input.provider.account;
  if (account?.source !== 'userinfo' || account.url === undefined) return 'unknown';
  try {
    const response = await callIdentityEndpoint(ctx, input.provider, input.config, input.accessToken);
    await response.body?.cancel();
    if (response.status === 401) return 'refused';
    return response.ok ? 'accepted' : 'unknown';
  } catch (error) {
    ctx.log.warn(
      { provider: input.provider.slug, reason: describeNetworkFailure(error).description },
      'account identity probe failed',
    );
    return 'unknown';
  }
}

/** One call to the `userinfo` identity endpoint with `token`, sent the way the provider's `account` block says. */
function callIdentityEndpoint(
  ctx: OAuthDeps,
  provider: ProviderEntry,
  config: Readonly<Record<string, string>>,
  token: string,
): Promise<Response> {
  const account = provider.account;
  if (account?.url === undefined) throw new Error('The provider has no identity endpoint.');
  const template = account.url.startsWith('/') ? provider.api.base_url + account.url : account.url;
  const url = new URL(resolveTemplate(template, config, provider.connect_config));
  const headers: Record<string, string> = {
    accept: 'application/json',
    'user-agent': 'Pipes',
    ...provider.api.extra_headers,
  };
  if (account.auth_format !== undefined)
    headers.authorization = account.auth_format.replace('{access_token}', token);
  else applyApiAuth(provider, headers, url, token);
  let body: string | undefined;
  if (account.method === 'POST') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(account.body ?? {});
  }
  return ctx.providerHttp.fetch(url.href, {
    method: account.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(TOKEN_ENDPOINT_TIMEOUT_MS),
  });
}

/** Sends the token the way the provider's API expects it (bearer, custom header, basic or query). */
function applyApiAuth(
  provider: ProviderEntry,
  headers: Record<string, string>,
  url: URL,
  token: string,
): void {
  const api = provider.api;
  const formatted = (api.auth_format ?? '{access_token}').replace('{access_token}', token);
  if (api.auth_style === 'header' && api.auth_header !== undefined) headers[api.auth_header] = formatted;
  else if (api.auth_style === 'basic')
    headers.authorization = `Basic ${Buffer.from(formatted).toString('base64')}`;
  else if (api.auth_style === 'query' && api.auth_query_param !== undefined) {
    url.searchParams.set(api.auth_query_param, token);
  } else headers.authorization = `Bearer ${token}`;
}

function pick(
  source: unknown,
  idPath: string,
  displayNamePath: string | undefined,
  metadataFields: readonly string[],
): AccountIdentity {
  const metadata: Record<string, string> = {};
  for (const path of metadataFields) {
    const text = scalarText(readPath(source, path));
    if (text !== undefined) metadata[path] = text;
  }
  const displayName =
    displayNamePath === undefined ? undefined : scalarText(readPath(source, displayNamePath));
  return {
    identifier: scalarText(readPath(source, idPath))?.slice(0, 255) ?? null,
    displayName: displayName?.slice(0, 255) ?? null,
    metadata,
  };
}
