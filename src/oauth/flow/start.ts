import type { AppContext } from '../../context.ts';
import { type FieldError, PipesError, validationFailed } from '../../errors.ts';
import { newId } from '../../lib/ids.ts';
import type { ProviderEntry } from '../../providers/catalog-schema.ts';
import { checkConnectConfig } from '../../providers/connect-config.ts';
import { describeIntegrationStatus } from '../../providers/integration-status.ts';
import { resolveIntegrationProvider } from '../../providers/resolve.ts';
import { resolveTemplate } from '../../providers/templates.ts';
import type { DataIntegrationRow } from '../../store/data-integrations.ts';
import type { Environment } from '../../store/environments.ts';
import { type AccountOwner, ownerKeyOf } from '../../tokens/owner.ts';
import { FLOW_TTL_MS, type FlowRow, purgeOldFlows } from './flow-store.ts';
import { checkReturnTo } from './return-to.ts';
import { digest, newFlowSecret } from './secrets.ts';

export interface StartAuthorizationInput {
  owner: AccountOwner;
  /** The acting user (for an organization connection: the member who connects it). */
  actingUserId: string;
  returnTo: string | undefined;
  config: Record<string, string>;
  /** Session binding: the app's S256 challenge; the account is saved only when the app finishes with the verifier. */
  codeChallenge: string | undefined;
  connectionIntent: 'add' | undefined;
}

/**
 * `POST /data-integrations/{slug}/authorize`: records a connect flow and returns its link,
 * `${publicUrl}/data-integrations/{opaque}/authorize-redirect`. The link is 256 random bits (only its hash is
 * stored), valid for 10 minutes, usable once. Everything that can be checked now is checked now (integration
 * usable, return_to registered, config valid), so the user never lands on a dead end at the provider.
 */
export async function startAuthorization(
  ctx: AppContext,
  env: Pick<Environment, 'id' | 'name' | 'kind'>,
  integration: DataIntegrationRow,
  input: StartAuthorizationInput,
): Promise<{ url: string; authorizationId: string }> {
  const provider = requireUsable(ctx, env, integration);
  const returnTo = input.returnTo === undefined ? null : checkReturnTo(ctx.config, env, input.returnTo);
  if (input.codeChallenge !== undefined && returnTo === null) {
    throw new PipesError(
      'return_to_required',
      'Session binding (code_challenge) needs return_to: the authorization_id to finish with is sent there.',
      {
        status: 422,
        errors: [
          { field: 'return_to', code: 'required', message: 'return_to is required with code_challenge.' },
        ],
      },
    );
  }
  const config = mergeConnectConfig(
    provider,
    JSON.parse(integration.config) as Record<string, string>,
    input.config,
  );
  const now = ctx.clock.now();
  const link = newFlowSecret();
  const flow: FlowRow = {
    id: newId('flow', now),
    environment_id: env.id,
    data_integration_id: integration.id,
    provider_slug: integration.slug,
    link_hash: digest(link),
    state_hash: null,
    browser_hash: null,
    owner_type: input.owner.ownerType,
    user_id: input.owner.ownerType === 'organization' ? input.actingUserId : input.owner.userId,
    organization_id: input.owner.organizationId,
    connection_intent: input.connectionIntent ?? null,
    target_account_id: await reauthorizationTarget(ctx, integration, input),
    return_to: returnTo,
    config: JSON.stringify(config),
    redirect_uri: `${ctx.config.publicUrl}/data-integrations/${integration.slug}/${integration.integration_key}/callback`,
    issuer: provider.oauth?.issuer ?? null,
    code_verifier: null,
    app_code_challenge: input.codeChallenge ?? null,
    pending_result: null,
    status: 'created',
    result_account_id: null,
    expires_at: now + FLOW_TTL_MS,
    created_at: now,
    updated_at: now,
  };
  await ctx.store.db.insertInto('authorization_flows').values(flow).execute();
  await purgeOldFlows(ctx.store.db, now);
  return {
    url: `${ctx.config.publicUrl}/data-integrations/${link}/authorize-redirect`,
    authorizationId: flow.id,
  };
}

/** The provider, if this integration can connect accounts now; otherwise an error saying what to do. */
export function requireUsable(
  ctx: AppContext,
  env: Pick<Environment, 'name' | 'kind'>,
  integration: DataIntegrationRow,
): ProviderEntry {
  const methods = JSON.parse(integration.auth_methods) as string[];
  if (!methods.includes('oauth')) {
    throw new PipesError(
      'auth_method_mismatch',
      `${integration.slug} in the ${env.name} environment is set up for ${methods.join(', ')}, not OAuth: ` +
        `install credentials with PUT /data-integrations/${integration.slug}/${methods.includes('api_key') ? 'api-key' : 'client-credentials'} instead.`,
      { status: 422 },
    );
  }
  const status = describeIntegrationStatus(ctx, integration, env);
  if (status.status !== 'active') {
    throw new PipesError(
      status.code ?? 'data_integration_inactive',
      status.reason ?? 'The integration is inactive.',
      {
        status: 422,
      },
    );
  }
  return resolveIntegrationProvider(ctx, integration);
}

/**
 * Connect-time config on top of the integration's own. The integration's values are the operator's decision (a
 * pinned tenant host), so a connect request may add fields but not change those. Every URL template the flow needs
 * must resolve with the result.
 */
function mergeConnectConfig(
  provider: ProviderEntry,
  integrationConfig: Record<string, string>,
  requested: Record<string, string>,
): Record<string, string> {
  const errors: FieldError[] = [];
  checkConnectConfig(provider, requested, errors);
  for (const [name, value] of Object.entries(requested)) {
    if (Object.hasOwn(integrationConfig, name) && integrationConfig[name] !== value) {
      errors.push({
        field: `config.${name}`,
        code: 'not_allowed',
        message: `${name} is set by the integration.`,
      });
    }
  }
  if (errors.length > 0) throw validationFailed(errors);
  const merged = { ...integrationConfig, ...requested };
  for (const template of [provider.oauth?.authorization_url, provider.oauth?.token_url]) {
    if (template === undefined) continue;
    try {
      resolveTemplate(template, merged, provider.connect_config);
    } catch (error) {
      if (error instanceof PipesError && error.code === 'invalid_config' && error.errors !== undefined) {
        throw validationFailed(error.errors);
      }
      throw error;
    }
  }
  return merged;
}

/** Reauthorization reconnects the same account: the owner's compatibility connection when it needs it. */
async function reauthorizationTarget(
  ctx: AppContext,
  integration: DataIntegrationRow,
  input: StartAuthorizationInput,
): Promise<string | null> {
  if (input.connectionIntent === 'add') return null;
  const account = await ctx.store.db
    .selectFrom('connected_accounts')
    .select(['id', 'state'])
    .where('data_integration_id', '=', integration.id)
    .where('owner_key', '=', ownerKeyOf(input.owner))
    .where('connection_role', '=', 'compatibility')
    .executeTakeFirst();
  return account?.state === 'needs_reauthorization' ? account.id : null;
}
