import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import type { ProviderTokenSet } from '../oauth/types.ts';
import type { ConnectedAccountTable, Database } from '../store/schema.ts';
import { sealAccountSecret } from './account-secrets.ts';
import { computeExpiry, type ExpiryPolicy, nextRefreshAt } from './expiry.ts';
import { newAccountRow } from './new-account-row.ts';
import { type AccountOwner, ownerKeyOf } from './owner.ts';
import { recordAccountEvent } from './record-account-event.ts';

export type { AccountOwner };

export interface SaveOAuthGrantInput {
  environmentId: string;
  integration: { id: string; slug: string; scopes: string[] };
  owner: AccountOwner;
  tokens: ProviderTokenSet;
  expiry: ExpiryPolicy;
  accountIdentifier: string | null;
  accountDisplayName: string | null;
  config: Record<string, string>;
  metadata: Record<string, string>;
  /** Reconnect this account (reauthorization); null picks the owner's compatibility account or creates it. */
  targetAccountId: string | null;
  /** `add` creates another (standard) connection when the owner already has one. */
  connectionIntent: 'add' | null;
  now: number;
}

/**
 * Stores a new OAuth grant as a connected account and records `pipes.connected_account.connected` in the same
 * transaction. A grant for an owner who already has the compatibility connection reconnects that same account: its
 * tokens are replaced, its state returns to `connected`, and its `generation` is bumped so a refresh that started
 * under the old grant cannot overwrite the new one (R-L11).
 */
export async function saveOAuthGrant(
  trx: Kysely<Database>,
  ctx: AppContext,
  input: SaveOAuthGrantInput,
): Promise<{ accountId: string }> {
  const existing = await findTargetAccount(trx, input);
  const id = existing?.id ?? newId('connectedAccount', input.now);
  const ref = { id, environment_id: input.environmentId };
  const { tokens, now } = input;
  const expiry = computeExpiry(tokens.expiresIn, input.expiry, tokens.refreshToken !== null, now);
  const scopes = tokens.scopes ?? input.integration.scopes;
  const tokenColumns = {
    access_token: sealAccountSecret(ctx.vault, ref, 'access_token', tokens.accessToken),
    refresh_token: tokens.refreshToken
      ? sealAccountSecret(ctx.vault, ref, 'refresh_token', tokens.refreshToken)
      : null,
    expires_at: expiry.expiresAt,
    expiry_kind: expiry.kind,
    scopes: JSON.stringify(scopes),
    state: 'connected' as const,
    auth_method: 'oauth' as const,
    config: JSON.stringify(input.config),
    metadata: JSON.stringify(input.metadata),
    account_identifier: input.accountIdentifier,
    account_display_name: input.accountDisplayName,
    lease_owner: null,
    lease_until: null,
    refresh_attempt_version: null,
    refresh_attempt_started_at: null,
    last_refresh_at: now,
    token_issued_at: now,
    last_refresh_outcome: 'granted',
    last_refresh_error: null,
    refresh_failures: 0,
    refresh_cooldown_until: null,
    // A token with no refresh token to renew it is looked at once more, at its expiry: the background refresher then
    // marks it as needing reauthorization, with its event, even if nothing asks for it meanwhile.
    next_refresh_at:
      tokens.refreshToken === null ? expiry.expiresAt : nextRefreshAt(expiry.expiresAt, now, true, now),
    reauthorization_reason: null,
    updated_at: now,
  };

  let row: ConnectedAccountTable;
  if (existing) {
    row = await trx
      .updateTable('connected_accounts')
      .set((eb) => ({
        ...tokenColumns,
        token_version: eb('token_version', '+', 1),
        generation: eb('generation', '+', 1),
      }))
      .where('id', '=', existing.id)
      .returningAll()
      .executeTakeFirstOrThrow();
  } else {
    const role =
      input.connectionIntent === 'add' && (await hasCompatibilityAccount(trx, input))
        ? 'standard'
        : 'compatibility';
    row = newAccountRow(
      {
        id,
        environment_id: input.environmentId,
        data_integration_id: input.integration.id,
        provider_slug: input.integration.slug,
        owner_type: input.owner.ownerType,
        user_id: input.owner.userId,
        organization_id: input.owner.organizationId,
        connection_role: role,
        ...tokenColumns,
      },
      now,
    );
    await trx.insertInto('connected_accounts').values(row).execute();
  }
  await recordAccountEvent(trx, row, 'pipes.connected_account.connected', now);
  return { accountId: row.id };
}

async function findTargetAccount(trx: Kysely<Database>, input: SaveOAuthGrantInput) {
  if (input.targetAccountId) {
    const target = await trx
      .selectFrom('connected_accounts')
      .select(['id', 'owner_key'])
      .where('id', '=', input.targetAccountId)
      .where('environment_id', '=', input.environmentId)
      .where('data_integration_id', '=', input.integration.id)
      .executeTakeFirst();
    if (!target || target.owner_key !== ownerKeyOf(input.owner)) {
      throw new PipesError('connected_account_not_found', 'The connection to reauthorize no longer exists.', {
        status: 404,
      });
    }
    return target;
  }
  if (input.connectionIntent === 'add') return undefined;
  return trx
    .selectFrom('connected_accounts')
    .select(['id', 'owner_key'])
    .where('data_integration_id', '=', input.integration.id)
    .where('owner_key', '=', ownerKeyOf(input.owner))
    .where('connection_role', '=', 'compatibility')
    .executeTakeFirst();
}

async function hasCompatibilityAccount(trx: Kysely<Database>, input: SaveOAuthGrantInput): Promise<boolean> {
  const row = await trx
    .selectFrom('connected_accounts')
    .select('id')
    .where('data_integration_id', '=', input.integration.id)
    .where('owner_key', '=', ownerKeyOf(input.owner))
    .where('connection_role', '=', 'compatibility')
    .executeTakeFirst();
  return row !== undefined;
}
