import type { ProviderEntry } from '../../providers/catalog-schema.ts';
import { TokenEndpointError } from '../types.ts';
import type { FlowFailure } from './respond.tsx';

/** Provider text shown to users and sent in events is capped; hono/jsx escapes it on pages. */
const cap = (text: string | null, max = 300): string | null => (text === null ? null : text.slice(0, max));

/**
 * Turns a provider's authorization error (`?error=…&error_description=…` on the callback) into a failure that says
 * what to do. The common user-fixable cases get specific advice.
 */
export function explainAuthorizationError(
  provider: Pick<ProviderEntry, 'name'> & { slug: string },
  redirectUri: string,
  error: string,
  description: string | null,
): FlowFailure {
  const base = { providerError: cap(error, 100), providerErrorDescription: cap(description) };
  const name = provider.name;
  switch (error) {
    case 'access_denied':
      return {
        ...base,
        errorCode: 'authorization_denied',
        title: `${name} was not connected`,
        message: `Access was not allowed at ${name}. To connect, start again and approve the request.`,
      };
    case 'redirect_uri_mismatch':
      return {
        ...base,
        errorCode: 'redirect_uri_mismatch',
        title: `${name} rejected the redirect URI`,
        message: `${name} rejected the redirect URI. Register exactly ${redirectUri} as a redirect URI of the OAuth app at ${name}, then try again.`,
      };
    case 'invalid_scope':
      return {
        ...base,
        errorCode: 'invalid_scope',
        title: `${name} rejected the requested permissions`,
        message: `${name} rejected the requested scopes. Fix the integration's scopes (PUT /data-integrations/${provider.slug} {"scopes": [...]}) and try again.`,
      };
    case 'unauthorized_client':
    case 'invalid_client':
      return {
        ...base,
        errorCode: 'invalid_client',
        title: `${name} refused the OAuth app`,
        message: `${name} does not accept this OAuth app for this request. Check the integration's client id and the app's settings at ${name}.`,
      };
    default: {
      // O10: a provider that rejects PKCE gets a clear configuration error, never a silent retry without PKCE.
      const pkce = /code_challenge|pkce|code_verifier/i.test(`${error} ${description ?? ''}`);
      return {
        ...base,
        errorCode: 'authorization_error',
        title: `${name} returned an error`,
        message: pkce
          ? `${name} rejected the PKCE parameters. Pipes never drops PKCE silently: if ${name} does not support it, set pkce_enabled: false on the custom provider.`
          : `${name} returned an error (${cap(error, 100)}). Start again; if it keeps happening, check the integration's settings.`,
      };
    }
  }
}

/** A failed code exchange (O14–O17): what happened at the token endpoint, and what to do. */
export function explainExchangeError(
  provider: Pick<ProviderEntry, 'name'> & { slug: string },
  redirectUri: string,
  error: unknown,
): FlowFailure {
  const name = provider.name;
  if (!(error instanceof TokenEndpointError)) {
    return {
      errorCode: 'authorization_code_exchange_error',
      title: `${name} was not connected`,
      message: `The connection to ${name} could not be completed. Start again.`,
      providerError: null,
      providerErrorDescription: null,
    };
  }
  const base = {
    errorCode: 'authorization_code_exchange_error',
    title: `${name} was not connected`,
    providerError: cap(error.providerError, 100),
    providerErrorDescription: cap(error.providerErrorDescription),
  };
  if (error.providerError === 'redirect_uri_mismatch') {
    return {
      ...base,
      message: `${name} rejected the redirect URI. Register exactly ${redirectUri} as a redirect URI of the OAuth app at ${name}, then try again.`,
    };
  }
  switch (error.kind) {
    case 'invalid_grant':
      return {
        ...base,
        message: `${name} refused the authorization code (expired or already used). Start again.`,
      };
    case 'invalid_client':
      return {
        ...base,
        message: `${name} refused the integration's client credentials. Check the client id and secret (PUT /data-integrations/${provider.slug} {"credentials": …}).`,
      };
    case 'transient':
      return {
        ...base,
        message: `${name} did not answer in time or is unavailable. Start again in a moment.`,
      };
    case 'malformed':
      return { ...base, message: `${name} sent an invalid token response; nothing was stored. Start again.` };
    default:
      return {
        ...base,
        message: `${name} rejected the token request. Start again; if it keeps happening, check the integration's settings.`,
      };
  }
}
