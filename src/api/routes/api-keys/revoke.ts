import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { PipesError } from '../../../errors.ts';
import { isId } from '../../../lib/ids.ts';
import { revokeApiKey } from '../../../store/api-keys.ts';
import type { ApiEnv } from '../../env.ts';

/** `DELETE /pipes/api-keys/{id}`: revokes a key of the caller's environment. Another environment's key is a 404. */
export function revokeApiKeyRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const id = c.req.param('id') ?? '';
    // The same answer for a malformed id, a missing key and another environment's key.
    const notFound = new PipesError('api_key_not_found', 'API key not found.', { status: 404 });
    if (!isId('apiKey', id)) throw notFound;
    try {
      await revokeApiKey(ctx.store.db, c.get('auth').environment.id, id, ctx.clock.now());
      // This instance stops accepting it at once; others within the cache's bound (api-key-cache.ts).
      ctx.apiKeyCache.forget(id);
    } catch (error) {
      if (error instanceof PipesError && error.status === 404) throw notFound;
      throw error;
    }
    return c.body(null, 204);
  };
}
