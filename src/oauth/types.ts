import { PipesError } from '../errors.ts';

/**
 * The contract between the OAuth client (`src/oauth`: code exchange, refresh and client-credentials grants against
 * any provider, standard or quirky) and its users (the connect flow, the token service, the relay).
 */

/** A token response, normalised: quirks such as Slack's nested `authed_user` are already resolved. */
export interface ProviderTokenSet {
  accessToken: string;
  /** Null when the response carried none: on refresh the caller keeps the old one (RFC 6749 §6). */
  refreshToken: string | null;
  /** Seconds, from `expires_in`; null when the response did not say. */
  expiresIn: number | null;
  /** Granted scopes as the provider reported them; null when the response had no scope (= as requested). */
  scopes: string[] | null;
  /** Non-secret fields kept as connection metadata (Salesforce `instance_url`, Slack `team.id`…). */
  metadata: Record<string, string>;
  /** Raw identity hints from the token response (e.g. Slack `authed_user.id`), for reading the account id. */
  identity: Record<string, unknown>;
}

/** OAuth client credentials of an integration (custom, shared or organization-supplied). */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

/**
 * How a token-endpoint failure must be treated:
 * - `invalid_grant`: the grant is dead (revoked, expired, rotated away). Final for a refresh, after re-reading.
 * - `invalid_client`: our client credentials are wrong: an operator must fix the integration.
 * - `transient`: network error, timeout, 5xx, 429. Retry with the same refresh token; never mark broken.
 * - `malformed`: the provider answered something that is not a valid token response. Nothing is stored.
 * - `rejected`: any other OAuth error (invalid_request, invalid_scope, unauthorized_client…).
 */
export type TokenFailureKind = 'invalid_grant' | 'invalid_client' | 'transient' | 'malformed' | 'rejected';

export class TokenEndpointError extends PipesError {
  readonly kind: TokenFailureKind;
  readonly providerError: string | null;
  readonly providerErrorDescription: string | null;
  /** From `Retry-After` on 429/503, in milliseconds. */
  readonly retryAfterMs: number | null;
  /** True when the request may have reached the provider (a timeout after sending): the outcome is unknown. */
  readonly ambiguous: boolean;

  constructor(
    kind: TokenFailureKind,
    message: string,
    details: {
      providerError?: string | null;
      providerErrorDescription?: string | null;
      retryAfterMs?: number | null;
      ambiguous?: boolean;
      cause?: unknown;
    } = {},
  ) {
    const code = kind === 'malformed' ? 'provider_malformed_response' : `provider_${kind}`;
    super(code, message, { status: kind === 'transient' ? 503 : 502, cause: details.cause });
    this.name = 'TokenEndpointError';
    this.kind = kind;
    this.providerError = details.providerError ?? null;
    this.providerErrorDescription = details.providerErrorDescription ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
    this.ambiguous = details.ambiguous ?? false;
  }
}
