import type { MiddlewareHandler } from 'hono';
import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import type { ApiEnv } from '../env.ts';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Takes one request from an API key's allowance; throws 429 `rate_limit_exceeded` (with Retry-After) when empty. */
export type KeyRateLimiter = (keyId: string) => void;

/**
 * A token bucket per API key, per instance: `limit` requests a minute, refilled continuously, with bursts up to the
 * full minute's allowance. With several instances each enforces its own bucket; the documented limit is per
 * instance. One limiter serves the API app and the raw vending listener, so they draw from the same buckets.
 */
export function createKeyRateLimiter(ctx: Pick<AppContext, 'config' | 'clock'>): KeyRateLimiter {
  const capacity = ctx.config.rateLimitPerMinute;
  const refillPerMs = capacity / 60_000;
  const buckets = new Map<string, Bucket>();
  return (keyId) => {
    const now = ctx.clock.now();
    let bucket = buckets.get(keyId);
    if (bucket === undefined) {
      bucket = { tokens: capacity, updatedAt: now };
      buckets.set(keyId, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updatedAt) * refillPerMs);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000));
      throw new PipesError(
        'rate_limit_exceeded',
        `Too many requests for this API key (limit ${capacity} a minute). Retry after ${retryAfter} s.`,
        { status: 429, headers: { 'Retry-After': String(retryAfter) } },
      );
    }
    bucket.tokens -= 1;
  };
}

export function rateLimitPerKey(limit: KeyRateLimiter): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    limit(c.get('auth').keyId);
    await next();
  };
}
