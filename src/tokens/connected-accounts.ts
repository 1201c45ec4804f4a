import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { recordEvent } from '../events/record-event.ts';
import { newId } from '../lib/ids.ts';
import type { Environment } from '../store/environments.ts';
import type { ConnectedAccountTable } from '../store/schema.ts';
import type { Vault } from '../vault/vault.ts';
import { type AccountRef, sealAccountSecret } from './account-secrets.ts';
import { nextRefreshAt } from './expiry.ts';
import { type ImportedTokens, type ImportPlan, planImport } from './import-tokens.ts';
import { insertAccountRow } from './insert-account.ts';
import { newAccountRow } from './new-account-row.ts';
import type { AccountOwner } from './owner.ts';
import { connectedAccountEventPayload, parseJsonArray } from './present-account.ts';
import { recordAccountEvent } from './record-account-event.ts';
import { revokeAtProvider } from './revoke.ts';
import { type AccountSelection, requireIntegration, selectAccount } from './select-account.ts';

export interface AccountAddress {
  environment: Environment;
  slug: string;
  selection: AccountSelection;
}

/** The selected account, or a 404 (a missing one and another environment's look the same). */
export async function getConnectedAccount(
  ctx: AppContext,
  address: AccountAddress,
): Promise<ConnectedAccountTable> {
  const integration = await requireIntegration(
    ctx.store.db,
    address.environment,
    address.slug,
    address.selection.owner.ownerType,
  );
  const account = await selectAccount(ctx.store.db, integration, address.selection);
  if (!account)
    throw new PipesError('connected_account_not_found', 'Connected account not found.', { status: 404 });
  return account;
}

export interface ImportInput extends ImportedTokens {
  scopes?: string[] | undefined;
  connection_intent?: 'add' | undefined;
}

/** An import plan's tokens, sealed to the account's row: the columns an import or an update writes. */
function sealPlannedTokens(vault: Vault, account: AccountRef, plan: ImportPlan) {
  return {
    access_token: plan.accessToken
      ? sealAccountSecret(vault, account, 'access_token', plan.accessToken)
      : null,
    refresh_token: plan.refreshToken
      ? sealAccountSecret(vault, account, 'refresh_token', plan.refreshToken)
      : null,
  };
}

/** `POST …/connected_accounts/{slug}`: imports tokens from another system (a migration path). 201; 409 if present. */
export async function importConnectedAccount(
  ctx: AppContext,
  environment: Environment,
  slug: string,
  owner: AccountOwner,
  input: ImportInput,
): Promise<ConnectedAccountTable> {
  const { db } = ctx.store;
  const integration = await requireIntegration(db, environment, slug, owner.ownerType);
  if (!parseJsonArray(integration.auth_methods).includes('oauth')) {
    throw new PipesError(
      'invalid_data_integration_state',
      'Tokens can only be imported into an OAuth integration.',
      {
        status: 422,
      },
    );
  }
  const now = ctx.clock.now();
  const plan = planImport(input, now);
  const existing = await selectAccount(db, integration, {
    owner,
    connectedAccountId: null,
    supportsMultipleConnections: false,
  });
  if (existing && input.connection_intent !== 'add') {
    throw new PipesError(
      'connected_account_exists',
      'A connected account already exists for this user, integration and organization. Update it with PUT instead.',
      { status: 409 },
    );
  }
  const id = newId('connectedAccount', now);
  const ref = { id, environment_id: environment.id };
  const row: ConnectedAccountTable = newAccountRow(
    {
      id,
      environment_id: environment.id,
      data_integration_id: integration.id,
      provider_slug: integration.slug,
      owner_type: owner.ownerType,
      user_id: owner.userId,
      organization_id: owner.organizationId,
      connection_role: existing ? 'standard' : 'compatibility',
      auth_method: 'oauth',
      state: plan.state,
      scopes: JSON.stringify(input.scopes ?? []),
      ...sealPlannedTokens(ctx.vault, ref, plan),
      expires_at: plan.expiresAt,
      expiry_kind: plan.expiryKind,
      last_refresh_outcome: 'imported',
      next_refresh_at: nextRefreshAt(plan.expiresAt, now, plan.refreshToken !== null, now),
      reauthorization_reason: plan.state === 'needs_reauthorization' ? 'imported_without_tokens' : null,
    },
    now,
  );
  await db.transaction().execute(async (trx) => {
    await insertAccountRow(trx, ctx.store.engine, row, 'A connected account already exists for this owner.');
    if (row.state === 'connected') {
      await recordAccountEvent(trx, row, 'pipes.connected_account.connected', now);
    }
  });
  return row;
}

/** `PUT …/connected_accounts/{slug}`: replaces tokens, scopes or state of the selected account. */
export async function updateConnectedAccount(
  ctx: AppContext,
  address: AccountAddress,
  input: ImportInput,
): Promise<ConnectedAccountTable> {
  const account = await getConnectedAccount(ctx, address);
  const now = ctx.clock.now();
  const tokensGiven =
    input.access_token !== undefined || input.refresh_token !== undefined || input.expires_at !== undefined;
  const plan = tokensGiven ? planImport(input, now) : null;
  const state = input.state ?? plan?.state ?? account.state;
  return ctx.store.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('connected_accounts')
      .set((eb) => ({
        ...(plan
          ? {
              ...sealPlannedTokens(ctx.vault, account, plan),
              expires_at: plan.expiresAt,
              expiry_kind: plan.expiryKind,
              last_refresh_at: now,
              // Pipes does not know when the application obtained these: the margin counts from the connection's
              // creation, and a 401 on them may be refreshed at once.
              token_issued_at: null,
              next_refresh_at: nextRefreshAt(
                plan.expiresAt,
                account.created_at,
                plan.refreshToken !== null,
                now,
              ),
              token_version: eb('token_version', '+', 1),
              generation: eb('generation', '+', 1),
              refresh_attempt_version: null,
              refresh_cooldown_until: null,
              refresh_failures: 0,
            }
          : {}),
        ...(input.scopes !== undefined ? { scopes: JSON.stringify(input.scopes) } : {}),
        state,
        reauthorization_reason:
          state === 'needs_reauthorization' ? (account.reauthorization_reason ?? 'set_by_api') : null,
        updated_at: now,
      }))
      .where('id', '=', account.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (updated.state !== account.state) {
      const event =
        updated.state === 'connected'
          ? 'pipes.connected_account.connected'
          : 'pipes.connected_account.reauthorization_needed';
      await recordAccountEvent(trx, updated, event, now);
    }
    return updated;
  });
}

/**
 * Disconnects: revokes the grant at the provider where it has a revocation endpoint (best effort, after the
 * commit, never blocking the delete), erases the row and its secrets, and records `disconnected` in the same
 * transaction. A refresh in flight cannot resurrect it: its compare-and-set finds no row.
 */
export async function deleteConnectedAccount(ctx: AppContext, address: AccountAddress): Promise<void> {
  const account = await getConnectedAccount(ctx, address);
  await disconnectAccount(ctx, account);
}

export async function disconnectAccount(ctx: AppContext, account: ConnectedAccountTable): Promise<void> {
  const now = ctx.clock.now();
  const deleted = await ctx.store.db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('connected_accounts').where('id', '=', account.id).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return false;
    await recordEvent(trx, {
      environmentId: account.environment_id,
      event: 'pipes.connected_account.disconnected',
      data: {
        ...connectedAccountEventPayload(account, 'disconnected'),
        updated_at: new Date(now).toISOString(),
      },
      organizationId: account.organization_id,
      connectedAccountId: account.id,
      now,
    });
    return true;
  });
  if (deleted) {
    revokeAtProvider(ctx, account).catch((error) =>
      ctx.log.warn({ err: error, account: account.id }, 'provider revocation failed (best effort)'),
    );
  }
}
