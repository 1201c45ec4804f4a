import type { AppContext } from '../../../context.ts';
import { toIso } from '../../../lib/time.ts';
import { parseStoredCustomProvider } from '../../../providers/custom-provider.ts';
import { describeIntegrationStatus } from '../../../providers/integration-status.ts';
import { sharedClientFor } from '../../../providers/resolve.ts';
import type { DataIntegrationRow } from '../../../store/data-integrations.ts';
import type { Environment } from '../../../store/environments.ts';

/** `${publicUrl}/data-integrations/{slug}/{dik_…}/callback`: the one redirect URI of this integration. */
export const redirectUriOf = (publicUrl: string, row: Pick<DataIntegrationRow, 'slug' | 'integration_key'>) =>
  `${publicUrl}/data-integrations/${row.slug}/${row.integration_key}/callback`;

/** The last 4 characters of a secret, only when the secret is long enough that they reveal little of it. */
export const redactedLast4 = (secret: string | null): string | null =>
  secret === null || secret.length < 12 ? null : secret.slice(-4);

function presentCredentials(ctx: AppContext, row: DataIntegrationRow) {
  if (row.credentials_type === 'custom') {
    return { type: 'custom', client_id: row.client_id, redacted_client_secret: row.client_secret_last4 };
  }
  if (row.credentials_type === 'shared') {
    // The shared client id is not a secret; its secret is never shown, not even redacted.
    return {
      type: 'shared',
      client_id: sharedClientFor(ctx, row.slug)?.clientId ?? null,
      redacted_client_secret: null,
    };
  }
  if (row.credentials_type === 'organization') {
    return { type: 'organization', client_id: null, redacted_client_secret: null };
  }
  return null;
}

/**
 * The §4.1 `data_integration` object. Pipes additions: `status` (`active | inactive`) and `status_reason` (why
 * not, and what to do). Never the client secret: only its last 4 characters.
 */
export function presentDataIntegration(
  ctx: AppContext,
  row: DataIntegrationRow,
  env: Pick<Environment, 'name' | 'kind'>,
) {
  const status = describeIntegrationStatus(ctx, row, env);
  const custom = row.custom_provider === null ? null : parseStoredCustomProvider(row.custom_provider);
  return {
    object: 'data_integration' as const,
    id: row.id,
    slug: row.slug,
    integration_type: custom === null ? row.slug : 'custom',
    ownership: row.ownership,
    description: row.description,
    enabled: row.enabled === 1,
    state: status.state,
    scopes: row.scopes === null ? null : (JSON.parse(row.scopes) as string[]),
    redirect_uri: redirectUriOf(ctx.config.publicUrl, row),
    auth_methods: JSON.parse(row.auth_methods) as string[],
    credentials: presentCredentials(ctx, row),
    installation: null,
    config: JSON.parse(row.config) as Record<string, string>,
    custom_provider: custom,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    status: status.status,
    status_reason: status.reason,
  };
}
