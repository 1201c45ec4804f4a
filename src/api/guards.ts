import type { AppContext } from '../context.ts';
import { type ApiKeyAuthenticator, createApiKeyAuthenticator } from './middleware/authenticate.ts';
import { createKeyRateLimiter, type KeyRateLimiter } from './middleware/rate-limit.ts';

/**
 * What stands in front of every API-key route: authentication (with its `last_used_at` bookkeeping) and the per-key
 * rate limit. Built once per server and shared by the Hono app and the raw vending listener, so a key draws from
 * one allowance whichever path serves it.
 */
export interface ApiGuards {
  authenticate: ApiKeyAuthenticator;
  rateLimit: KeyRateLimiter;
}

export function createApiGuards(ctx: AppContext): ApiGuards {
  return { authenticate: createApiKeyAuthenticator(ctx), rateLimit: createKeyRateLimiter(ctx) };
}
