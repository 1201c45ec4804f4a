/** The OAuth client: grants against any provider, the token-response reader, identity, and the egress-checked HTTP. */
export { type AccountIdentity, readAccountIdentity } from './account-identity.ts';
export {
  clientCredentialsGrant,
  exchangeAuthorizationCode,
  type GrantTarget,
  type OAuthDeps,
  refreshAccessToken,
} from './grants.ts';
export {
  createProviderHttp,
  type InProcessRoute,
  type ProviderFetch,
  type ProviderHttp,
  providerEgressPolicy,
  TOKEN_ENDPOINT_TIMEOUT_MS,
} from './http.ts';
export { parseTokenResponse, type RawTokenResponse } from './token-response.ts';
export {
  type OAuthClient,
  type ProviderTokenSet,
  TokenEndpointError,
  type TokenFailureKind,
} from './types.ts';
