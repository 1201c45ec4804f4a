import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import type { Environment } from '../store/environments.ts';
import type { DataIntegrationTable } from '../store/schema.ts';
import type { ProviderEntry } from './catalog-schema.ts';
import { resolveIntegrationProvider, sharedClientFor } from './resolve.ts';

/**
 * Whether an integration can be used to connect accounts right now, and if not, why and what to do. `state` is the
 * WorkOS field (`valid | invalid`: is the configuration complete?); `status` and `status_reason` are Pipes
 * additions that also account for the `enabled` flag, so a dashboard can show one "Active" badge with a reason.
 */
export interface IntegrationStatus {
  state: 'valid' | 'invalid';
  status: 'active' | 'inactive';
  /** Null when active. Names the provider and the environment, and says what to do. */
  reason: string | null;
  /** Stable code of the reason (the error code the authorize endpoint answers with). */
  code: string | null;
}

type Ctx = Pick<AppContext, 'catalog' | 'sandbox' | 'config'>;
type Row = Pick<
  DataIntegrationTable,
  'slug' | 'custom_provider' | 'enabled' | 'auth_methods' | 'credentials_type' | 'client_id'
>;

export function describeIntegrationStatus(
  ctx: Ctx,
  integration: Row,
  env: Pick<Environment, 'name' | 'kind'>,
): IntegrationStatus {
  const invalid = (code: string, reason: string): IntegrationStatus => ({
    state: 'invalid',
    status: 'inactive',
    reason,
    code,
  });
  let provider: ProviderEntry;
  try {
    provider = resolveIntegrationProvider(ctx, integration);
  } catch (error) {
    if (error instanceof PipesError) return invalid(error.code, error.message);
    throw error;
  }
  const where = `${provider.name} (${integration.slug}) in the ${env.name} environment`;
  const methods = JSON.parse(integration.auth_methods) as string[];
  if (methods.includes('oauth')) {
    const problem = credentialsProblem(ctx, integration, env, provider, where);
    if (problem !== null) return invalid(problem.code, problem.reason);
  }
  if (integration.enabled !== 1) {
    return {
      state: 'valid',
      status: 'inactive',
      code: 'data_integration_disabled',
      reason: `${where} is disabled. Enable it with PUT /data-integrations/${integration.slug} {"enabled": true}.`,
    };
  }
  return { state: 'valid', status: 'active', reason: null, code: null };
}

function credentialsProblem(
  ctx: Ctx,
  integration: Row,
  env: Pick<Environment, 'name' | 'kind'>,
  provider: ProviderEntry,
  where: string,
): { code: string; reason: string } | null {
  const setCustom = `PUT /data-integrations/${integration.slug} {"credentials": {"type": "custom", "client_id": "…", "client_secret": "…"}}`;
  switch (integration.credentials_type) {
    case 'custom':
      return integration.client_id === null
        ? {
            code: 'credentials_missing',
            reason: `${where} has no OAuth client id. Set it with ${setCustom}.`,
          }
        : null;
    case 'shared':
      if (env.kind !== 'sandbox') {
        return {
          code: 'shared_credentials_unavailable',
          reason: `${where} uses shared credentials, which only sandbox environments may use. Use your own OAuth app: ${setCustom}.`,
        };
      }
      if (sharedClientFor(ctx, integration.slug) === null) {
        return {
          code: 'shared_credentials_unavailable',
          reason: `${where} uses shared credentials, but this installation has none for ${provider.name}. Add shared_credentials.${integration.slug} to the config file (PIPES_CONFIG_FILE), or use ${setCustom}.`,
        };
      }
      return null;
    default:
      return {
        code: 'credentials_missing',
        reason: `${where} has no OAuth credentials. Set them with ${setCustom}${
          env.kind === 'sandbox' && sharedClientFor(ctx, integration.slug) !== null
            ? ' or use the built-in shared ones: {"credentials": {"type": "shared"}}'
            : ''
        }.`,
      };
  }
}
