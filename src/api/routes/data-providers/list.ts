import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { toIso } from '../../../lib/time.ts';
import type { ConnectedAccountTable, DataIntegrationTable } from '../../../store/schema.ts';
import { integrationScopes } from '../../../tokens/integration-scopes.ts';
import { ownerKeyOf } from '../../../tokens/owner.ts';
import { parseJsonArray, presentConnectedAccount } from '../../../tokens/present-account.ts';
import { readQuery } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { listEnabledIntegrations } from './enabled-integrations.ts';

const query = z.object({
  organization_id: z.string().min(1).max(200).optional(),
  supports_multiple_connections: z.enum(['true', 'false']).optional(),
});

/** Name and description of an integration's provider: the catalog entry, or the custom provider's definition. */
function providerLabel(ctx: AppContext, integration: DataIntegrationTable) {
  if (integration.custom_provider !== null) {
    const custom = JSON.parse(integration.custom_provider) as { name?: string; description?: string };
    return { name: custom.name ?? integration.slug, description: custom.description ?? null };
  }
  const entry = ctx.catalog.get(integration.slug);
  return { name: entry?.name ?? integration.slug, description: entry?.description ?? null };
}

function presentListedAccount(account: ConnectedAccountTable, ownerType: 'user' | 'organization') {
  const body = presentConnectedAccount(account);
  // Deprecated aliases that the spec still marks required.
  return {
    ...body,
    userland_user_id: ownerType === 'user' ? account.user_id : null,
    userlandUserId: ownerType === 'user' ? account.user_id : null,
    organizationId: account.organization_id,
    createdAt: body.created_at,
    updatedAt: body.updated_at,
  };
}

/**
 * `GET /user_management/users/{user_id}/data_providers` (§3.8) and `GET /organizations/{id}/data_providers` (§3.7):
 * the environment's enabled providers with the owner's connection state — what a connect widget shows. Not
 * paginated. The camelCase duplicates are deprecated aliases the spec still requires.
 */
export function listDataProvidersRoute(ctx: AppContext, ownerType: 'user' | 'organization') {
  return async (c: Context<ApiEnv>) => {
    const q = readQuery(c, query);
    const environment = c.get('auth').environment;
    const owner =
      ownerType === 'user'
        ? { ownerType, userId: c.req.param('user_id') ?? '', organizationId: q.organization_id ?? null }
        : { ownerType, userId: null, organizationId: c.req.param('organization_id') ?? '' };
    const multiple = q.supports_multiple_connections === 'true';
    const integrations = await listEnabledIntegrations(ctx.store.db, environment.id, ownerType);
    const accounts = await ctx.store.db
      .selectFrom('connected_accounts')
      .selectAll()
      .where('environment_id', '=', environment.id)
      .where('owner_key', '=', ownerKeyOf(owner))
      .orderBy('id')
      .execute();
    const data = integrations.map((integration) => {
      const mine = accounts.filter((a) => a.data_integration_id === integration.id);
      const compatibility = mine.find((a) => a.connection_role === 'compatibility') ?? null;
      const methods = parseJsonArray(integration.auth_methods);
      const credentialsType = methods.includes('oauth') ? 'oauth2' : (methods[0] ?? 'oauth2');
      const created = toIso(integration.created_at);
      const updated = toIso(integration.updated_at);
      return {
        object: 'data_provider',
        id: integration.id,
        ...providerLabel(ctx, integration),
        ...(integration.description ? { description: integration.description } : {}),
        slug: integration.slug,
        integration_type: integration.slug,
        credentials_type: credentialsType,
        scopes: integrationScopes(ctx, integration),
        auth_methods: methods,
        connection_owner: ownerType,
        ownership: ownerType === 'user' ? 'userland_user' : 'organization',
        created_at: created,
        updated_at: updated,
        integrationType: integration.slug,
        credentialsType,
        createdAt: created,
        updatedAt: updated,
        connected_account: compatibility ? presentListedAccount(compatibility, ownerType) : null,
        ...(multiple ? { connected_accounts: mine.map((a) => presentListedAccount(a, ownerType)) } : {}),
      };
    });
    return c.json({ object: 'list', data });
  };
}
