import type { AppContext } from '../context.ts';
import { clientCredentialsGrant, refreshAccessToken } from '../oauth/grants.ts';
import { TokenEndpointError } from '../oauth/types.ts';
import { loadIntegrationClient, resolveIntegrationProvider } from '../providers/resolve.ts';
import { openAccountSecret } from './account-secrets.ts';
import type { ExpiryPolicy } from './expiry.ts';
import { parseJsonObject } from './present-account.ts';
import type { RefreshGrant } from './refresh/single-flight.ts';

/**
 * The refresh grant as the refresher makes it: the provider (catalog entry or custom definition) and the OAuth
 * client are resolved per call, so a rotated client secret or an edited custom provider takes effect at once.
 */
export function createProviderRefreshGrant(ctx: Omit<AppContext, 'tokens'>): RefreshGrant {
  return async ({ account, integration, refreshToken }) => {
    const provider = resolveIntegrationProvider(ctx, integration);
    const config = parseJsonObject(account.config);
    const tokenResponse = provider.oauth?.token_response;
    const expiry: ExpiryPolicy = {
      kind: tokenResponse?.expiry ?? 'expires_in',
      defaultLifetimeSeconds: tokenResponse?.default_lifetime_seconds ?? null,
    };
    if (account.auth_method === 'client_credentials') {
      const clientSecret = openAccountSecret(ctx.vault, account, 'client_secret', account.client_secret);
      if (!account.client_id || clientSecret === null) {
        throw new TokenEndpointError('invalid_client', 'This connection has no client credentials stored.');
      }
      const tokens = await clientCredentialsGrant(ctx, {
        provider,
        config,
        client: { clientId: account.client_id, clientSecret },
      });
      return { tokens, expiry: { kind: 'expires_in', defaultLifetimeSeconds: null } };
    }
    const client = loadIntegrationClient(ctx, integration);
    if (client === null) {
      throw new TokenEndpointError(
        'invalid_client',
        'The integration has no usable OAuth client credentials.',
      );
    }
    if (refreshToken === null) throw new TokenEndpointError('invalid_grant', 'No refresh token is stored.');
    const tokens = await refreshAccessToken(ctx, { provider, config, client, refreshToken });
    return { tokens, expiry };
  };
}
