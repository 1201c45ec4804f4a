import type { ConnectedAccountTable } from '../store/schema.ts';
import { ownerKeyOf } from './owner.ts';

/** The fields that identify a new connection; everything else has a default below. */
export type NewAccountFields = Pick<
  ConnectedAccountTable,
  | 'id'
  | 'environment_id'
  | 'data_integration_id'
  | 'provider_slug'
  | 'owner_type'
  | 'user_id'
  | 'organization_id'
  | 'connection_role'
  | 'auth_method'
  | 'state'
> &
  Partial<ConnectedAccountTable>;

/**
 * A complete `connected_accounts` row for an insert: no secrets, version 1, no lease, no refresh history. Every
 * way a connection is born (OAuth grant, API key, client credentials, import, bundle import) starts here, so a new
 * column gets its default in one place.
 */
export function newAccountRow(fields: NewAccountFields, now: number): ConnectedAccountTable {
  return {
    owner_key: ownerKeyOf({
      ownerType: fields.owner_type,
      userId: fields.user_id,
      organizationId: fields.organization_id,
    }),
    scopes: '[]',
    account_identifier: null,
    account_display_name: null,
    config: '{}',
    metadata: '{}',
    access_token: null,
    refresh_token: null,
    api_key: null,
    api_key_last4: null,
    client_id: null,
    client_secret: null,
    client_secret_last4: null,
    expires_at: null,
    expiry_kind: 'unknown',
    token_version: 1,
    generation: 1,
    lease_owner: null,
    lease_until: null,
    lease_fence: 0,
    refresh_attempt_version: null,
    refresh_attempt_started_at: null,
    last_refresh_at: null,
    token_issued_at: null,
    last_refresh_outcome: null,
    last_refresh_error: null,
    refresh_failures: 0,
    refresh_cooldown_until: null,
    next_refresh_at: null,
    reauthorization_reason: null,
    last_used_at: null,
    created_at: now,
    updated_at: now,
    ...fields,
  };
}
