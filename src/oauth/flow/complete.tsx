import type { Context } from 'hono';
import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import type { ProviderEntry } from '../../providers/catalog-schema.ts';
import { compileFieldPattern } from '../../providers/templates.ts';
import type { DataIntegrationRow } from '../../store/data-integrations.ts';
import { saveOAuthGrant } from '../../tokens/save-grant.ts';
import type { AccountIdentity } from '../account-identity.ts';
import type { ProviderTokenSet } from '../types.ts';
import { FLOW_TTL_MS, type FlowRow, pendingResultBinding, setFlowStatus } from './flow-store.ts';
import { DonePage, renderPage } from './pages.tsx';
import { failFlow, redirectToApp } from './respond.tsx';

/** What a successful code exchange produced, before it is saved. */
export interface GrantResult {
  tokens: ProviderTokenSet;
  identity: AccountIdentity;
  callbackMetadata: Record<string, string>;
}

/**
 * After a successful exchange: saves the grant (and its `connected` event) and sends the user back with
 * `status=connected&provider=…&connected_account_id=…`. With session binding the result is sealed into the flow
 * instead, and the user goes back with `status=pending&authorization_id=…`; the account exists only once the app
 * finishes with its verifier.
 */
export async function completeGrant(
  ctx: AppContext,
  c: Context,
  flow: FlowRow,
  integration: DataIntegrationRow,
  provider: ProviderEntry,
  result: GrantResult,
): Promise<Response> {
  const now = ctx.clock.now();
  if (flow.app_code_challenge !== null && flow.return_to !== null) {
    const sealed = ctx.vault.seal(JSON.stringify(result), pendingResultBinding(flow));
    await setFlowStatus(ctx.store.db, flow.id, 'awaiting_finish', now, {
      pending_result: sealed,
      expires_at: now + FLOW_TTL_MS,
    });
    ctx.log.info(
      { flowId: flow.id, provider: flow.provider_slug },
      "connect flow awaiting the app's finish call",
    );
    return redirectToApp(c, flow.return_to, {
      status: 'pending',
      provider: flow.provider_slug,
      authorization_id: flow.id,
    });
  }
  let accountId: string;
  try {
    accountId = await saveGrant(ctx, flow, integration, provider, result);
  } catch (error) {
    if (!(error instanceof PipesError)) throw error;
    return failFlow(ctx, c, flow, {
      errorCode: error.code,
      title: `${provider.name} was not connected`,
      message:
        error.code === 'connected_account_not_found'
          ? 'The connection to reauthorize no longer exists. Start again.'
          : error.message,
      providerError: null,
      providerErrorDescription: null,
    });
  }
  if (flow.return_to === null) {
    return renderPage(
      c,
      <DonePage providerName={provider.name} appName={ctx.config.appName ?? 'the application'} />,
    );
  }
  return redirectToApp(c, flow.return_to, {
    status: 'connected',
    provider: flow.provider_slug,
    connected_account_id: accountId,
  });
}

/** Saves the grant with `saveOAuthGrant` and marks the flow completed, in one transaction. */
export async function saveGrant(
  ctx: AppContext,
  flow: FlowRow,
  integration: DataIntegrationRow,
  provider: ProviderEntry,
  result: GrantResult,
): Promise<string> {
  const now = ctx.clock.now();
  const o = provider.oauth!;
  const metadata = { ...result.tokens.metadata, ...result.callbackMetadata, ...result.identity.metadata };
  const scopes =
    integration.scopes === null ? [...o.default_scopes] : (JSON.parse(integration.scopes) as string[]);
  const accountId = await ctx.store.db.transaction().execute(async (trx) => {
    const saved = await saveOAuthGrant(trx, ctx, {
      environmentId: flow.environment_id,
      integration: { id: integration.id, slug: integration.slug, scopes },
      owner: {
        ownerType: flow.owner_type,
        userId: flow.owner_type === 'organization' ? null : flow.user_id,
        organizationId: flow.organization_id,
      },
      tokens: result.tokens,
      expiry: {
        kind: o.token_response.expiry,
        defaultLifetimeSeconds: o.token_response.default_lifetime_seconds ?? null,
      },
      accountIdentifier: result.identity.identifier,
      accountDisplayName: result.identity.displayName,
      config: withAutomatedConfig(provider, JSON.parse(flow.config) as Record<string, string>, metadata),
      metadata,
      targetAccountId: flow.target_account_id,
      connectionIntent: flow.connection_intent === 'add' ? 'add' : null,
      now,
    });
    await setFlowStatus(trx, flow.id, 'completed', now, {
      result_account_id: saved.accountId,
      pending_result: null,
    });
    return saved.accountId;
  });
  ctx.log.info({ flowId: flow.id, provider: flow.provider_slug, accountId }, 'account connected');
  return accountId;
}

/** Fills automated config fields from connection metadata (`metadata_to_config`), only with values their pattern allows. */
function withAutomatedConfig(
  provider: ProviderEntry,
  config: Record<string, string>,
  metadata: Record<string, string>,
): Record<string, string> {
  const out = { ...config };
  for (const [field, path] of Object.entries(provider.metadata_to_config)) {
    const value = metadata[path];
    const spec = provider.connect_config.find((f) => f.name === field);
    if (value !== undefined && spec !== undefined && compileFieldPattern(spec.pattern).test(value))
      out[field] = value;
  }
  return out;
}
