import type { MaybePromise } from '../lib/maybe-promise.ts';
import type { ProviderEntry } from '../providers/catalog-schema.ts';

/**
 * The seam between the relay and the token service. The relay knows HTTP; the token service knows connected accounts,
 * credentials and refresh. `createRelayDeps` (deps.ts) is the production implementation; tests pass an in-memory one.
 */

/** Which connected account a relayed call acts as: from the `Pipes-*` selection headers or from a relay token. */
export interface RelaySelection {
  userId?: string;
  organizationId?: string;
  connectedAccountId?: string;
  connectionOwner?: 'user' | 'organization';
}

export interface RelayCredential {
  accountId: string;
  authMethod: 'oauth' | 'api_key' | 'client_credentials';
  /** The secret itself (access token or API key). Never logged, never echoed. */
  value: string;
}

export interface RelayConnection {
  accountId: string;
  provider: ProviderEntry;
  /** Connect-time config plus metadata-derived values, for `{config.x}` templates in the provider's URLs. */
  config: Record<string, string>;
  credential: RelayCredential;
  /**
   * One forced single-flight refresh (after a provider 401). Null when there is no new credential to retry with (then
   * the 401 passes through); throws `needs_reauthorization` (424) when the refresh finds the grant dead.
   */
  forceRefresh(): Promise<RelayCredential | null>;
}

export interface RelayAuthentication {
  environment: { id: string; name: string; kind: 'sandbox' | 'production' };
  /** The id (not the secret) of the API key used, so relay tokens can die with their key. */
  apiKeyId?: string;
}

export interface RelayDeps {
  /** API-key auth: the same rules as the rest of the API. Null for any bad key (missing, malformed, unknown, revoked). */
  authenticate(authorization: string | undefined): MaybePromise<RelayAuthentication | null>;
  /**
   * Finds the connection and a usable credential. Throws `PipesError` with, among others (see docs/relay.md):
   * - `not_installed` (404): no such provider in the environment, or no connection for this selection (also when the
   *   selection names an account of another environment or organization: never reveal that it exists);
   * - `needs_reauthorization` (424 Failed Dependency: the request was fine, the stored grant is not);
   * - `account_selection_required` (409): several connections match and none was named;
   * - `invalid_selection` (400): contradictory selection.
   */
  resolveConnection(environmentId: string, slug: string, selection: RelaySelection): Promise<RelayConnection>;
  /**
   * Optional: whether the API key that minted a relay token still works. When given, revoking a key kills its relay
   * tokens at once instead of at their expiry.
   */
  isApiKeyActive?(apiKeyId: string): Promise<boolean>;
}
