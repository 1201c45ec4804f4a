import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { resolveIntegrationProvider } from '../providers/resolve.ts';
import { type Environment, findEnvironmentById } from '../store/environments.ts';
import type { StampedReads } from '../store/stamped-cache.ts';
import { StampedMemo } from '../store/stamped-memo.ts';
import { parseJsonObject } from '../tokens/present-account.ts';
import type { FreshAccount } from '../tokens/refresh/single-flight.ts';
import { vendCredential } from '../tokens/vend.ts';
import type { RelayConnection, RelaySelection } from './types.ts';

const notInstalled = (slug: string) =>
  new PipesError('not_installed', `No connected ${slug} account matches this selection.`, { status: 404 });

/** Codes of the token service that mean "nothing to relay to" for this caller: all answered as not_installed. */
const NOT_INSTALLED_CODES = new Set(['data_integration_not_found', 'connected_account_not_found']);

/** Resolves relayed requests' connections; `createRelayConnectionResolver` builds one per server. */
export type RelayConnectionResolver = (
  environmentId: string,
  slug: string,
  selection: RelaySelection,
) => Promise<RelayConnection>;

/**
 * The relay's connection lookup with a memo: the resolved connection (provider, config, credential) is reused while
 * the database is unchanged and the token is fresh (src/store/stamped-memo.ts), as `/token` reuses its answers. A
 * relayed request then costs no lookup, no decryption check and no JSON parsing of the account's config.
 */
export function createRelayConnectionResolver(ctx: AppContext): RelayConnectionResolver {
  const connections = new StampedMemo<RelayConnection>();
  const environments = new KnownEnvironments(ctx);
  return async (environmentId, slug, selection) => {
    const reads = await ctx.tokens.reads.sharedSnapshot();
    const key = `${environmentId}\0${slug}\0${selection.userId ?? ''}\0${selection.organizationId ?? ''}\0${
      selection.connectedAccountId ?? ''
    }\0${selection.connectionOwner ?? ''}`;
    const memoized = connections.get(reads.stamp, key, ctx.clock.now());
    if (memoized !== undefined) return memoized;
    const { connection, freshUntil } = await resolveRelayConnection(
      ctx,
      environments,
      environmentId,
      slug,
      selection,
      reads,
    );
    connections.set(reads.stamp, key, connection, freshUntil, ctx.clock.now());
    return connection;
  };
}

/**
 * Finds the connection a relayed request selects and a usable credential, through the token service: the selection
 * rules of `/credentials` (a named `connected_account_id` is looked up among this owner's connections only, so another
 * tenant's id is simply not found), the single-flight refresh, and a forced refresh when the provider says 401.
 */
async function resolveRelayConnection(
  ctx: AppContext,
  environments: KnownEnvironments,
  environmentId: string,
  slug: string,
  selection: RelaySelection,
  reads: StampedReads,
): Promise<{ connection: RelayConnection; freshUntil: number }> {
  const environment = await environments.find(environmentId);
  if (!environment) throw notInstalled(slug);
  let outcome: Awaited<ReturnType<typeof vendCredential>>;
  try {
    outcome = await vendCredential(
      ctx,
      environment,
      slug,
      {
        user_id: selection.userId,
        organization_id: selection.organizationId,
        connected_account_id: selection.connectedAccountId,
        connection_owner: selection.connectionOwner,
        supports_multiple_connections: true,
      },
      { reads },
    );
  } catch (error) {
    throw inRelayTerms(error, slug);
  }
  if (!outcome.active) {
    if (outcome.error === 'not_installed') throw notInstalled(slug);
    throw needsReauthorization(slug);
  }
  const { account, integration } = outcome;
  const provider = resolveIntegrationProvider(ctx, integration);
  const metadata = parseJsonObject(account.metadata);
  // The account's own config is what the connect flow's identity call had (the revocation check sends it again);
  // the relay's `config` adds the metadata-derived values.
  const connectConfig = Object.freeze(parseJsonObject(account.config));
  const config: Record<string, string> = { ...connectConfig };
  for (const [field, path] of Object.entries(provider.metadata_to_config)) {
    const value = metadata[path];
    if (value !== undefined) config[field] = value;
  }
  const authMethod = account.auth_method;
  // Frozen: a memoized connection is shared by every relayed request until the next change.
  const connection: RelayConnection = Object.freeze({
    accountId: account.id,
    provider,
    config: Object.freeze(config),
    credential: Object.freeze({ accountId: account.id, authMethod, value: outcome.value }),
    async forceRefresh() {
      if (authMethod === 'api_key') return null;
      let fresh: FreshAccount | null;
      try {
        fresh = await ctx.tokens.refresher.ensureFresh(account, {
          kind: 'rejected',
          staleVersion: account.token_version,
        });
        // Nothing new to retry with: a token nothing can renew, or one obtained moments ago. For a token nothing
        // can renew, the provider's identity endpoint tells a revoked grant from a 401 about this call alone (null:
        // not confirmed, and the provider's 401 goes through).
        if (fresh.kind === 'fresh' && fresh.accessToken === outcome.value) {
          fresh = await ctx.tokens.revocations.confirm(fresh.row, provider, connectConfig, outcome.value);
        }
      } catch (error) {
        // Disconnected while the call was with the provider: answered as a lookup would answer it now.
        throw inRelayTerms(error, slug);
      }
      // The refresh found the grant dead (or another instance already had): the caller learns that now rather than
      // from the provider's 401, which says only that this one token was refused.
      if (fresh?.kind === 'needs_reauthorization') throw needsReauthorization(slug);
      // A refreshed token, or the new one of a connection reconnected meanwhile: the call is tried again with it.
      if (fresh === null || fresh.accessToken === outcome.value) return null;
      return { accountId: account.id, authMethod, value: fresh.accessToken };
    },
  });
  return { connection, freshUntil: outcome.freshUntil };
}

/** A token-service error as the relay answers it: "nothing to relay to" is `not_installed` for the caller. */
function inRelayTerms(error: unknown, slug: string): unknown {
  if (!(error instanceof PipesError)) return error;
  if (NOT_INSTALLED_CODES.has(error.code)) return notInstalled(slug);
  if (error.code === 'user_id_required' || error.code === 'organization_id_required') {
    return new PipesError('invalid_selection', error.message, { status: 400 });
  }
  return error;
}

function needsReauthorization(slug: string): PipesError {
  return new PipesError(
    'needs_reauthorization',
    `The ${slug} connection needs the user to reauthorize it (connect again through the authorize flow or the widget).`,
    { status: 424 },
  );
}

/**
 * Environment rows by id, kept once found. Nothing changes or deletes an environment once created (src/store/
 * environments.ts only inserts), so a found row stays current for the life of the process on either engine: on
 * PostgreSQL, where nothing else on the relay's path is cached, this is one query fewer per relayed call. An id not
 * found is asked again every time.
 */
class KnownEnvironments {
  static readonly LIMIT = 1000;
  readonly #rows = new Map<string, Environment>();

  constructor(private readonly ctx: Pick<AppContext, 'store'>) {}

  async find(id: string): Promise<Environment | undefined> {
    const known = this.#rows.get(id);
    if (known !== undefined) return known;
    const row = await findEnvironmentById(this.ctx.store.db, id);
    if (row !== undefined) {
      if (this.#rows.size >= KnownEnvironments.LIMIT) this.#rows.clear();
      this.#rows.set(id, row);
    }
    return row;
  }
}
