import type { AppContext } from '../context.ts';
import type { DataIntegrationTable } from '../store/schema.ts';
import { parseJsonArray } from './present-account.ts';

/** The scopes an integration asks for: its own list when set, otherwise the provider's default scopes. */
export function integrationScopes(
  ctx: Pick<AppContext, 'catalog'>,
  integration: DataIntegrationTable,
): string[] {
  if (integration.scopes !== null) return parseJsonArray(integration.scopes);
  if (integration.custom_provider !== null) return [];
  return ctx.catalog.get(integration.slug)?.oauth?.default_scopes ?? [];
}
