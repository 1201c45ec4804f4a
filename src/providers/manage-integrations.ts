import { z } from 'zod';
import { duplicateIntegration } from '../api/routes/data-integrations/conflict.ts';
import { redactedLast4 } from '../api/routes/data-integrations/present.ts';
import {
  authMethodsField,
  checkAuthMethods,
  checkConfig,
  checkCredentials,
  checkCustomEndpoints,
  checkScopes,
  configField,
  credentialsField,
  parseNested,
  scopesField,
  throwIfErrors,
} from '../api/routes/data-integrations/validate.ts';
import type { AppContext } from '../context.ts';
import type { FieldError } from '../errors.ts';
import { recordEvent } from '../events/record-event.ts';
import { newId } from '../lib/ids.ts';
import {
  type DataIntegrationRow,
  findCustomDefinition,
  findDataIntegration,
} from '../store/data-integrations.ts';
import type { Environment } from '../store/environments.ts';
import type { AuthMethod, DataIntegrationTable } from '../store/schema.ts';
import { connectedAccountEventPayload } from '../tokens/present-account.ts';
import type { ProviderEntry } from './catalog-schema.ts';
import { SLUG_PATTERN } from './catalog-schema.ts';
import {
  type CustomProviderDefinition,
  customProviderCreateSchema,
  customProviderEntry,
  customProviderUpdateSchema,
  normaliseCustomProvider,
  parseStoredCustomProvider,
} from './custom-provider.ts';
import { integrationSecretBinding, resolveIntegrationProvider } from './resolve.ts';

/**
 * Creating, changing and removing data integrations: the rules behind `POST/PUT/DELETE /data-integrations`, shared
 * by the API routes and the operator dashboard so that both apply exactly the same checks.
 */

export const createIntegrationSchema = z
  .object({
    provider: z
      .string()
      .min(1)
      .max(64)
      .regex(SLUG_PATTERN, 'must be lowercase letters and digits, words joined by single hyphens'),
    ownership: z.enum(['user', 'organization']).default('user'),
    description: z.string().trim().max(500).nullable().optional(),
    enabled: z.boolean().optional(),
    scopes: scopesField.nullable().optional(),
    auth_methods: authMethodsField.optional(),
    config: configField.optional(),
    credentials: credentialsField.nullable().optional(),
    api_key: z.unknown().optional(),
    // Validated below with rules that depend on the configuration (http allowed or not).
    custom_provider: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type CreateIntegrationInput = z.infer<typeof createIntegrationSchema>;

export const updateIntegrationSchema = z
  .object({
    description: z.string().trim().max(500).nullable().optional(),
    enabled: z.boolean().optional(),
    /** null resets to the provider's default scopes. */
    scopes: scopesField.nullable().optional(),
    config: configField.optional(),
    /** Replaces (rotates) the OAuth client; null removes it. */
    credentials: credentialsField.nullable().optional(),
    api_key: z.unknown().optional(),
    custom_provider: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type UpdateIntegrationInput = z.infer<typeof updateIntegrationSchema>;

/**
 * Configures a catalog provider, or defines a custom one (`custom_provider`), in `env`. Never contacts the provider.
 * The client secret is sealed; only its last 4 are kept in clear. Field problems are one 422 listing them all.
 */
export async function createDataIntegration(
  ctx: AppContext,
  env: Environment,
  body: CreateIntegrationInput,
): Promise<DataIntegrationRow> {
  const slug = body.provider;
  const errors: FieldError[] = [];

  let custom: CustomProviderDefinition | null = null;
  let entry: ProviderEntry | undefined;
  if (body.custom_provider !== undefined) {
    if (ctx.catalog.has(slug)) {
      errors.push({
        field: 'provider',
        code: 'reserved_slug',
        message: `"${slug}" is a built-in provider; a custom provider needs another slug.`,
      });
    }
    const schema = customProviderCreateSchema({ allowHttp: ctx.config.egress.allowInsecureHttp });
    const parsed = parseNested(schema, body.custom_provider, 'custom_provider', errors);
    if (parsed !== undefined) {
      custom = normaliseCustomProvider(parsed);
      checkCustomEndpoints(ctx, custom, errors);
    }
  } else {
    entry = ctx.catalog.get(slug);
    const stored = entry === undefined ? await findCustomDefinition(ctx.store.db, env.id, slug) : null;
    if (stored !== null) custom = parseStoredCustomProvider(stored);
    else if (entry === undefined) {
      errors.push({
        field: 'provider',
        code: 'unknown_provider',
        message: `"${slug}" is not a provider in this installation's catalog. Use a catalog slug (providers/*.json), or define a custom provider with custom_provider.`,
      });
    }
  }
  if (custom !== null) entry = customProviderEntry(slug, custom);
  if (slug === 'sandbox' && custom === null && env.kind !== 'sandbox') {
    errors.push({
      field: 'provider',
      code: 'sandbox_provider_unavailable',
      message: `The built-in sandbox provider is only available in sandbox environments; ${env.name} is a production environment.`,
    });
  }
  if (body.api_key !== undefined) {
    errors.push({
      field: 'api_key',
      code: 'not_supported',
      message:
        'Installing an API key while creating the integration is not supported; use PUT /data-integrations/{slug}/api-key afterwards.',
    });
  }
  throwIfErrors(errors);
  // Every path that leaves `entry` undefined has recorded a field error above.
  const provider = entry!;

  const methods: AuthMethod[] = body.auth_methods ?? [
    provider.auth_methods.includes('oauth') ? 'oauth' : provider.auth_methods[0]!,
  ];
  checkAuthMethods(provider, methods, errors);
  const scopes = body.scopes ?? null;
  checkScopes(custom, scopes, errors);
  const config = body.config ?? {};
  checkConfig(provider, config, errors);
  const credentials = checkCredentials(
    ctx,
    env,
    slug,
    provider,
    custom,
    methods,
    body.credentials ?? null,
    errors,
  );
  throwIfErrors(errors);

  if ((await findDataIntegration(ctx.store.db, env.id, slug, body.ownership)) !== undefined) {
    throw duplicateIntegration(slug);
  }
  const now = ctx.clock.now();
  const id = newId('dataIntegration', now);
  const secret = credentials?.clientSecret ?? null;
  const row: DataIntegrationTable = {
    id,
    environment_id: env.id,
    slug,
    ownership: body.ownership,
    integration_key: newId('integrationKey', now),
    description: body.description ?? null,
    enabled: body.enabled === true ? 1 : 0,
    scopes: scopes === null ? null : JSON.stringify(scopes),
    auth_methods: JSON.stringify(methods),
    credentials_type: credentials?.credentials_type ?? null,
    client_id: credentials?.client_id ?? null,
    client_secret:
      secret === null
        ? null
        : ctx.vault.seal(secret, integrationSecretBinding({ id, environment_id: env.id })),
    client_secret_last4: redactedLast4(secret),
    config: JSON.stringify(config),
    custom_provider: custom === null ? null : JSON.stringify(custom),
    created_at: now,
    updated_at: now,
  };
  try {
    await ctx.store.db.insertInto('data_integrations').values(row).execute();
  } catch (error) {
    if (ctx.store.engine.isUniqueViolation(error)) throw duplicateIntegration(slug);
    throw error;
  }
  return row;
}

type Changes = Partial<Omit<DataIntegrationTable, 'id' | 'environment_id' | 'slug' | 'ownership'>>;

/**
 * Changes the fields given and keeps the others. A `custom_provider` patch is merged onto the stored definition and
 * the result validated as a whole. Never contacts the provider.
 */
export async function updateDataIntegration(
  ctx: AppContext,
  env: Environment,
  row: DataIntegrationRow,
  body: UpdateIntegrationInput,
): Promise<DataIntegrationRow> {
  const errors: FieldError[] = [];
  const changes: Changes = {};

  let custom: CustomProviderDefinition | null =
    row.custom_provider === null ? null : parseStoredCustomProvider(row.custom_provider);
  if (body.custom_provider !== undefined) {
    if (custom === null) {
      errors.push({
        field: 'custom_provider',
        code: 'not_allowed',
        message: `"${row.slug}" is a built-in provider; only custom providers take custom_provider.`,
      });
    } else {
      const rules = { allowHttp: ctx.config.egress.allowInsecureHttp };
      const patch = parseNested(
        customProviderUpdateSchema(rules),
        body.custom_provider,
        'custom_provider',
        errors,
      );
      if (patch !== undefined) {
        const merged = normaliseCustomProvider(patch, custom);
        // The merged whole must still be a valid definition (e.g. both endpoints or neither).
        if (parseNested(customProviderCreateSchema(rules), merged, 'custom_provider', errors) !== undefined) {
          checkCustomEndpoints(ctx, merged, errors);
          custom = merged;
          changes.custom_provider = JSON.stringify(merged);
        }
      }
    }
  }
  if (body.api_key !== undefined) {
    errors.push({
      field: 'api_key',
      code: 'not_supported',
      message: 'Install API keys with PUT /data-integrations/{slug}/api-key.',
    });
  }
  throwIfErrors(errors);

  const entry =
    custom !== null ? customProviderEntry(row.slug, custom) : resolveIntegrationProvider(ctx, row);
  const methods = JSON.parse(row.auth_methods) as AuthMethod[];
  if (body.description !== undefined) changes.description = body.description;
  if (body.enabled !== undefined) changes.enabled = body.enabled ? 1 : 0;
  const scopes =
    body.scopes !== undefined
      ? body.scopes
      : row.scopes === null
        ? null
        : (JSON.parse(row.scopes) as string[]);
  if (body.scopes !== undefined || body.custom_provider !== undefined) checkScopes(custom, scopes, errors);
  if (body.scopes !== undefined) changes.scopes = scopes === null ? null : JSON.stringify(scopes);
  if (body.config !== undefined) {
    checkConfig(entry, body.config, errors);
    changes.config = JSON.stringify(body.config);
  }
  if (body.credentials !== undefined) {
    const columns = checkCredentials(ctx, env, row.slug, entry, custom, methods, body.credentials, errors);
    if (columns !== undefined) {
      const secret = columns.clientSecret;
      changes.credentials_type = columns.credentials_type;
      changes.client_id = columns.client_id;
      changes.client_secret = secret === null ? null : ctx.vault.seal(secret, integrationSecretBinding(row));
      changes.client_secret_last4 = redactedLast4(secret);
    }
  }
  throwIfErrors(errors);

  changes.updated_at = ctx.clock.now();
  return ctx.store.db
    .updateTable('data_integrations')
    .set(changes)
    .where('id', '=', row.id)
    .where('environment_id', '=', env.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Removes the integration with every connection made through it (their sealed tokens go with the rows; nothing is
 * revoked at the provider, as with WorkOS) and its pending connect flows. One `disconnected` event per removed
 * connection, committed with the deletion.
 */
export async function deleteDataIntegration(ctx: AppContext, row: DataIntegrationRow): Promise<void> {
  const now = ctx.clock.now();
  await ctx.store.db.transaction().execute(async (trx) => {
    const accounts = await trx
      .deleteFrom('connected_accounts')
      .where('data_integration_id', '=', row.id)
      .where('environment_id', '=', row.environment_id)
      .returningAll()
      .execute();
    for (const account of accounts) {
      await recordEvent(trx, {
        environmentId: row.environment_id,
        event: 'pipes.connected_account.disconnected',
        data: connectedAccountEventPayload({ ...account, updated_at: now }, 'disconnected'),
        organizationId: account.organization_id,
        connectedAccountId: account.id,
        now,
      });
    }
    await trx.deleteFrom('authorization_flows').where('data_integration_id', '=', row.id).execute();
    await trx.deleteFrom('data_integrations').where('id', '=', row.id).execute();
  });
}
