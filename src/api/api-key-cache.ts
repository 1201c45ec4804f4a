import type { AuthenticatedKey } from '../store/api-keys.ts';

/**
 * A short-lived, per-instance memory of successful API-key lookups. The lookup (checksum, SHA-256, a joined query)
 * was the most expensive step of a token request in profiles; a key is used for thousands of requests in a row.
 *
 * What is cached: the key's id and its environment, for `ttlMs` (1 s by default) after the lookup, keyed by the
 * presented key itself (already in this process's memory for the request; hashing it would cost more than the rest).
 * Failures are never cached, so a wrong or unknown key always reaches the database.
 *
 * Revocation bound: a key revoked through this instance's API is forgotten at once (`forget`); revoked anywhere else
 * (another instance, the CLI), it keeps working here for at most `ttlMs`. Expiry uses monotonic time, not the
 * injectable clock, so it holds even when a test freezes `ctx.clock`.
 */
export interface ApiKeyCache {
  get(key: string): AuthenticatedKey | undefined;
  set(key: string, found: AuthenticatedKey): void;
  /** Forgets every cached lookup of this key id (its revocation on this instance). */
  forget(keyId: string): void;
  readonly ttlMs: number;
}

export const API_KEY_CACHE_TTL_MS = 1_000;
/** Past this many distinct keys the cache is simply cleared: a burst of keys costs one lookup each, no more. */
const MAX_ENTRIES = 1_000;

export function createApiKeyCache(options: { ttlMs?: number; now?: () => number } = {}): ApiKeyCache {
  const ttlMs = options.ttlMs ?? API_KEY_CACHE_TTL_MS;
  const now = options.now ?? (() => performance.now());
  const entries = new Map<string, { found: AuthenticatedKey; until: number }>();
  return {
    ttlMs,
    get(key) {
      if (ttlMs <= 0) return undefined;
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.until > now()) return entry.found;
      entries.delete(key);
      return undefined;
    },
    set(key, found) {
      if (ttlMs <= 0) return;
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(key, { found, until: now() + ttlMs });
    },
    forget(keyId) {
      for (const [key, entry] of entries) if (entry.found.keyId === keyId) entries.delete(key);
    },
  };
}
