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
 *
 * Two rules keep a hostile provider from turning a link against the caller, whose client resolves what it gets
 * against the relay URL (Pipes' origin) and follows it with its own headers, the Pipes API key included:
 * - a relative target that is not rewritten is sent as an absolute URL on the provider, where the provider meant it;
 *   passed on as sent, `Location: /data-integrations/github` after a `DELETE` made fetch delete that integration;
 * - a target on Pipes' own host (its public URL's, or the one the caller used) is dropped with its whole header.
 * And since the caller's client parses what the relay parsed, maybe differently, a target is passed on as sent only
 * when every parser reads it alike: an absolute URL of plain RFC 3986 characters. Any other target is sent as the URL
 * the relay read (`https://a\@pipes…` is `https://a/@pipes…`: host `a` for WHATWG, `pipes…` for an RFC 3986 parser),
 * and a header whose target the relay cannot read at all, or whose `<` is never closed, is dropped.
 */
export interface LinkRewriteInput {
  /** The provider base URL this call went under (`https://api.github.com`, `https://slack.com/api`). */
  providerBase: string;
  /** The URL of the provider request, for relative link targets (without its query: it may hold a credential). */
  requestUrl: string;
  /**
   * Where the same part of the API is reached through the relay (`https://pipes…/relay/github`, or the token form);
   * null to leave targets into the API pointing at the provider (an API-key call to a `Pipes-Target-Origin`).
   */
  relayBase: string | null;
  /** Pipes' own hosts (`host[:port]`, lower case): a link there is dropped with its header, never passed on. */
  pipesHosts: readonly string[];
  /** The query parameter that carries the credential for `query`-style providers: removed from rewritten links. */
  queryCredentialName: string | undefined;
}

/**
 * Rewrites the link targets (`<…>`) of one `Link` header value. Hand-written rather than parsed and re-serialised with
 * a library: only the targets change, and the parameters (quoted strings that may themselves contain `<`, `,` or `;`)
 * must reach the caller exactly as sent.
 */
export function rewriteLinkHeader(value: string, input: LinkRewriteInput): string | null {
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
    // An unclosed target: a lenient parser may read one to the end of the header.
    if (end === -1) return null;
    const target = value.slice(i + 1, end);
    const rewritten = rewriteTarget(target, base, basePath, input);
    if (rewritten === DROP) return null;
    if (rewritten !== target) {
      out += `${value.slice(copiedUpTo, i + 1)}${rewritten}`;
      copiedUpTo = end;
    }
    i = end;
  }
  return copiedUpTo === 0 ? value : out + value.slice(copiedUpTo);
}

/** Rewrites a `Location` header value by the same rules; null to drop the header. */
export function rewriteLocationHeader(value: string, input: LinkRewriteInput): string | null {
  const base = new URL(input.providerBase);
  const target = value.trim();
  const rewritten = rewriteTarget(target, base, basePathOf(base), input);
  if (rewritten === DROP) return null;
  return rewritten === target ? value : rewritten;
}

const DROP = Symbol('drop');
/**
 * A scheme and an authority (`https://host…`): a URL every client resolves to the same place whatever its base. A
 * scheme alone is not enough: `https:/data-integrations/x` (or `https:\\…`, `https:path`) is a relative reference
 * to a client whose base has the same scheme, so on the relay's origin it leads to Pipes.
 */
const ABSOLUTE_WITH_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** RFC 3986's characters, unreserved, reserved and `%`: no backslash, space, control or non-ASCII character. */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

/** `host[:port]` without a fully qualified name's trailing dot: `pipes.example.com.` is the same server. */
function hostOf(url: URL): string {
  return url.hostname.endsWith('.') ? url.host.replace(/\.(:\d+)?$/, '$1') : url.host;
}

/**
 * What to send for one link target: its relay URL when it points into the part of the provider's API this call
 * could reach; DROP when it leads to Pipes itself or cannot be read; the target as sent when it is an absolute URL
 * every parser reads alike; otherwise the URL the relay read (a relative target made absolute on the provider).
 */
function rewriteTarget(
  target: string,
  base: URL,
  basePath: string,
  input: LinkRewriteInput,
): string | typeof DROP {
  let url: URL;
  try {
    url = new URL(target, input.requestUrl);
  } catch {
    return DROP;
  }
  if (input.pipesHosts.includes(hostOf(url))) return DROP;
  if (input.relayBase === null || !isUnderBase(url, base, basePath)) {
    return ABSOLUTE_WITH_AUTHORITY.test(target) && URI_CHARACTERS.test(target) ? target : url.href;
  }
  const path = url.pathname;
  const name = input.queryCredentialName;
  // Re-serialising the query re-encodes it, so only a link that carries the credential pays for it.
  if (name !== undefined && url.searchParams.has(name)) url.searchParams.delete(name);
  const below = path.slice(basePath.length);
  return `${input.relayBase}${below === '' ? '/' : below}${url.search}${url.hash}`;
}
