import { toIso } from '../lib/time.ts';

/**
 * Builders for the exact §5.1 payloads, so that every caller emits the same shape. Times are epoch milliseconds
 * (as the store keeps them) and leave here as ISO-8601 strings. No token or secret has a field here (R-W7).
 */
export interface ConnectedAccountEventInput {
  id: string;
  dataIntegrationId: string;
  providerSlug: string;
  userId: string | null;
  organizationId: string | null;
  scopes: readonly string[];
  state: 'connected' | 'needs_reauthorization' | 'disconnected';
  createdAt: number;
  updatedAt: number;
}

/** `data` of `connected`, `reauthorization_needed` and `disconnected` (`PipesConnectedAccount`). */
export function connectedAccountEventData(input: ConnectedAccountEventInput): Record<string, unknown> {
  return {
    object: 'connected_account',
    id: input.id,
    data_integration_id: input.dataIntegrationId,
    provider_slug: input.providerSlug,
    user_id: input.userId,
    organization_id: input.organizationId,
    scopes: [...input.scopes],
    state: input.state,
    created_at: toIso(input.createdAt),
    updated_at: toIso(input.updatedAt),
  };
}

export interface ConnectionFailedEventInput {
  dataIntegrationId: string;
  providerSlug: string;
  userId: string | null;
  organizationId: string | null;
  /** Stable code, e.g. `authorization_code_exchange_error`. */
  errorCode: string;
  errorReason?: string | null;
  /** The provider's OAuth `error`, e.g. `access_denied`. */
  providerError?: string | null;
  providerErrorDescription?: string | null;
  createdAt: number;
}

/** Provider-supplied text is capped: payloads stay small (R-W7) whatever a provider sends back. */
const MAX_TEXT = 1000;
const capped = (value: string | null | undefined): string | null =>
  value === undefined || value === null ? null : value.slice(0, MAX_TEXT);

/** `data` of `connection_failed` (`PipesConnectionFailed`: no `id`). */
export function connectionFailedEventData(input: ConnectionFailedEventInput): Record<string, unknown> {
  return {
    object: 'connection_failed',
    data_integration_id: input.dataIntegrationId,
    provider_slug: input.providerSlug,
    user_id: input.userId,
    organization_id: input.organizationId,
    error_code: input.errorCode,
    error_reason: capped(input.errorReason),
    provider_error: capped(input.providerError),
    provider_error_description: capped(input.providerErrorDescription),
    created_at: toIso(input.createdAt),
  };
}
