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
 * place under the relay URL the caller used; the parameters stay byte for byte as the provider sent them.
 * `Location` follows the same rule: GitHub answers a renamed repository with a 301 to
 * `https://api.github.com/repositories/{id}`, which a fetch-based SDK follows by itself. Rewritten, the client follows it
 * into the relay, which calls the provider afresh with every check; a `Location` elsewhere (a signed download URL on
 * another host) stays as sent, and the relay itself still never follows a redirect.
 *
 * Rules keep a hostile provider from turning a link against the caller, whose client resolves what it gets against
 * the relay URL (Pipes' origin) and follows it with its own headers, the Pipes API key included:
 * - with a relay base, a link-value of a `Link` header whose target does not lead back into the relay is left out:
 *   SDKs follow pagination links by themselves, so one that leads elsewhere, even to the provider, would take the key
 *   there; a `<` inside a quoted parameter drops the whole header (parsers disagree on where a quoted string ends);
 * - a relative `Location` that is not rewritten is sent as an absolute URL on the provider, where the provider meant
 *   it; passed on as sent, `Location: /data-integrations/github` after a `DELETE` made fetch delete that integration.
 *   fetch drops `Authorization` when a redirect changes origin, so a `Location` elsewhere stays;
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
 * Rewrites the link targets (`<…>`) of one `Link` header value; null to drop the header. Hand-written rather than
 * parsed and re-serialised with a library: only the targets change, and the parameters (quoted strings that may
 * themselves contain `,` or `;`) must reach the caller exactly as sent. With a relay base, a link-value whose target
 * does not lead back into the relay is left out (a documentation link, a page on another host), and the rest kept.
 */
export function rewriteLinkHeader(value: string, input: LinkRewriteInput): string | null {
  const linkValues = splitLinkValues(value);
  if (linkValues === null) return null;
  const base = new URL(input.providerBase);
  const basePath = basePathOf(base);
  const kept: string[] = [];
  for (const { text, targets } of linkValues) {
    let out = '';
    let copiedUpTo = 0;
    let intoRelay = true;
    for (const [start, end] of targets) {
      const target = text.slice(start, end);
      const rewritten = rewriteTarget(target, base, basePath, input);
      if (rewritten === DROP) return null;
      intoRelay &&= rewritten.intoRelay;
      if (rewritten.value !== target) {
        out += `${text.slice(copiedUpTo, start)}${rewritten.value}`;
        copiedUpTo = end;
      }
    }
    // SDKs follow pagination links with their own headers, the Pipes API key among them (Octokit's `paginate`): a
    // link that leads anywhere but into the relay, the provider included, would take the key there.
    if (input.relayBase !== null && !intoRelay) continue;
    kept.push(copiedUpTo === 0 ? text : out + text.slice(copiedUpTo));
  }
  if (kept.length === 0) return null;
  return kept.length === linkValues.length ? kept.join(',') : kept.join(',').trimStart();
}

/** One link-value of a `Link` header, with where its targets (between `<` and `>`) start and end in it. */
interface LinkValue {
  text: string;
  targets: [start: number, end: number][];
}

/**
 * A `Link` header's link-values: split at the commas outside quoted strings and targets. Null unless every one is
 * `<target>` and then only parameters (RFC 8288), since clients disagree about anything else: a `<` never closed (a
 * lenient parser reads a target to the end of the header); a `<` inside a quoted string (Octokit's
 * `<([^<>]+)>;\s*rel="next"` finds a target in `title="<https://pipes…>; rel="next"`); a link-value with no target
 * or text before it (`https://evil.example/; rel="next"`, which Python's requests and npm's parse-link-header follow);
 * a `>` outside a target. No provider has a reason to send any of them.
 */
function splitLinkValues(value: string): LinkValue[] | null {
  const linkValues: LinkValue[] = [];
  let current: LinkValue = { text: '', targets: [] };
  let start = 0;
  let inQuotes = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (inQuotes) {
      if (char === '\\') i++;
      else if (char === '"') inQuotes = false;
      else if (char === '<') return null;
    } else if (char === '"') {
      inQuotes = true;
    } else if (char === '<') {
      const end = value.indexOf('>', i + 1);
      if (end === -1) return null;
      current.targets.push([i + 1 - start, end - start]);
      i = end;
    } else if (char === '>') {
      return null;
    } else if (char === ',') {
      current.text = value.slice(start, i);
      linkValues.push(current);
      current = { text: '', targets: [] };
      start = i + 1;
    }
  }
  current.text = value.slice(start);
  linkValues.push(current);
  return linkValues.every(isPlainLinkValue) ? linkValues : null;
}

/** `<target>`, with only spaces or tabs around it, then nothing or `;` and the parameters. */
const PLAIN_LINK_VALUE = /^[ \t]*<[^<>]*>[ \t]*(;|$)/;

/** A plain link-value, or an empty list element (`<a>; rel=next, ,`), which RFC 8288's list syntax allows. */
function isPlainLinkValue(linkValue: LinkValue): boolean {
  if (linkValue.targets.length === 0) return linkValue.text.trim() === '';
  return linkValue.targets.length === 1 && PLAIN_LINK_VALUE.test(linkValue.text);
}

/** Rewrites a `Location` header value by the same rules; null to drop the header. */
export function rewriteLocationHeader(value: string, input: LinkRewriteInput): string | null {
  const base = new URL(input.providerBase);
  const target = value.trim();
  const rewritten = rewriteTarget(target, base, basePathOf(base), input);
  if (rewritten === DROP) return null;
  return rewritten.value === target ? value : rewritten.value;
}

const DROP = Symbol('drop');
/** A target as it is to be sent, and whether it leads back into the relay. */
interface Rewritten {
  value: string;
  intoRelay: boolean;
}
/**
 * A scheme and an authority (`https://host…`): a URL every client resolves to the same place whatever its base. A
 * scheme alone is not enough: `https:/data-integrations/x` (or `https:\\…`, `https:path`) is a relative reference
 * to a client whose base has the same scheme, so on the relay's origin it leads to Pipes.
 */
const ABSOLUTE_WITH_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** RFC 3986's characters, unreserved, reserved and `%`: no backslash, space, control or non-ASCII character. */
const URI_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

/**
 * A host as a client connects to it: the name without a fully qualified name's trailing dot (`pipes.example.com.`),
 * and the port with 80 and 443 read as the default, since a `Host` header does not say which scheme it came with.
 */
function hostKey(hostname: string, port: string): string {
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return port === '' || port === '80' || port === '443' ? name : `${name}:${port}`;
}

/** Whether a link leads to one of Pipes' hosts: `Host` values as sent (`Pipes.Example.com.:8080`), read as a URL reads them. */
function leadsToPipes(url: URL, pipesHosts: readonly string[]): boolean {
  const key = hostKey(url.hostname, url.port);
  return pipesHosts.some((host) => {
    try {
      const pipes = new URL(`http://${host}`);
      return hostKey(pipes.hostname, pipes.port) === key;
    } catch {
      return false;
    }
  });
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
): Rewritten | typeof DROP {
  let url: URL;
  try {
    url = new URL(target, input.requestUrl);
  } catch {
    return DROP;
  }
  if (leadsToPipes(url, input.pipesHosts)) return DROP;
  if (input.relayBase === null || !isUnderBase(url, base, basePath)) {
    const asSent = ABSOLUTE_WITH_AUTHORITY.test(target) && URI_CHARACTERS.test(target);
    return { value: asSent ? target : url.href, intoRelay: false };
  }
  const path = url.pathname;
  const name = input.queryCredentialName;
  // Re-serialising the query re-encodes it, so only a link that carries the credential pays for it.
  if (name !== undefined && url.searchParams.has(name)) url.searchParams.delete(name);
  const below = path.slice(basePath.length);
  return {
    value: `${input.relayBase}${below === '' ? '/' : below}${url.search}${url.hash}`,
    intoRelay: true,
  };
}
