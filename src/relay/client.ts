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

  const relayFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const isRelative = typeof input === 'string' && input.startsWith('/');
    const request = new Request(isRelative ? `http://relay.invalid${input}` : input, init);
    const url = new URL(request.url);
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
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${options.apiKey}`);
    if (options.userId !== undefined) headers.set('pipes-user-id', options.userId);
    if (options.organizationId !== undefined) headers.set('pipes-organization-id', options.organizationId);
    if (options.connectedAccountId !== undefined) {
      headers.set('pipes-connected-account-id', options.connectedAccountId);
    }
    if (options.connectionOwner !== undefined) headers.set('pipes-connection-owner', options.connectionOwner);
    if (targetOrigin !== undefined) headers.set('pipes-target-origin', targetOrigin);
    const hasBody = request.body !== null && request.method !== 'GET' && request.method !== 'HEAD';
    const forwarded: RequestInit & { duplex?: 'half' } = {
      method: request.method,
      headers,
      redirect: request.redirect,
      signal: request.signal,
    };
    if (hasBody) {
      forwarded.body = request.body;
      forwarded.duplex = 'half';
    }
    return underlying(`${relayBase}${path === '' ? '/' : path}${url.search}`, forwarded);
  };
  return relayFetch as typeof fetch;
}

/** Whether `path` is `prefix` or below it, at a segment boundary (`/api2` is not below `/api`). */
function isWithin(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** Whether `url` is `base` or below it: same origin, path within. */
function isUnder(url: URL, base: URL): boolean {
  return url.origin === base.origin && isWithin(url.pathname, base.pathname);
}
