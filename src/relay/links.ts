import { basePathOf, isUnderBase } from './egress/index.ts';

/**
 * Points the provider's links into its own API back at the relay: the `Link` header (pagination) and `Location`
 * (a redirect or a created resource).
 *
 * Providers such as GitHub and GitLab paginate with a `Link` header of absolute URLs
 * (`<https://api.github.com/repositories/1/issues?page=2>; rel="next"`), and SDKs follow them as they are: Octokit's
 * `paginate` requests the next URL itself, not under its `baseUrl`. Passed through unchanged, that next request would
 * leave the relay: it would reach the provider without the connection's credential (a 401, or worse, only the public
 * part of the data), and an SDK set up with the Pipes API key in its default headers would send that key to the
 * provider. So every link target into the part of the provider's API this call could reach is rewritten to the same
 * place under the relay URL the caller used; everything else in the header stays byte for byte as the provider sent it.
 * `Location` follows the same rule: GitHub answers a renamed repository with a 301 to
 * `https://api.github.com/repositories/{id}`, which a fetch-based SDK follows by itself. Rewritten, the client follows it
 * into the relay, which calls the provider afresh with every check; a `Location` elsewhere (a signed download URL on
 * another host) stays as sent, and the relay itself still never follows a redirect.
 */
export interface LinkRewriteInput {
  /** The provider base URL this call went under (`https://api.github.com`, `https://slack.com/api`). */
  providerBase: string;
  /** The URL of the provider request, for relative link targets (without its query: it may hold a credential). */
  requestUrl: string;
  /** Where the same part of the API is reached through the relay (`https://pipes…/relay/github`, or the token form). */
  relayBase: string;
  /** The query parameter that carries the credential for `query`-style providers: removed from rewritten links. */
  queryCredentialName: string | undefined;
}

/**
 * Rewrites the link targets (`<…>`) of one `Link` header value. Hand-written rather than parsed and re-serialised with
 * a library: only the targets change, and the parameters (quoted strings that may themselves contain `<`, `,` or `;`)
 * must reach the caller exactly as sent.
 */
export function rewriteLinkHeader(value: string, input: LinkRewriteInput): string {
  const base = new URL(input.providerBase);
  const basePath = basePathOf(base);
  let out = '';
  let copiedUpTo = 0;
  let inQuotes = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (inQuotes) {
      if (char === '\\') i++;
      else if (char === '"') inQuotes = false;
      continue;
    }
    if (char === '"') {
      inQuotes = true;
      continue;
    }
    if (char !== '<') continue;
    const end = value.indexOf('>', i + 1);
    if (end === -1) break;
    const rewritten = rewriteTarget(value.slice(i + 1, end), base, basePath, input);
    if (rewritten !== null) {
      out += `${value.slice(copiedUpTo, i + 1)}${rewritten}`;
      copiedUpTo = end;
    }
    i = end;
  }
  return copiedUpTo === 0 ? value : out + value.slice(copiedUpTo);
}

/** Rewrites a `Location` header value the same way, when it points into the provider's API. */
export function rewriteLocationHeader(value: string, input: LinkRewriteInput): string {
  const base = new URL(input.providerBase);
  return rewriteTarget(value.trim(), base, basePathOf(base), input) ?? value;
}

/** The relay URL for one link target, or null to leave it alone (another origin, outside the base path, malformed). */
function rewriteTarget(target: string, base: URL, basePath: string, input: LinkRewriteInput): string | null {
  let url: URL;
  try {
    url = new URL(target, input.requestUrl);
  } catch {
    return null;
  }
  if (!isUnderBase(url, base, basePath)) return null;
  const path = url.pathname;
  const name = input.queryCredentialName;
  // Re-serialising the query re-encodes it, so only a link that carries the credential pays for it.
  if (name !== undefined && url.searchParams.has(name)) url.searchParams.delete(name);
  const below = path.slice(basePath.length);
  return `${input.relayBase}${below === '' ? '/' : below}${url.search}${url.hash}`;
}
