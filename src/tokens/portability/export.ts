import type { AppContext } from '../../context.ts';
import { integrationSecretBinding } from '../../providers/resolve.ts';
import type { Environment } from '../../store/environments.ts';
import { openAccountSecret } from '../account-secrets.ts';
import { BUNDLE_FORMAT, sealRecord } from './bundle-crypto.ts';

/**
 * Writes every integration and connection of an environment into a portable bundle: plain metadata, and each
 * record's secrets (tokens, API keys, client secrets) encrypted under the bundle key. Users are never locked in:
 * `pipes import` takes the bundle, and docs/export.md describes it for other systems.
 */
export async function exportEnvironment(ctx: AppContext, environment: Environment, bundleKey: Buffer) {
  const { db } = ctx.store;
  const integrations = await db
    .selectFrom('data_integrations')
    .selectAll()
    .where('environment_id', '=', environment.id)
    .orderBy('id')
    .execute();
  const accounts = await db
    .selectFrom('connected_accounts')
    .selectAll()
    .where('environment_id', '=', environment.id)
    .orderBy('id')
    .execute();
  return {
    format: BUNDLE_FORMAT,
    environment: environment.name,
    exported_at: new Date(ctx.clock.now()).toISOString(),
    cipher: 'AES-256-GCM; AAD "pipes.export.v1|<record id>"; secrets are a JSON object',
    integrations: integrations.map((row) => {
      const secrets: Record<string, string> = {};
      if (row.client_secret)
        secrets.client_secret = ctx.vault.open(row.client_secret, integrationSecretBinding(row));
      return {
        id: row.id,
        slug: row.slug,
        ownership: row.ownership,
        description: row.description,
        enabled: row.enabled === 1,
        scopes: row.scopes === null ? null : (JSON.parse(row.scopes) as string[]),
        auth_methods: JSON.parse(row.auth_methods) as string[],
        credentials_type: row.credentials_type,
        client_id: row.client_id,
        config: JSON.parse(row.config) as Record<string, string>,
        custom_provider: row.custom_provider === null ? null : (JSON.parse(row.custom_provider) as unknown),
        secrets: sealRecord(bundleKey, row.id, secrets),
      };
    }),
    accounts: accounts.map((row) => {
      const secrets: Record<string, string> = {};
      for (const kind of ['access_token', 'refresh_token', 'api_key', 'client_secret'] as const) {
        const value = openAccountSecret(ctx.vault, row, kind, row[kind]);
        if (value !== null) secrets[kind] = value;
      }
      return {
        id: row.id,
        data_integration_id: row.data_integration_id,
        provider_slug: row.provider_slug,
        owner_type: row.owner_type,
        user_id: row.user_id,
        organization_id: row.organization_id,
        connection_role: row.connection_role,
        auth_method: row.auth_method,
        state: row.state,
        scopes: JSON.parse(row.scopes) as string[],
        account_identifier: row.account_identifier,
        account_display_name: row.account_display_name,
        config: JSON.parse(row.config) as Record<string, string>,
        metadata: JSON.parse(row.metadata) as Record<string, string>,
        client_id: row.client_id,
        expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
        expiry_kind: row.expiry_kind,
        created_at: new Date(row.created_at).toISOString(),
        secrets: sealRecord(bundleKey, row.id, secrets),
      };
    }),
  };
}

export type ExportBundle = Awaited<ReturnType<typeof exportEnvironment>>;
