import { type ApiKeyAuthenticator, createApiKeyAuthenticator } from '../api/middleware/authenticate.ts';
import type { AppContext } from '../context.ts';
import { createRelayConnectionResolver } from './resolve-connection.ts';
import type { RelayDeps } from './types.ts';

/**
 * The production `RelayDeps`.
 *
 * `authenticate` is the API's own authenticator (pass the server's, so the relay and the API share one
 * `last_used_at` bookkeeping): the same lookup, the same short-lived cache of successful lookups (api-key-cache.ts,
 * with its revocation bound). `resolveConnection` goes through the token service: the same selection rules as
 * `/credentials`, the same single-flight refresh, and a forced refresh after a 401 (its result reused while the
 * database is unchanged and the token fresh).
 */
export function createRelayDeps(
  ctx: AppContext,
  authenticator: ApiKeyAuthenticator = createApiKeyAuthenticator(ctx),
): RelayDeps {
  const resolveConnection = createRelayConnectionResolver(ctx);
  return {
    async authenticate(authorization) {
      const found = await authenticator(authorization);
      if (found === null) return null;
      const { id, name, kind } = found.environment;
      return { environment: { id, name, kind }, apiKeyId: found.keyId };
    },
    async isApiKeyActive(apiKeyId) {
      const row = await ctx.store.db
        .selectFrom('api_keys')
        .select('revoked_at')
        .where('id', '=', apiKeyId)
        .executeTakeFirst();
      return row !== undefined && row.revoked_at === null;
    },
    resolveConnection,
  };
}
