import { type ApiKeyAuthenticator, createApiKeyAuthenticator } from '../api/middleware/authenticate.ts';
import type { AppContext } from '../context.ts';
import { mapMaybePromise } from '../lib/maybe-promise.ts';
import type { AuthenticatedKey } from '../store/api-keys.ts';
import { createRelayConnectionResolver } from './resolve-connection.ts';
import type { RelayAuthentication, RelayDeps } from './types.ts';

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
    // At once for a recently seen key, like the authenticator itself (no promise on the relay's hot path).
    authenticate: (authorization) => mapMaybePromise(authenticator(authorization), toRelayAuthentication),
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

function toRelayAuthentication(found: AuthenticatedKey | null): RelayAuthentication | null {
  if (found === null) return null;
  const { id, name, kind } = found.environment;
  return { environment: { id, name, kind }, apiKeyId: found.keyId };
}
