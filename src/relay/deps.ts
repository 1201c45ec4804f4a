import { authenticateAuthorizationHeader } from '../api/middleware/authenticate.ts';
import type { AppContext } from '../context.ts';
import { type AuthenticatedKey, touchApiKey } from '../store/api-keys.ts';
import { resolveRelayConnection } from './resolve-connection.ts';
import type { RelayAuthentication, RelayDeps } from './types.ts';

/** How often `last_used_at` is written for one key (same cadence as the API middleware). */
const TOUCH_INTERVAL_MS = 60_000;

export interface RelayDepsOptions {
  /**
   * How long a successful API-key lookup is reused by the relay (default 1000 ms; 0 = look up every request). The
   * lookup was a third of the relay's CPU per request in profiles. The price: a revoked key keeps working on the relay
   * for at most this long (failures are never cached, and relay tokens check their key uncached).
   */
  authCacheMs?: number;
}

/** Bounds the cache; past this, it is simply cleared (a burst of distinct keys costs one lookup each, no more). */
const AUTH_CACHE_MAX = 1000;

/**
 * The production `RelayDeps`.
 *
 * `authenticate` is the real API-key lookup shared with the API. `resolveConnection` goes through the token service:
 * the same selection rules as `/credentials`, the same single-flight refresh, and a forced refresh after a 401.
 */
export function createRelayDeps(ctx: AppContext, options: RelayDepsOptions = {}): RelayDeps {
  const lastTouched = new Map<string, number>();
  const cacheMs = options.authCacheMs ?? 1000;
  // Keyed by the header value itself: hashing it cost more than the rest of the lookup, and the value is already in
  // this process's memory for the request; it stays no longer than `cacheMs` after that.
  const cache = new Map<string, { found: AuthenticatedKey; until: number }>();
  const present = (found: AuthenticatedKey): RelayAuthentication => {
    const { id, name, kind } = found.environment;
    return { environment: { id, name, kind }, apiKeyId: found.keyId };
  };
  return {
    async authenticate(authorization) {
      if (authorization === undefined) return null;
      // Monotonic time: the cache must expire even when a test drives `ctx.clock`.
      const cached = cacheMs > 0 ? cache.get(authorization) : undefined;
      if (cached !== undefined && cached.until > performance.now()) return present(cached.found);
      const found = await authenticateAuthorizationHeader(ctx, authorization);
      if (found === null) {
        if (cacheMs > 0) cache.delete(authorization);
        return null;
      }
      if (cacheMs > 0) {
        if (cache.size >= AUTH_CACHE_MAX) cache.clear();
        cache.set(authorization, { found, until: performance.now() + cacheMs });
      }
      const now = ctx.clock.now();
      if ((lastTouched.get(found.keyId) ?? 0) + TOUCH_INTERVAL_MS < now) {
        lastTouched.set(found.keyId, now);
        touchApiKey(ctx.store.db, found.keyId, now).catch((error) =>
          ctx.log.warn({ err: error }, 'could not record API key use'),
        );
      }
      return present(found);
    },
    async isApiKeyActive(apiKeyId) {
      const row = await ctx.store.db
        .selectFrom('api_keys')
        .select('revoked_at')
        .where('id', '=', apiKeyId)
        .executeTakeFirst();
      return row !== undefined && row.revoked_at === null;
    },
    resolveConnection: (environmentId, slug, selection) =>
      resolveRelayConnection(ctx, environmentId, slug, selection),
  };
}
