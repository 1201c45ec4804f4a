import { listEnabledIntegrations } from '../api/routes/data-providers/enabled-integrations.ts';
import type { AppContext } from '../context.ts';
import { toIso } from '../lib/time.ts';
import { parseStoredCustomProvider } from '../providers/custom-provider.ts';
import { describeIntegrationStatus } from '../providers/integration-status.ts';
import type { DataIntegrationTable } from '../store/schema.ts';
import { ownerKeyOf } from '../tokens/owner.ts';
import { parseJsonArray } from '../tokens/present-account.ts';
import type { WidgetSession } from './session.ts';

/** One row of the widget: what `GET /user_management/users/{id}/data_providers` says, trimmed to what it shows. */
export interface WidgetProvider {
  slug: string;
  name: string;
  description: string | null;
  /** https or data: image URL, or null (the widget then draws the initial). */
  icon_url: string | null;
  /** The widget connects OAuth providers; API-key and client-credential ones are connected by the application. */
  connectable: boolean;
  /** False when the integration cannot connect accounts right now (the operator's problem, not the user's). */
  available: boolean;
  connection: {
    id: string;
    state: string;
    needs_reauthorization: boolean;
    account_identifier: string | null;
    account_display_name: string | null;
    connected_at: string;
    updated_at: string;
  } | null;
}

/** Only icons that load under the widget's CSP (`img-src https: data:`) and cannot run script. */
function safeIcon(url: string | undefined | null): string | null {
  if (!url) return null;
  if (/^data:image\/(png|gif|jpeg|webp|svg\+xml)[;,]/i.test(url)) return url;
  return URL.canParse(url) && new URL(url).protocol === 'https:' ? url : null;
}

function labelOf(ctx: AppContext, integration: DataIntegrationTable) {
  if (integration.custom_provider !== null) {
    // A custom provider's definition has a name only; its integration's description is what the widget shows.
    const custom = parseStoredCustomProvider(integration.custom_provider);
    return { name: custom.name || integration.slug, description: null, icon: null };
  }
  const entry = ctx.catalog.get(integration.slug);
  return {
    name: entry?.name ?? integration.slug,
    description: entry?.description ?? null,
    icon: safeIcon(entry?.icon_url),
  };
}

/**
 * The environment's enabled user-owned integrations, with this user's connection of each (the compatibility one, as
 * the data-providers list shows without `supports_multiple_connections`). The integration's own description (set by
 * the operator for the widget) wins over the catalog's.
 */
export async function listWidgetProviders(
  ctx: AppContext,
  session: WidgetSession,
): Promise<WidgetProvider[]> {
  const integrations = await listEnabledIntegrations(ctx.store.db, session.environment.id, 'user');
  const accounts = await ctx.store.db
    .selectFrom('connected_accounts')
    .selectAll()
    .where('environment_id', '=', session.environment.id)
    .where('owner_key', '=', ownerKeyOf(session.owner))
    .where('connection_role', '=', 'compatibility')
    .execute();
  return integrations.map((integration) => {
    const label = labelOf(ctx, integration);
    const account = accounts.find((a) => a.data_integration_id === integration.id) ?? null;
    const oauth = parseJsonArray(integration.auth_methods).includes('oauth');
    return {
      slug: integration.slug,
      name: label.name,
      description: integration.description ?? label.description,
      icon_url: label.icon,
      connectable: oauth,
      available: describeIntegrationStatus(ctx, integration, session.environment).status === 'active',
      connection:
        account === null
          ? null
          : {
              id: account.id,
              state: account.state,
              needs_reauthorization: account.state === 'needs_reauthorization',
              account_identifier: account.account_identifier,
              account_display_name: account.account_display_name,
              connected_at: toIso(account.created_at),
              updated_at: toIso(account.updated_at),
            },
    };
  });
}
