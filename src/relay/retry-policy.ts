import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderEntry } from '../providers/catalog-schema.ts';

/**
 * When to retry a provider's 429/503, and how long to wait. The provider's own hints win (`Retry-After`, then its
 * catalog rate-limit headers: `reset_header` when `remaining_header` says 0); without hints, exponential backoff with
 * jitter. Every retry is bounded by attempts and by a total time budget; a wait that does not fit is not waited.
 */
export interface RetrySettings {
  /** Attempts in all, the first included (default 3). */
  maxAttempts: number;
  /** Total time budget for waiting and retrying (default 30 s); `Pipes-Retry-Max-Ms` overrides it per request. */
  maxTotalMs: number;
  /** First backoff step without a provider hint (default 500 ms), doubled at every attempt. */
  baseDelayMs: number;
  /** Largest single backoff step without a provider hint (default 8 s). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: Readonly<RetrySettings> = Object.freeze({
  maxAttempts: 3,
  maxTotalMs: 30_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
});

type RateLimit = ProviderEntry['api']['rate_limit'];

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The catalog's `remaining_header` as a number: undefined when the provider did not send it, or sent it empty or
 * unreadable. One reading for every rule below, so that a response never counts as exhausted for one and not for
 * another.
 */
function remainingOf(headers: IncomingHttpHeaders, rateLimit: RateLimit): number | undefined {
  const value = filledHeader(headers, rateLimit.remaining_header);
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** Whether the response names, in the catalog's `resource_header`, which of the provider's quotas it counted against. */
function namesResource(headers: IncomingHttpHeaders, rateLimit: RateLimit): boolean {
  return filledHeader(headers, rateLimit.resource_header) !== undefined;
}

/** A catalog-named header's trimmed value; undefined when the catalog names none, or it is absent or empty. */
function filledHeader(headers: IncomingHttpHeaders, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const value = headerOf(headers, name)?.trim();
  return value === '' ? undefined : value;
}

/** `Retry-After`: delay seconds or an HTTP date. Null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** The provider's reset header, as a wait from `now` in ms. */
function parseReset(value: string | undefined, unit: RateLimit['reset_unit'], now: number): number | null {
  if (value === undefined || unit === undefined) return null;
  const n = Number(value.trim());
  if (!Number.isFinite(n) || n < 0) return null;
  switch (unit) {
    case 'seconds':
      return Math.round(n * 1000);
    case 'epoch_seconds':
      return Math.max(0, Math.round(n * 1000 - now));
    case 'epoch_ms':
      return Math.max(0, Math.round(n - now));
  }
}

/**
 * The wait the provider asks for, in ms, or null without a hint. `Retry-After` (or the catalog's
 * `retry_after_header`) first; then the reset header, used when the remaining count is 0 or on a 429 that has no
 * remaining header (or an empty or unreadable one).
 */
export function providerWaitMs(
  status: number,
  headers: IncomingHttpHeaders,
  rateLimit: RateLimit,
  now: number,
): number | null {
  const retryAfter =
    parseRetryAfter(headerOf(headers, rateLimit.retry_after_header ?? 'retry-after'), now) ??
    (rateLimit.retry_after_header !== undefined
      ? parseRetryAfter(headerOf(headers, 'retry-after'), now)
      : null);
  if (retryAfter !== null) return retryAfter;
  if (rateLimit.reset_header === undefined) return null;
  const remaining = remainingOf(headers, rateLimit);
  const exhausted = remaining === undefined ? status === 429 : remaining === 0;
  if (!exhausted) return null;
  return parseReset(headerOf(headers, rateLimit.reset_header), rateLimit.reset_unit, now);
}

/**
 * Whether a 403 is the provider's rate limit rather than a refusal: GitHub answers a spent primary rate limit with 403
 * and `x-ratelimit-remaining: 0`, and a secondary one with 403 and `Retry-After`. Like a 429, the request was not
 * applied, so it is waited out and retried within the budget, or passed through with the wait advertised. Only for
 * providers whose catalog entry names those headers: elsewhere a 403 stays a refusal.
 */
export function isRateLimited403(headers: IncomingHttpHeaders, rateLimit: RateLimit): boolean {
  if (remainingOf(headers, rateLimit) === 0) return true;
  return (
    rateLimit.retry_after_header !== undefined &&
    headerOf(headers, rateLimit.retry_after_header) !== undefined
  );
}

/**
 * For any response: if the provider says the quota is spent (`remaining_header` = 0), until when (epoch ms) further
 * calls should be held back. Null otherwise, and also when the response names the quota it counted against
 * (`resource_header`): a provider with several quotas per credential (GitHub: core, search, graphql…) may take the
 * next call from another one, and holding it would refuse a call the provider would have served.
 */
export function exhaustedUntil(
  headers: IncomingHttpHeaders,
  rateLimit: RateLimit,
  now: number,
): number | null {
  if (rateLimit.reset_header === undefined || remainingOf(headers, rateLimit) !== 0) return null;
  if (namesResource(headers, rateLimit)) return null;
  const wait = parseReset(headerOf(headers, rateLimit.reset_header), rateLimit.reset_unit, now);
  return wait === null ? null : now + wait;
}

/**
 * The wait before attempt number `attempt + 1` (attempt counts from 1). With a provider hint: the hint plus up to 10%
 * (at most 250 ms) of jitter, so that callers held by the same reset do not all come back in the same millisecond.
 * Without: "equal jitter" backoff, half fixed and half random, of base × 2^(attempt−1), capped.
 */
export function retryDelayMs(
  attempt: number,
  hintMs: number | null,
  settings: RetrySettings,
  random: () => number,
): number {
  if (hintMs !== null) return hintMs + Math.floor(random() * Math.min(250, hintMs * 0.1));
  const step = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(step / 2 + random() * (step / 2));
}
