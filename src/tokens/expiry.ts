/**
 * When a token expires, when it must be refreshed, and how much life a vended token must have left.
 */

/** A vended token always has at least this much left, unless its whole lifetime is shorter (then half of it). */
export const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
/** Refresh tokens are exercised at least this often so that providers which expire idle ones keep them alive. */
export const DEFAULT_KEEPALIVE_MS = 7 * 24 * 3600_000;
/** Fallback lifetime for tokens whose provider does not say when they expire. */
export const DEFAULT_UNKNOWN_LIFETIME_S = 3600;

export type ExpiryKind = 'expires_in' | 'never' | 'unknown';

export interface ExpiryPolicy {
  kind: ExpiryKind;
  defaultLifetimeSeconds: number | null;
}

/**
 * Decides `expires_at` for a token response. An explicit `expires_in` always wins. Without one, `never` tokens never
 * expire, and `unknown` ones are given the provider's default lifetime — but only when there is a refresh token to
 * renew them with; otherwise marking them expired would only break a token that may still work.
 */
export function computeExpiry(
  expiresIn: number | null,
  policy: ExpiryPolicy,
  hasRefreshToken: boolean,
  now: number,
): { expiresAt: number | null; kind: ExpiryKind } {
  if (expiresIn !== null) return { expiresAt: now + expiresIn * 1000, kind: 'expires_in' };
  if (policy.kind === 'never') return { expiresAt: null, kind: 'never' };
  if (!hasRefreshToken) return { expiresAt: null, kind: 'unknown' };
  return {
    expiresAt: now + (policy.defaultLifetimeSeconds ?? DEFAULT_UNKNOWN_LIFETIME_S) * 1000,
    kind: 'unknown',
  };
}

/** The refresh margin for a token issued at `issuedAt` expiring at `expiresAt`. */
export function refreshMargin(issuedAt: number, expiresAt: number): number {
  return Math.min(MAX_REFRESH_MARGIN_MS, Math.max(0, (expiresAt - issuedAt) / 2));
}

/** From when a token must be refreshed before it is handed out (never, for one that does not expire). */
export function refreshDueAt(expiresAt: number | null, issuedAt: number): number {
  if (expiresAt === null) return Number.POSITIVE_INFINITY;
  return expiresAt - refreshMargin(issuedAt, expiresAt);
}

/**
 * When the background refresher should look at this account next: ahead of expiry (with jitter so thousands of
 * tokens issued together do not refresh together), and at least every keep-alive interval.
 */
export function nextRefreshAt(
  expiresAt: number | null,
  issuedAt: number,
  hasRefreshToken: boolean,
  now: number,
  keepAliveMs: number = DEFAULT_KEEPALIVE_MS,
  random: () => number = Math.random,
): number | null {
  if (!hasRefreshToken) return null;
  const keepAlive = now + keepAliveMs;
  if (expiresAt === null) return keepAlive;
  const margin = refreshMargin(issuedAt, expiresAt);
  // Up to an extra half-margin early, spread at random.
  const due = expiresAt - margin - Math.floor((margin / 2) * random());
  return Math.min(Math.max(due, now), keepAlive);
}
