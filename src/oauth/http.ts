import { type Agent, fetch as undiciFetch } from 'undici';
import type { Config } from '../config/load.ts';
import { PipesError } from '../errors.ts';
import { createPinnedDispatcher, type EgressPolicy } from '../relay/egress/index.ts';

/**
 * Outbound HTTP for OAuth: token endpoints and identity (userinfo) calls.
 *
 * Every call leaves through one undici dispatcher built from the egress policy (DNS pinned, private and metadata
 * addresses refused at connect time). Calls to the built-in sandbox provider are answered in process instead of
 * over the network: the sandbox is part of Pipes, and `PIPES_PUBLIC_URL` (the sandbox's issuer) is often not
 * reachable from inside the server itself (a container behind a port mapping, a proxy).
 */

/** The whole token-endpoint exchange must finish within this (O17): a hung provider never holds a flow. */
export const TOKEN_ENDPOINT_TIMEOUT_MS = 10_000;
/** TCP + TLS handshake budget, inside the overall timeout. */
const CONNECT_TIMEOUT_MS = 5_000;
/** A token or identity response is small; anything bigger is not one. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface ProviderRequestInit {
  method: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  signal?: AbortSignal;
  redirect?: 'manual';
}

/** A `fetch` for provider endpoints. Returns the WHATWG-shaped response (status, headers, text()). */
export type ProviderFetch = (url: string, init: ProviderRequestInit) => Promise<Response>;

export interface ProviderHttp {
  fetch: ProviderFetch;
  close(): Promise<void>;
}

/**
 * An in-process HTTP handler answering every URL under `prefix` (the sandbox issuer). It receives the request with
 * the prefix replaced by `http://in-process.invalid`, i.e. with the path relative to its mount point.
 */
export interface InProcessRoute {
  prefix: string;
  handle(request: Request): Response | Promise<Response>;
}

const IN_PROCESS_ORIGIN = 'http://in-process.invalid';

/** The egress policy for provider calls, from the configuration (same relaxations as every other outbound call). */
export function providerEgressPolicy(config: Pick<Config, 'egress'>): EgressPolicy {
  return {
    allowLoopback: config.egress.allowPrivateNetwork,
    allowPrivate: config.egress.allowPrivateNetwork,
    allowHttp: config.egress.allowInsecureHttp,
  };
}

export function createProviderHttp(
  config: Pick<Config, 'egress'>,
  inProcess: readonly InProcessRoute[] = [],
): ProviderHttp {
  const dispatcher: Agent = createPinnedDispatcher({
    policy: providerEgressPolicy(config),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    headersTimeoutMs: TOKEN_ENDPOINT_TIMEOUT_MS,
    bodyTimeoutMs: TOKEN_ENDPOINT_TIMEOUT_MS,
    maxResponseBytes: MAX_RESPONSE_BYTES,
  });
  const fetchProvider: ProviderFetch = async (url, init) => {
    const route = inProcess.find((r) => url.startsWith(`${r.prefix}/`));
    if (route !== undefined) {
      // Never follow redirects in process either: the caller sees exactly what the provider answered.
      const relative = IN_PROCESS_ORIGIN + url.slice(route.prefix.length);
      return route.handle(new Request(relative, { ...requestInit(init), redirect: 'manual' }));
    }
    const response = await undiciFetch(url, {
      ...requestInit(init),
      redirect: 'manual',
      dispatcher,
    });
    return response as unknown as Response;
  };
  return {
    fetch: fetchProvider,
    close: () => dispatcher.close(),
  };
}

function requestInit(init: ProviderRequestInit) {
  return {
    method: init.method,
    ...(init.headers !== undefined ? { headers: init.headers } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(init.signal !== undefined ? { signal: init.signal } : {}),
  };
}

/** Error codes raised before any byte of the request could have reached the provider. */
const BEFORE_SEND = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'blocked_destination',
  'destination_unreachable',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

export interface NetworkFailure {
  /** True when the request may have reached the provider: its outcome is unknown. */
  ambiguous: boolean;
  /** Safe to show: never a URL query, a header or a body. */
  description: string;
  /** The egress policy refused the destination (an operator must act; retrying will not help by itself). */
  blocked: PipesError | null;
}

/** Describes a failed provider call (network error, timeout, refused destination). */
export function describeNetworkFailure(error: unknown): NetworkFailure {
  const chain: unknown[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && chain.length < 5; ) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  const blocked = chain.find((e): e is PipesError => e instanceof PipesError && BEFORE_SEND.has(e.code));
  if (blocked !== undefined) return { ambiguous: false, description: blocked.message, blocked };
  const codes = chain.map((e) => (e as { code?: unknown }).code).filter((c) => typeof c === 'string');
  const names = chain.map((e) => (e as { name?: unknown }).name);
  if (names.includes('TimeoutError') || codes.includes('UND_ERR_HEADERS_TIMEOUT')) {
    return { ambiguous: true, description: 'the provider did not answer in time', blocked: null };
  }
  if (codes.some((c) => BEFORE_SEND.has(c as string))) {
    return { ambiguous: false, description: `could not connect (${codes[codes.length - 1]})`, blocked: null };
  }
  const code = codes[codes.length - 1];
  return {
    ambiguous: true,
    description: code === undefined ? 'the connection failed' : `the connection failed (${code})`,
    blocked: null,
  };
}
