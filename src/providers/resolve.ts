import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import type { OAuthClient } from '../oauth/types.ts';
import type { DataIntegrationTable } from '../store/schema.ts';
import type { ProviderEntry } from './catalog-schema.ts';
import { customProviderEntry, parseStoredCustomProvider } from './custom-provider.ts';

/**
 * From an integration row to what the OAuth client needs: the provider (a catalog entry, or the integration's custom
 * definition in the same shape) and the OAuth client credentials (custom secret opened from the vault, or the
 * installation's shared credentials). Used by the connect flow and by the token service's refresh.
 */

type ResolveContext = Pick<AppContext, 'catalog'>;
type ClientContext = Pick<AppContext, 'vault' | 'sandbox' | 'config'>;

/** The provider behind an integration. Throws `provider_unavailable` (422) when it is not in this installation. */
export function resolveIntegrationProvider(
  ctx: ResolveContext,
  integration: Pick<DataIntegrationTable, 'slug' | 'custom_provider'>,
): ProviderEntry {
  if (integration.custom_provider !== null) {
    return customProviderEntry(integration.slug, parseStoredCustomProvider(integration.custom_provider));
  }
  const entry = ctx.catalog.get(integration.slug);
  if (entry !== undefined) return entry;
  const hint =
    integration.slug === 'sandbox'
      ? ' The built-in sandbox provider is switched off: set PIPES_SANDBOX_PROVIDER=true to serve it.'
      : ' Its catalog file may have been removed; restore providers/' +
        integration.slug +
        '.json or delete the integration.';
  throw new PipesError(
    'provider_unavailable',
    `The provider "${integration.slug}" is not available in this installation.${hint}`,
    { status: 422 },
  );
}

/** The binding of an integration's custom client secret (vault AAD). */
export const integrationSecretBinding = (integration: Pick<DataIntegrationTable, 'id' | 'environment_id'>) =>
  ({
    table: 'data_integrations',
    rowId: integration.id,
    environmentId: integration.environment_id,
    kind: 'client_secret',
  }) as const;

/** Shared (installation-wide) OAuth client for a provider slug, if the installation has one. */
export function sharedClientFor(
  ctx: Pick<AppContext, 'sandbox' | 'config'>,
  slug: string,
): OAuthClient | null {
  if (slug === 'sandbox' && ctx.sandbox !== null) return ctx.sandbox.sharedClient;
  const shared = ctx.config.sharedCredentials[slug];
  return shared === undefined ? null : { clientId: shared.client_id, clientSecret: shared.client_secret };
}

/**
 * The integration's OAuth client, or null when it has none usable (no credentials, or shared credentials that this
 * installation does not have). A custom client without a secret (`client_secret_required: false`) has an empty
 * `clientSecret`: the client then authenticates with its id alone.
 */
export function loadIntegrationClient(
  ctx: ClientContext,
  integration: Pick<
    DataIntegrationTable,
    'id' | 'environment_id' | 'slug' | 'credentials_type' | 'client_id' | 'client_secret'
  >,
): OAuthClient | null {
  if (integration.credentials_type === 'shared') return sharedClientFor(ctx, integration.slug);
  if (integration.credentials_type !== 'custom' || integration.client_id === null) return null;
  const clientSecret =
    integration.client_secret === null
      ? ''
      : ctx.vault.open(integration.client_secret, integrationSecretBinding(integration));
  return { clientId: integration.client_id, clientSecret };
}
