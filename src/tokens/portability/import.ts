import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import { newId } from '../../lib/ids.ts';
import { SLUG_PATTERN } from '../../providers/catalog-schema.ts';
import { integrationSecretBinding } from '../../providers/resolve.ts';
import type { Environment } from '../../store/environments.ts';
import type { ConnectedAccountTable } from '../../store/schema.ts';
import { sealAccountSecret } from '../account-secrets.ts';
import { nextRefreshAt } from '../expiry.ts';
import { newAccountRow } from '../new-account-row.ts';
import { ownerKeyOf } from '../owner.ts';
import { BUNDLE_FORMAT, openRecord } from './bundle-crypto.ts';

const sealed = z.object({ iv: z.string(), tag: z.string(), ciphertext: z.string() });
const bundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  integrations: z.array(
    z.object({
      id: z.string(),
      slug: z.string().regex(SLUG_PATTERN),
      ownership: z.enum(['user', 'organization']),
      description: z.string().nullable(),
      enabled: z.boolean(),
      scopes: z.array(z.string()).nullable(),
      auth_methods: z.array(z.enum(['oauth', 'api_key', 'client_credentials'])),
      credentials_type: z.enum(['custom', 'shared', 'organization']).nullable(),
      client_id: z.string().nullable(),
      config: z.record(z.string(), z.string()),
      custom_provider: z.unknown().nullable(),
      secrets: sealed,
    }),
  ),
  accounts: z.array(
    z.object({
      id: z.string().regex(/^data_installation_[0-9A-Z]{26}$/),
      data_integration_id: z.string(),
      provider_slug: z.string(),
      owner_type: z.enum(['user', 'organization']),
      user_id: z.string().nullable(),
      organization_id: z.string().nullable(),
      connection_role: z.enum(['compatibility', 'standard']),
      auth_method: z.enum(['oauth', 'api_key', 'client_credentials']),
      state: z.enum(['connected', 'needs_reauthorization', 'disconnected']),
      scopes: z.array(z.string()),
      account_identifier: z.string().nullable(),
      account_display_name: z.string().nullable(),
      config: z.record(z.string(), z.string()),
      metadata: z.record(z.string(), z.string()),
      client_id: z.string().nullable(),
      expires_at: z.string().nullable(),
      expiry_kind: z.enum(['expires_in', 'never', 'unknown']),
      created_at: z.string(),
      secrets: sealed,
    }),
  ),
});

export interface ImportReport {
  integrationsCreated: number;
  integrationsKept: number;
  accountsImported: number;
  accountsSkipped: { id: string; reason: string }[];
}

/**
 * Loads an export bundle into an environment. Integrations that already exist (same slug and ownership) are kept as
 * they are; missing ones are created. Connections keep their ids, so applications that stored a
 * `connected_account_id` keep working; a connection whose id or owner slot is taken is skipped and reported. Every
 * secret is re-sealed under this installation's master key. Nothing is written unless the whole bundle decrypts.
 */
export async function importEnvironment(
  ctx: AppContext,
  environment: Environment,
  bundleJson: unknown,
  bundleKey: Buffer,
): Promise<ImportReport> {
  const parsed = bundleSchema.safeParse(bundleJson);
  if (!parsed.success) {
    throw new PipesError(
      'invalid_bundle',
      `Not a Pipes export bundle: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
      {
        status: 400,
      },
    );
  }
  const bundle = parsed.data;
  // Decrypt everything first: a wrong key or a tampered record aborts before any write.
  const integrationSecrets = new Map(
    bundle.integrations.map((i) => [i.id, openRecord(bundleKey, i.id, i.secrets)]),
  );
  const accountSecrets = new Map(bundle.accounts.map((a) => [a.id, openRecord(bundleKey, a.id, a.secrets)]));
  const report: ImportReport = {
    integrationsCreated: 0,
    integrationsKept: 0,
    accountsImported: 0,
    accountsSkipped: [],
  };
  const now = ctx.clock.now();

  await ctx.store.db.transaction().execute(async (trx) => {
    const integrationIds = new Map<string, string>();
    for (const item of bundle.integrations) {
      const existing = await trx
        .selectFrom('data_integrations')
        .select('id')
        .where('environment_id', '=', environment.id)
        .where('slug', '=', item.slug)
        .where('ownership', '=', item.ownership)
        .executeTakeFirst();
      if (existing) {
        integrationIds.set(item.id, existing.id);
        report.integrationsKept++;
        continue;
      }
      const id = newId('dataIntegration', now);
      const secret = integrationSecrets.get(item.id)?.client_secret;
      const row = { id, environment_id: environment.id };
      await trx
        .insertInto('data_integrations')
        .values({
          id,
          environment_id: environment.id,
          slug: item.slug,
          ownership: item.ownership,
          integration_key: newId('integrationKey', now),
          description: item.description,
          enabled: item.enabled ? 1 : 0,
          scopes: item.scopes === null ? null : JSON.stringify(item.scopes),
          auth_methods: JSON.stringify(item.auth_methods),
          credentials_type: item.credentials_type,
          client_id: item.client_id,
          client_secret: secret ? ctx.vault.seal(secret, integrationSecretBinding(row)) : null,
          client_secret_last4: secret ? secret.slice(-4) : null,
          config: JSON.stringify(item.config),
          custom_provider: item.custom_provider === null ? null : JSON.stringify(item.custom_provider),
          created_at: now,
          updated_at: now,
        })
        .execute();
      integrationIds.set(item.id, id);
      report.integrationsCreated++;
    }

    for (const item of bundle.accounts) {
      const integrationId = integrationIds.get(item.data_integration_id);
      if (!integrationId) {
        report.accountsSkipped.push({ id: item.id, reason: 'its integration is not in the bundle' });
        continue;
      }
      const owner = {
        ownerType: item.owner_type,
        userId: item.user_id,
        organizationId: item.organization_id,
      };
      const taken = await trx
        .selectFrom('connected_accounts')
        .select('id')
        .where((eb) => {
          const sameId = eb('id', '=', item.id);
          if (item.connection_role !== 'compatibility') return sameId;
          // A compatibility connection also needs its owner's compatibility slot free.
          return eb.or([
            sameId,
            eb.and([
              eb('data_integration_id', '=', integrationId),
              eb('owner_key', '=', ownerKeyOf(owner)),
              eb('connection_role', '=', 'compatibility'),
            ]),
          ]);
        })
        .executeTakeFirst();
      if (taken) {
        report.accountsSkipped.push({ id: item.id, reason: 'this id or owner slot is already in use' });
        continue;
      }
      const secrets = accountSecrets.get(item.id) ?? {};
      const ref = { id: item.id, environment_id: environment.id };
      const seal = (kind: 'access_token' | 'refresh_token' | 'api_key' | 'client_secret') =>
        secrets[kind] ? sealAccountSecret(ctx.vault, ref, kind, secrets[kind]) : null;
      const expiresAt = item.expires_at === null ? null : Date.parse(item.expires_at);
      const createdAt = Date.parse(item.created_at) || now;
      const row: ConnectedAccountTable = newAccountRow(
        {
          id: item.id,
          environment_id: environment.id,
          data_integration_id: integrationId,
          provider_slug: item.provider_slug,
          owner_type: item.owner_type,
          user_id: item.user_id,
          organization_id: item.organization_id,
          connection_role: item.connection_role,
          auth_method: item.auth_method,
          state: item.state === 'disconnected' ? 'needs_reauthorization' : item.state,
          scopes: JSON.stringify(item.scopes),
          account_identifier: item.account_identifier,
          account_display_name: item.account_display_name,
          config: JSON.stringify(item.config),
          metadata: JSON.stringify(item.metadata),
          access_token: seal('access_token'),
          refresh_token: seal('refresh_token'),
          api_key: seal('api_key'),
          api_key_last4: secrets.api_key ? secrets.api_key.slice(-4) : null,
          client_id: item.client_id,
          client_secret: seal('client_secret'),
          client_secret_last4: secrets.client_secret ? secrets.client_secret.slice(-4) : null,
          expires_at: expiresAt,
          expiry_kind: item.expiry_kind,
          last_refresh_outcome: 'imported',
          // The bundle does not say when its tokens were issued (`token_issued_at` stays null): the margin counts
          // from the connection's creation, as `freshUntil` does.
          next_refresh_at: nextRefreshAt(expiresAt, createdAt, secrets.refresh_token !== undefined, now),
          created_at: createdAt,
        },
        now,
      );
      await trx.insertInto('connected_accounts').values(row).execute();
      report.accountsImported++;
    }
  });
  return report;
}
