import type { SecretKind } from './binding.ts';

/**
 * Every column that holds a vault blob, with the binding its blobs were sealed under. The master-key rotation walks
 * this list; a new sealed column must be added here (the rotation test fails otherwise: it checks that no blob
 * under the old key is left).
 */
export interface SealedColumn {
  table: string;
  column: string;
  kind: SecretKind;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'data_integrations', column: 'client_secret', kind: 'client_secret' },
  { table: 'connected_accounts', column: 'access_token', kind: 'access_token' },
  { table: 'connected_accounts', column: 'refresh_token', kind: 'refresh_token' },
  { table: 'connected_accounts', column: 'api_key', kind: 'api_key' },
  { table: 'connected_accounts', column: 'client_secret', kind: 'client_secret' },
  { table: 'authorization_flows', column: 'code_verifier', kind: 'code_verifier' },
  { table: 'webhook_endpoints', column: 'secret', kind: 'webhook_secret' },
  { table: 'webhook_endpoints', column: 'previous_secret', kind: 'webhook_secret' },
];
