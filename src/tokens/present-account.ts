import { toIso } from '../lib/time.ts';
import type { ConnectedAccountTable } from '../store/schema.ts';

export const parseJsonArray = (value: string | null): string[] =>
  value ? (JSON.parse(value) as string[]) : [];
export const parseJsonObject = (value: string | null): Record<string, string> =>
  value ? (JSON.parse(value) as Record<string, string>) : {};

/** The public `connected_account` object (§4.2). Never a token or a full secret. */
export function presentConnectedAccount(row: ConnectedAccountTable) {
  const body: Record<string, unknown> = {
    object: 'connected_account',
    id: row.id,
    connection_role: row.connection_role,
    account_identifier: row.account_identifier,
    account_display_name: row.account_display_name,
    user_id: row.user_id,
    organization_id: row.organization_id,
    scopes: parseJsonArray(row.scopes),
    auth_method: row.auth_method,
    api_key_last_4: row.api_key_last4,
    state: row.state,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
  if (row.auth_method === 'client_credentials') {
    body.client_id = row.client_id;
    body.client_secret_last_4 = row.client_secret_last4;
    body.config = parseJsonObject(row.config);
  } else {
    body.client_id = null;
    body.client_secret_last_4 = null;
    body.config = parseJsonObject(row.config);
  }
  return body;
}

/** The `PipesConnectedAccount` payload of connected / reauthorization_needed / disconnected events (§5.1). */
export function connectedAccountEventPayload(row: ConnectedAccountTable, state?: string) {
  return {
    object: 'connected_account',
    id: row.id,
    data_integration_id: row.data_integration_id,
    provider_slug: row.provider_slug,
    user_id: row.user_id,
    organization_id: row.organization_id,
    scopes: parseJsonArray(row.scopes),
    state: state ?? row.state,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}
