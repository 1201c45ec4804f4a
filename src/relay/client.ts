/**
 * A `fetch` for callers: hand it to any fetch-based SDK (Octokit's `request.fetch`, `openai`'s `fetch`, …) and every
 * call the SDK makes to the provider goes through the Pipes relay instead, with the connection's credential attached
 * by Pipes. The SDK keeps its normal base URL; this function rewrites each URL and adds the selection headers.
 *
 * ```ts
 * const relayFetch = createRelayFetch({
 *   baseUrl: 'https://pipes.example.com', apiKey: process.env.PIPES_API_KEY!, provider: 'github', userId: 'user_123',
 *   upstreamBaseUrl: 'https://api.github.com',
 * });
 * const octokit = new Octokit({ request: { fetch: relayFetch } });
 * ```
 *
 * Depends on nothing but the platform `fetch`, so it can be copied into an application as is.
 */
export interface RelayFetchOptions {
  /** Where Pipes is reached, e.g. `https://pipes.example.com`. */
  baseUrl: string;
  /** An `sk_…` key of the environment that holds the connection. */
  apiKey: string;
  /** Provider slug, e.g. `github`. */
  provider: string;
  userId?: string;
  organizationId?: string;
  connectedAccountId?: string;
  connectionOwner?: 'user' | 'organization';
  /**
   * The provider API base URL the SDK uses (e.g. `https://slack.com/api`). Its path is removed from each call's path
   * (the relay appends paths to the provider's catalog base URL). A call to another origin is sent with
   * `Pipes-Target-Origin`, which the relay accepts only for the provider's allow-listed origins.
   */
  upstreamBaseUrl?: string;
  /** The fetch to use underneath (default: the global one). */
  fetch?: typeof fetch;
}

export function createRelayFetch(options: RelayFetchOptions): typeof fetch {
  const underlying = options.fetch ?? globalThis.fetch;
  const relayBase = `${options.baseUrl.replace(/\/+$/, '')}/relay/${options.provider}`;
  const relayBaseUrl = new URL(relayBase);
  const upstream = options.upstreamBaseUrl === undefined ? null : new URL(options.upstreamBaseUrl);
  const upstreamPath = upstream === null ? '' : upstream.pathname.replace(/\/+$/, '');

  /** The relay URL for a call to `url`; sets the API key and the selection headers on `headers`. */
  const toRelay = (url: URL, isRelative: boolean, headers: Headers): string => {
    let path = url.pathname;
    let targetOrigin: string | undefined;
    if (!isRelative && isUnder(url, relayBaseUrl)) {
      // Already a relay URL: a pagination link the relay pointed back at itself (docs/relay.md, "Pagination links").
      path = path.slice(relayBaseUrl.pathname.length);
    } else if (!isRelative && upstream !== null) {
      if (url.origin === upstream.origin) {
        if (upstreamPath !== '' && isWithin(path, upstreamPath)) {
          path = path.slice(upstreamPath.length);
        }
      } else {
        targetOrigin = url.origin;
      }
    }
    headers.set('authorization', `Bearer ${options.apiKey}`);
    if (options.userId !== undefined) headers.set('pipes-user-id', options.userId);
    if (options.organizationId !== undefined) headers.set('pipes-organization-id', options.organizationId);
    if (options.connectedAccountId !== undefined) {
      headers.set('pipes-connected-account-id', options.connectedAccountId);
    }
    if (options.connectionOwner !== undefined) headers.set('pipes-connection-owner', options.connectionOwner);
    if (targetOrigin !== undefined) headers.set('pipes-target-origin', targetOrigin);
    return `${relayBase}${path === '' ? '/' : path}${url.search}`;
  };

  /**
   * Follows redirects here rather than in fetch, which would send the `Pipes-*` headers (the user and organization
   * ids) to whatever host a `Location` names, such as a signed download URL. A `Location` under the relay is followed
   * through the relay like any call; anything else gets no API key, selection or cookie, and once a redirect has left
   * the relay none comes back: a foreign host cannot send the API key to a relay path of its choosing.
   */
  const follow = async (first: Hop, signal: AbortSignal): Promise<Response> => {
    let hop = first;
    let onRelay = true;
    for (let redirects = 0; ; redirects++) {
      const response = await underlying(hop.url, initOf(hop, 'manual', signal));
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return response;
      const next = redirectedRequest(hop, response.status);
      if (next === null) return response;
      await response.body?.cancel();
      if (redirects === MAX_REDIRECTS) throw fetchFailed('redirect count exceeded');
      const url = redirectTarget(location, hop.url);
      const headers = new Headers(hop.headers);
      if (next.method !== hop.method) for (const name of BODY_HEADERS) headers.delete(name);
      onRelay &&= isUnder(url, relayBaseUrl);
      if (onRelay) {
        hop = { ...next, url: toRelay(url, false, headers), headers };
      } else {
        removeCredentials(headers);
        hop = { ...next, url: url.href, headers };
      }
    }
  };

  const relayFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const isRelative = typeof input === 'string' && input.startsWith('/');
    const request = new Request(isRelative ? `http://relay.invalid${input}` : input, init);
    const headers = new Headers(request.headers);
    const url = toRelay(new URL(request.url), isRelative, headers);
    if (request.redirect !== 'follow') {
      // The caller's `manual` or `error` is the underlying fetch's to honour: nothing is followed either way.
      const hop = { url, method: request.method, headers, body: hasBody(request) ? request.body : null };
      return underlying(url, initOf(hop, request.redirect, request.signal));
    }
    return follow(
      { url, method: request.method, headers, body: await bodyOf(request, init) },
      request.signal,
    );
  };
  return relayFetch as typeof fetch;
}

/** What fetch follows. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** fetch's own limit. */
const MAX_REDIRECTS = 20;
/** Headers about the body, dropped with it when a redirect turns the request into a GET (as fetch does). */
const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
];

type HopBody = ArrayBuffer | ReadableStream<Uint8Array> | null;

/** One request of a redirect chain. */
interface Hop {
  url: string;
  method: string;
  headers: Headers;
  body: HopBody;
}

function hasBody(request: Request): boolean {
  return request.body !== null && request.method !== 'GET' && request.method !== 'HEAD';
}

/**
 * The body to send. One the caller gave as a value (a string, bytes, a Blob, form data) is read into bytes once, so a
 * 307 or 308 can send it again; a stream, or the body of a `Request` (whose origin fetch does not reveal), is sent as
 * it comes, once.
 */
async function bodyOf(request: Request, init: RequestInit | undefined): Promise<HopBody> {
  if (!hasBody(request)) return null;
  return isValueBody(init?.body) ? request.arrayBuffer() : request.body;
}

function isValueBody(body: unknown): boolean {
  return (
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof URLSearchParams ||
    body instanceof FormData
  );
}

function initOf(
  hop: Hop,
  redirect: Request['redirect'],
  signal: AbortSignal,
): RequestInit & { duplex?: 'half' } {
  const init: RequestInit & { duplex?: 'half' } = {
    method: hop.method,
    headers: hop.headers,
    redirect,
    signal,
  };
  if (hop.body !== null) {
    init.body = hop.body;
    init.duplex = 'half';
  }
  return init;
}

/**
 * The method and body after a redirect, by fetch's rules: a 303 (except after GET or HEAD), and a 301 or 302 after a
 * POST, become a GET without body; the rest keep both. Null when the body would have to be sent again but was a
 * stream: the redirect is then returned to the caller as it is.
 */
function redirectedRequest(hop: Hop, status: number): { method: string; body: HopBody } | null {
  const toGet =
    (status === 303 && hop.method !== 'GET' && hop.method !== 'HEAD') ||
    ((status === 301 || status === 302) && hop.method === 'POST');
  if (toGet) return { method: 'GET', body: null };
  if (hop.body instanceof ReadableStream) return null;
  return { method: hop.method, body: hop.body };
}

/** The `Location` resolved against the request URL; fetch's error for one it would not follow either. */
function redirectTarget(location: string, base: string): URL {
  let url: URL;
  try {
    url = new URL(location, base);
  } catch {
    throw fetchFailed('invalid redirect location');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw fetchFailed('redirect to a non-http(s) URL');
  return url;
}

function fetchFailed(reason: string): TypeError {
  return new TypeError('fetch failed', { cause: new Error(reason) });
}

/** Before a request leaves the relay: no API key, no `Pipes-*` selection, no cookie for another host. */
function removeCredentials(headers: Headers): void {
  const names = [...headers.keys()].filter((name) => name.startsWith('pipes-'));
  for (const name of [...names, 'authorization', 'proxy-authorization', 'cookie']) headers.delete(name);
}

/** Whether `path` is `prefix` or below it, at a segment boundary (`/api2` is not below `/api`). */
function isWithin(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** Whether `url` is `base` or below it: same origin, path within. */
function isUnder(url: URL, base: URL): boolean {
  return url.origin === base.origin && isWithin(url.pathname, base.pathname);
}
