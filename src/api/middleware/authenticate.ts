import type { MiddlewareHandler } from 'hono';
import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import { digestApiKey, parseApiKey } from '../../lib/api-key-format.ts';
import { type MaybePromise, mapMaybePromise } from '../../lib/maybe-promise.ts';
import { type AuthenticatedKey, findActiveKeyByDigest, touchApiKey } from '../../store/api-keys.ts';
import type { ApiEnv } from '../env.ts';

/**
 * One message for every failure (missing, malformed, unknown, revoked key), so the answer reveals nothing about
 * which keys exist. It still says what to check.
 */
export const INVALID_API_KEY_MESSAGE =
  'Invalid API key. Send `Authorization: Bearer sk_…` with a key created for this environment ' +
  '(sandbox keys start with sk_test_, production keys with sk_live_; create one with `pipes keys create --env <name>`). ' +
  'A revoked key no longer works.';

export const unauthorized = () => new PipesError('unauthorized', INVALID_API_KEY_MESSAGE, { status: 401 });

const BEARER = 'Bearer ';

/** How often `last_used_at` is written for one key: often enough to be useful, rarely enough to cost nothing. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Checks an `Authorization` header value: `Bearer sk_…` naming a live key. Returns the key and its environment, or
 * null for any failure (the caller answers the one 401). Successful lookups are reused from `ctx.apiKeyCache`, and
 * then answered at once, without a promise; only a database lookup is waited for.
 */
function authenticateAuthorizationHeader(
  ctx: Pick<AppContext, 'store' | 'apiKeyCache'>,
  header: string | undefined,
): MaybePromise<AuthenticatedKey | null> {
  if (header === undefined) return null;
  // Fast path for the usual spelling, without the regular expression: a cache hit proves the rest is a whole key
  // (only keys the expression matched are ever cached), so the answer is the same.
  const usual = header.startsWith(BEARER) ? header.slice(BEARER.length) : undefined;
  if (usual !== undefined) {
    const cached = ctx.apiKeyCache.get(usual);
    if (cached !== undefined) return cached;
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const key = match?.[1];
  if (!key) return null;
  // Another spelling (`bearer`, several spaces) may still name a cached key; the usual one was just looked up.
  if (key !== usual) {
    const cached = ctx.apiKeyCache.get(key);
    if (cached !== undefined) return cached;
  }
  // The checksum rejects garbage before any database read.
  if (!parseApiKey(key)) return null;
  return lookUpKey(ctx, key);
}

async function lookUpKey(ctx: Pick<AppContext, 'store' | 'apiKeyCache'>, key: string) {
  const found = await findActiveKeyByDigest(ctx.store.db, digestApiKey(key));
  if (found === undefined) return null;
  ctx.apiKeyCache.set(key, found);
  return found;
}

/**
 * Authenticates an `Authorization` header value and records the key's use; null for any failure. A recently seen
 * key is answered at once (not a promise): callers may simply `await` the answer, and hot paths skip the wait.
 */
export type ApiKeyAuthenticator = (header: string | undefined) => MaybePromise<AuthenticatedKey | null>;

/**
 * The API's authenticator: the shared lookup plus a `last_used_at` write at most once a minute per key. One
 * instance serves the API app and the raw vending listener, so they share the touch bookkeeping.
 */
export function createApiKeyAuthenticator(
  ctx: Pick<AppContext, 'store' | 'apiKeyCache' | 'clock' | 'log'>,
): ApiKeyAuthenticator {
  const lastTouched = new Map<string, number>();
  const recordUse = (found: AuthenticatedKey | null): AuthenticatedKey | null => {
    if (!found) return null;
    const now = ctx.clock.now();
    if ((lastTouched.get(found.keyId) ?? 0) + TOUCH_INTERVAL_MS < now) {
      lastTouched.set(found.keyId, now);
      touchApiKey(ctx.store.db, found.keyId, now).catch((error) =>
        ctx.log.warn({ err: error }, 'could not record API key use'),
      );
    }
    return found;
  };
  return (header) => mapMaybePromise(authenticateAuthorizationHeader(ctx, header), recordUse);
}

export function authenticateApiKey(authenticate: ApiKeyAuthenticator): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const found = await authenticate(c.req.header('authorization'));
    if (!found) throw unauthorized();
    c.set('auth', found);
    await next();
  };
}
