import type { AppContext } from '../context.ts';
import { newId } from '../lib/ids.ts';
import type { Environment } from '../store/environments.ts';
import type { AuthMethod, ConnectedAccountTable } from '../store/schema.ts';
import { sealAccountSecret } from './account-secrets.ts';
import { insertAccountRow } from './insert-account.ts';
import { newAccountRow } from './new-account-row.ts';
import { type AccountOwner, ownerKeyOf } from './owner.ts';
import { parseJsonArray } from './present-account.ts';
import { recordAccountEvent } from './record-account-event.ts';
import { requireIntegration, selectAccount } from './select-account.ts';
import { authMethodMismatch } from './vend.ts';

/** An API key, or a tenant's client id and secret for the client-credentials grant. */
export type StaticCredential =
  | { method: 'api_key'; secret: string }
  | { method: 'client_credentials'; clientId: string; clientSecret: string; config: Record<string, string> };

export interface StaticCredentialInput {
  environment: Environment;
  slug: string;
  owner: AccountOwner;
  credential: StaticCredential;
  /** PUT: upsert or rotate (`reauthorize`); POST: `add` another connection. */
  intent: 'upsert' | 'add';
  connectedAccountId: string | null;
  accountIdentifier: string | null;
  accountDisplayName: string | null;
}

/**
 * Installs or rotates an API-key or client-credentials connection (§3.5). The secret is sealed to the row; only its
 * last 4 characters are ever shown. A new connection, or one coming back from needs_reauthorization, records
 * `pipes.connected_account.connected` in the same transaction.
 */
export async function saveStaticCredential(
  ctx: AppContext,
  input: StaticCredentialInput,
): Promise<ConnectedAccountTable> {
  const { db } = ctx.store;
  const method: AuthMethod = input.credential.method;
  const integration = await requireIntegration(db, input.environment, input.slug, input.owner.ownerType);
  const methods = parseJsonArray(integration.auth_methods);
  if (!methods.includes(method)) throw authMethodMismatch(methods[0] ?? 'oauth');

  const existing =
    input.intent === 'add'
      ? null
      : await selectAccount(db, integration, {
          owner: input.owner,
          connectedAccountId: input.connectedAccountId,
          supportsMultipleConnections: false,
        });
  if (existing && existing.auth_method !== method) throw authMethodMismatch(existing.auth_method);

  const now = ctx.clock.now();
  return db.transaction().execute(async (trx) => {
    const id = existing?.id ?? newId('connectedAccount', now);
    const ref = { id, environment_id: input.environment.id };
    const secretColumns =
      input.credential.method === 'api_key'
        ? {
            api_key: sealAccountSecret(ctx.vault, ref, 'api_key', input.credential.secret),
            api_key_last4: input.credential.secret.slice(-4),
          }
        : {
            client_id: input.credential.clientId,
            client_secret: sealAccountSecret(ctx.vault, ref, 'client_secret', input.credential.clientSecret),
            client_secret_last4: input.credential.clientSecret.slice(-4),
            config: JSON.stringify(input.credential.config),
            // A new client secret invalidates any token minted with the old one.
            access_token: null,
            expires_at: null,
            token_issued_at: null,
          };
    let row: ConnectedAccountTable;
    if (existing) {
      row = await trx
        .updateTable('connected_accounts')
        .set((eb) => ({
          ...secretColumns,
          state: 'connected',
          reauthorization_reason: null,
          refresh_failures: 0,
          refresh_cooldown_until: null,
          token_version: eb('token_version', '+', 1),
          generation: eb('generation', '+', 1),
          ...(input.accountIdentifier !== null ? { account_identifier: input.accountIdentifier } : {}),
          ...(input.accountDisplayName !== null ? { account_display_name: input.accountDisplayName } : {}),
          updated_at: now,
        }))
        .where('id', '=', existing.id)
        .returningAll()
        .executeTakeFirstOrThrow();
    } else {
      const hasCompatibility = await trx
        .selectFrom('connected_accounts')
        .select('id')
        .where('data_integration_id', '=', integration.id)
        .where('owner_key', '=', ownerKeyOf(input.owner))
        .where('connection_role', '=', 'compatibility')
        .executeTakeFirst();
      row = newAccountRow(
        {
          id,
          environment_id: input.environment.id,
          data_integration_id: integration.id,
          provider_slug: integration.slug,
          owner_type: input.owner.ownerType,
          user_id: input.owner.userId,
          organization_id: input.owner.organizationId,
          connection_role: hasCompatibility ? 'standard' : 'compatibility',
          auth_method: method,
          state: 'connected',
          account_identifier: input.accountIdentifier,
          account_display_name: input.accountDisplayName,
          ...secretColumns,
        },
        now,
      );
      await insertAccountRow(
        trx,
        ctx.store.engine,
        row,
        'A connection was created for this owner at the same time; retry.',
      );
    }
    if (existing?.state !== 'connected') {
      await recordAccountEvent(trx, row, 'pipes.connected_account.connected', now);
    }
    return row;
  });
}
