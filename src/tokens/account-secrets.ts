import type { Vault } from '../vault/vault.ts';

/** The secret columns of a connected account; each is sealed bound to its row, environment and kind. */
export type AccountSecretKind = 'access_token' | 'refresh_token' | 'api_key' | 'client_secret';

export interface AccountRef {
  id: string;
  environment_id: string;
}

export function sealAccountSecret(
  vault: Vault,
  account: AccountRef,
  kind: AccountSecretKind,
  value: string,
): Buffer {
  return vault.seal(value, {
    table: 'connected_accounts',
    rowId: account.id,
    environmentId: account.environment_id,
    kind,
  });
}

export function openAccountSecret(
  vault: Vault,
  account: AccountRef,
  kind: AccountSecretKind,
  blob: Uint8Array | null,
): string | null {
  if (blob === null) return null;
  return vault.open(blob, {
    table: 'connected_accounts',
    rowId: account.id,
    environmentId: account.environment_id,
    kind,
  });
}
