import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { toIsoOrNull } from '../lib/time.ts';
import type { Environment } from '../store/environments.ts';
import type { ConnectedAccountTable, DataIntegrationTable } from '../store/schema.ts';
import type { StampedReads } from '../store/stamped-cache.ts';
import { type AccountOwner, ownerFromRequest, ownerKeyOf } from './owner.ts';
import { parseJsonArray, parseJsonObject } from './present-account.ts';
import { requireIntegration, selectAccount } from './select-account.ts';

/** The selection fields shared by `/token`, `/credentials` and the relay. */
export interface VendRequest {
  user_id?: string | null | undefined;
  organization_id?: string | null | undefined;
  connected_account_id?: string | null | undefined;
  connection_owner?: 'user' | 'organization' | null | undefined;
  supports_multiple_connections?: boolean | null | undefined;
}

export type VendOutcome =
  | { active: false; error: 'not_installed' | 'needs_reauthorization' }
  | {
      active: true;
      account: ConnectedAccountTable;
      integration: DataIntegrationTable;
      value: string;
      /** Until when this same credential would be vended again without a refresh (refresher.freshUntil). */
      freshUntil: number;
    };

/** Scopes the integration asks for: its own list, or the provider's defaults. */
export type IntegrationScopes = (integration: DataIntegrationTable) => string[];

/**
 * Finds the connection a request selects and returns a usable credential: a fresh access token (refreshed first
 * when it is expired or about to be), an API key, or a client-credentials token. Inactive outcomes are data, not
 * errors: WorkOS answers them with 200 `{active:false, error}`.
 */
export async function vendCredential(
  ctx: AppContext,
  environment: Environment,
  slug: string,
  request: VendRequest,
  options: {
    onlyOAuth?: boolean;
    /** The caller's snapshot when it has already looked something up for this request (one stamp per request). */
    reads?: StampedReads;
  } = {},
): Promise<VendOutcome> {
  const owner: AccountOwner = ownerFromRequest({
    userId: request.user_id,
    organizationId: request.organization_id,
    connectionOwner: request.connection_owner,
  });
  // Both lookups are served from memory while the database is unchanged (StampedReadCache: never stale).
  const reads = options.reads ?? ctx.tokens.reads.snapshot();
  const integration = await reads.read(`integration\0${environment.id}\0${slug}\0${owner.ownerType}`, () =>
    requireIntegration(ctx.store.db, environment, slug, owner.ownerType),
  );
  const selection = {
    owner,
    connectedAccountId: request.connected_account_id ?? null,
    supportsMultipleConnections: request.supports_multiple_connections === true,
  };
  const account = await reads.read(
    `account\0${integration.id}\0${ownerKeyOf(owner)}\0${selection.connectedAccountId ?? ''}\0${selection.supportsMultipleConnections}`,
    () => selectAccount(ctx.store.db, integration, selection),
  );
  if (!account) return { active: false, error: 'not_installed' };
  // `/token` serves OAuth connections only: say so before touching any secret (§3.4, 422 auth_method_mismatch).
  if (options.onlyOAuth && account.auth_method !== 'oauth') throw authMethodMismatch(account.auth_method);
  if (account.state !== 'connected') return { active: false, error: 'needs_reauthorization' };
  if (account.auth_method === 'api_key') {
    const value = ctx.tokens.secrets.open(ctx.vault, account, 'api_key', account.api_key);
    if (value === null) return { active: false, error: 'needs_reauthorization' };
    return { active: true, account, integration, value, freshUntil: Number.POSITIVE_INFINITY };
  }
  const fresh = await ctx.tokens.refresher.ensureFresh(account);
  if (fresh.kind !== 'fresh') return { active: false, error: 'needs_reauthorization' };
  return {
    active: true,
    account: fresh.row,
    integration,
    value: fresh.accessToken,
    freshUntil: ctx.tokens.refresher.freshUntil(fresh.row),
  };
}

export function authMethodMismatch(method: string): PipesError {
  return new PipesError(
    'auth_method_mismatch',
    `This installation uses ${method} authentication. Use the POST /data-integrations/:slug/credentials endpoint to retrieve its credential.`,
    { status: 422 },
  );
}

/** Granted scopes, and the integration's scopes the grant lacks (recomputed on every call, so it follows edits). */
export function scopeReport(account: ConnectedAccountTable, requested: string[]) {
  const scopes = parseJsonArray(account.scopes);
  const granted = new Set(scopes);
  return { scopes, missing_scopes: requested.filter((scope) => !granted.has(scope)) };
}

export function presentAccessToken(outcome: Extract<VendOutcome, { active: true }>, requested: string[]) {
  return {
    active: true as const,
    access_token: {
      object: 'access_token' as const,
      access_token: outcome.value,
      expires_at: toIsoOrNull(outcome.account.expires_at),
      ...scopeReport(outcome.account, requested),
    },
  };
}

export function presentCredential(outcome: Extract<VendOutcome, { active: true }>, requested: string[]) {
  const { account } = outcome;
  const config = parseJsonObject(account.config);
  if (account.auth_method === 'api_key') {
    return {
      active: true as const,
      credential: {
        object: 'credential' as const,
        auth_method: 'api_key' as const,
        value: outcome.value,
        config,
      },
    };
  }
  return {
    active: true as const,
    credential: {
      object: 'credential' as const,
      auth_method: account.auth_method,
      value: outcome.value,
      expires_at: toIsoOrNull(account.expires_at),
      ...scopeReport(account, account.auth_method === 'oauth' ? requested : []),
      ...(account.auth_method === 'client_credentials'
        ? { metadata: parseJsonObject(account.metadata) }
        : {}),
      config,
    },
  };
}
