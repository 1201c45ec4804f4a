import { redirectUriOf } from '../api/routes/data-integrations/present.ts';
import type { AppContext } from '../context.ts';
import type { ProviderEntry } from '../providers/catalog-schema.ts';
import { customProviderEntry, parseStoredCustomProvider } from '../providers/custom-provider.ts';
import { describeIntegrationStatus, type IntegrationStatus } from '../providers/integration-status.ts';
import { sharedClientFor } from '../providers/resolve.ts';
import { type DataIntegrationRow, listEnvironmentIntegrations } from '../store/data-integrations.ts';
import type { Environment } from '../store/environments.ts';

/** One provider as the dashboard shows it: the catalog entry (or custom definition) and its integration, if any. */
export interface ProviderItem {
  entry: ProviderEntry;
  custom: boolean;
  /** The user-owned root, else the organization-owned one. */
  integration: DataIntegrationRow | undefined;
  status: IntegrationStatus | null;
}

/** Every provider this environment can use: the catalog (the sandbox only in sandbox environments) and its custom ones. */
export async function listProviderItems(ctx: AppContext, env: Environment): Promise<ProviderItem[]> {
  const rows = await listEnvironmentIntegrations(ctx.store.db, env.id);
  const bySlug = new Map<string, DataIntegrationRow>();
  for (const row of rows) if (!bySlug.has(row.slug) || row.ownership === 'user') bySlug.set(row.slug, row);
  const items: ProviderItem[] = [];
  for (const entry of ctx.catalog.list()) {
    if (entry.slug === 'sandbox' && env.kind !== 'sandbox' && !bySlug.has('sandbox')) continue;
    items.push(itemOf(ctx, env, entry, false, bySlug.get(entry.slug)));
  }
  for (const row of bySlug.values()) {
    if (row.custom_provider === null || ctx.catalog.has(row.slug)) continue;
    const entry = customProviderEntry(row.slug, parseStoredCustomProvider(row.custom_provider));
    items.push(itemOf(ctx, env, entry, true, row));
  }
  return items.sort((a, b) => a.entry.name.localeCompare(b.entry.name));
}

function itemOf(
  ctx: AppContext,
  env: Environment,
  entry: ProviderEntry,
  custom: boolean,
  integration: DataIntegrationRow | undefined,
): ProviderItem {
  return {
    entry,
    custom,
    integration,
    status: integration === undefined ? null : describeIntegrationStatus(ctx, integration, env),
  };
}

/** Whether shared credentials can be chosen here, and if not, why (shown beside the disabled choice). */
export function sharedCredentialsAvailability(
  ctx: AppContext,
  env: Environment,
  item: Pick<ProviderItem, 'entry' | 'custom'>,
): { available: boolean; reason: string | null } {
  if (item.custom) {
    return { available: false, reason: 'Custom providers always use your own OAuth app.' };
  }
  if (env.kind !== 'sandbox') {
    return {
      available: false,
      reason: `Shared credentials are only available in sandbox environments; ${env.name} is a production environment, so it uses your own OAuth app.`,
    };
  }
  if (sharedClientFor(ctx, item.entry.slug) === null) {
    return {
      available: false,
      reason: `This installation has no shared credentials for ${item.entry.name}: add shared_credentials.${item.entry.slug} to the config file (PIPES_CONFIG_FILE), or use your own OAuth app.`,
    };
  }
  return { available: true, reason: null };
}

export const redirectUriFor = (ctx: AppContext, row: DataIntegrationRow) =>
  redirectUriOf(ctx.config.publicUrl, row);

/** The scopes the integration asks for: its own list, or the provider's defaults. */
export function selectedScopes(entry: ProviderEntry, row: DataIntegrationRow | undefined): string[] {
  if (row?.scopes != null) return JSON.parse(row.scopes) as string[];
  return [...(entry.oauth?.default_scopes ?? [])];
}

/** Case-insensitive search over name, slug, description and categories. */
export function matchesQuery(item: ProviderItem, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === '') return true;
  const { entry } = item;
  return [entry.name, entry.slug, entry.description, ...entry.categories].some((text) =>
    text.toLowerCase().includes(q),
  );
}
