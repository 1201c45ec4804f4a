import type { Resolver } from './egress/index.ts';
import { DEFAULT_RETRY, type RetrySettings } from './retry-policy.ts';

/** Limits and timeouts of the relay. Defaults suit a production broker; tests pass small values. */
export interface RelayOptions {
  /** Largest request body (413 above it; a declared length is refused before the provider is contacted). */
  maxRequestBytes: number;
  /** Largest response body; a longer response is cut off (502 `response_too_large` if it had not started). */
  maxResponseBytes: number;
  /** Request bodies up to this size are buffered so the request can be replayed (401 refresh, 429/503 retry). */
  replayBufferBytes: number;
  /** A held 401/429/503 response larger than this is passed through instead of retried. */
  heldResponseBytes: number;
  /** TCP + TLS handshake with the provider. */
  connectTimeoutMs: number;
  /** From sending the request to the provider's response headers. */
  headersTimeoutMs: number;
  /** Longest silence between two body chunks of the provider's response. */
  bodyTimeoutMs: number;
  /** Whole relayed call, retries and waits included. */
  totalTimeoutMs: number;
  /** Idle keep-alive sockets to providers are closed after this. */
  keepAliveTimeoutMs: number;
  /** Concurrent connections per provider origin (more requests queue). */
  connectionsPerOrigin: number;
  retry: RetrySettings;
  /** Longest `ttl_seconds` a relay token may ask for. */
  maxTokenTtlSeconds: number;
  defaultTokenTtlSeconds: number;
  /** DNS resolver for provider hosts (tests inject one to simulate rebinding). */
  resolver?: Resolver;
  /** Random source for retry jitter. */
  random?: () => number;
}

export const DEFAULT_RELAY_OPTIONS: Readonly<RelayOptions> = Object.freeze({
  maxRequestBytes: 10 * 1024 * 1024,
  maxResponseBytes: 256 * 1024 * 1024,
  replayBufferBytes: 64 * 1024,
  heldResponseBytes: 64 * 1024,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  totalTimeoutMs: 120_000,
  keepAliveTimeoutMs: 30_000,
  connectionsPerOrigin: 256,
  retry: DEFAULT_RETRY,
  maxTokenTtlSeconds: 3600,
  defaultTokenTtlSeconds: 900,
});

export type RelayOptionsInput = Partial<Omit<RelayOptions, 'retry'>> & { retry?: Partial<RetrySettings> };

export function resolveRelayOptions(input: RelayOptionsInput = {}): RelayOptions {
  const { retry, ...rest } = input;
  return { ...DEFAULT_RELAY_OPTIONS, ...rest, retry: { ...DEFAULT_RETRY, ...retry } };
}
