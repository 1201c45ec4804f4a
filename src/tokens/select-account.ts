import type { Kysely } from 'kysely';
import { PipesError } from '../errors.ts';
import type { ConnectedAccountTable, Database, DataIntegrationTable } from '../store/schema.ts';
import { type AccountOwner, ownerKeyOf } from './owner.ts';

export interface AccountSelection {
  owner: AccountOwner;
  connectedAccountId: string | null;
  supportsMultipleConnections: boolean;
}

/** The environment's integration for this provider slug and owner kind, or a 404 that says what to do. */
export async function requireIntegration(
  db: Kysely<Database>,
  environment: { id: string; name: string },
  slug: string,
  ownership: 'user' | 'organization',
): Promise<DataIntegrationTable> {
  const integration = await db
    .selectFrom('data_integrations')
    .selectAll()
    .where('environment_id', '=', environment.id)
    .where('slug', '=', slug)
    .where('ownership', '=', ownership)
    .executeTakeFirst();
  if (!integration) {
    throw new PipesError(
      'data_integration_not_found',
      `The provider "${slug}" is not configured in the ${environment.name} environment. ` +
        'Add it first (POST /data-integrations or the dashboard), then connect an account.',
      { status: 404 },
    );
  }
  return integration;
}

/**
 * Selects the connected account a request means (§3.4):
 * - with `connected_account_id`: exactly that account, which must belong to this owner and integration;
 * - without `supports_multiple_connections`: the owner's compatibility connection only;
 * - with it: the owner's only connection, or 409 `account_selection_required` when there are several.
 * Returns null when the owner has no matching connection (`not_installed`).
 */
export async function selectAccount(
  db: Kysely<Database>,
  integration: Pick<DataIntegrationTable, 'id' | 'environment_id'>,
  selection: AccountSelection,
): Promise<ConnectedAccountTable | null> {
  const ownerKey = ownerKeyOf(selection.owner);
  let query = db
    .selectFrom('connected_accounts')
    .selectAll()
    .where('environment_id', '=', integration.environment_id)
    .where('data_integration_id', '=', integration.id)
    .where('owner_key', '=', ownerKey);
  if (selection.connectedAccountId) {
    const account = await query.where('id', '=', selection.connectedAccountId).executeTakeFirst();
    if (!account) {
      throw new PipesError('connected_account_not_found', 'Connected account not found.', { status: 404 });
    }
    return account;
  }
  if (!selection.supportsMultipleConnections) query = query.where('connection_role', '=', 'compatibility');
  const accounts = await query.orderBy('id').limit(2).execute();
  if (accounts.length > 1) {
    throw new PipesError(
      'account_selection_required',
      'This owner has several connections of this provider. Pass connected_account_id to choose one.',
      { status: 409 },
    );
  }
  return accounts[0] ?? null;
}
