import type { MiddlewareHandler } from 'hono';
import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import type { ApiEnv } from '../env.ts';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per API key, per instance: `limit` requests a minute, refilled continuously, with bursts up to the
 * full minute's allowance. With several instances each enforces its own bucket; the documented limit is per
 * instance.
 */
export function rateLimitPerKey(ctx: AppContext): MiddlewareHandler<ApiEnv> {
  const capacity = ctx.config.rateLimitPerMinute;
  const refillPerMs = capacity / 60_000;
  const buckets = new Map<string, Bucket>();
  return async (c, next) => {
    const keyId = c.get('auth').keyId;
    const now = ctx.clock.now();
    const bucket = buckets.get(keyId) ?? { tokens: capacity, updatedAt: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.updatedAt) * refillPerMs);
    bucket.updatedAt = now;
    buckets.set(keyId, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerMs / 1000));
      throw new PipesError(
        'rate_limit_exceeded',
        `Too many requests for this API key (limit ${capacity} a minute). Retry after ${retryAfter} s.`,
        { status: 429, headers: { 'Retry-After': String(retryAfter) } },
      );
    }
    bucket.tokens -= 1;
    await next();
  };
}
