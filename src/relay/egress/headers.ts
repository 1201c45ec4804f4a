import { PipesError } from '../../errors.ts';

/**
 * Header hygiene for the relay (R-X5, R-X6, P7–P9).
 *
 * Requests: the caller must not be able to pick the provider credential, smuggle a second request, spoof the client
 * address or reach our own control headers, so those are dropped, and a value with CR, LF or another control
 * character fails the whole request (400) rather than being silently cleaned.
 * Responses: the provider must not set cookies or CORS on our origin, pin its own HSTS/Alt-Svc on us, or pass
 * hop-by-hop headers through; malformed values from the provider are dropped, not fatal.
 */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | number | undefined>>;
export type HeadersInput = HeaderRecord | Iterable<readonly [string, string]>;

/** Hop-by-hop headers (RFC 9110 §7.6.1, plus the historical `trailers` and `proxy-connection`). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade'];

const REQUEST_DROP: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'http2-settings',
  // Only the broker sets the provider credential.
  'authorization',
  'cookie',
  'x-api-key',
  'api-key',
  'private-token',
  'x-auth-token',
  // Client address and routing: never spoofable by the caller.
  'host',
  'forwarded',
  'x-real-ip',
  // Body framing is re-done by the HTTP client; `expect` would make undici throw.
  'content-length',
  'expect',
]);
const REQUEST_DROP_PREFIXES = ['proxy-', 'x-forwarded-', 'pipes-'];

const RESPONSE_DROP: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'set-cookie',
  'set-cookie2',
  'clear-site-data',
  'alt-svc',
  'strict-transport-security',
]);
const RESPONSE_DROP_PREFIXES = ['proxy-', 'access-control-'];

/**
 * RFC 9110 `tchar`, as a table indexed by character code. Header names and values are checked with loops over the
 * characters rather than regular expressions: this runs for every header of every relayed call, and a regular
 * expression test cost several times as many instructions (callgrind, docs/relay.md "Benchmark").
 */
const TCHAR: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (const char of "!#$%&'*+-.^_`|~") table[char.charCodeAt(0)] = 1;
  for (let code = 0x30; code <= 0x39; code++) table[code] = 1;
  for (let code = 0x41; code <= 0x5a; code++) table[code] = 1;
  for (let code = 0x61; code <= 0x7a; code++) table[code] = 1;
  return table;
})();

/** True for an RFC 9110 `token`: one or more `tchar`s. */
export function isHeaderToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0x80 || TCHAR[code] === 0) return false;
  }
  return true;
}

/** True when the value holds a C0 control character other than HTAB, or DEL. CR, LF and NUL are the ones that matter. */
export function hasForbiddenValueChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

function entriesOf(input: HeadersInput): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (Symbol.iterator in input) {
    for (const [name, value] of input as Iterable<readonly [string, string]>) out.push([name, String(value)]);
    return out;
  }
  for (const [name, value] of Object.entries(input as HeaderRecord)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) out.push([name, String(item)]);
    else out.push([name, String(value)]);
  }
  return out;
}

/** Adds the lower-cased header names listed in one `Connection` header value to `names`. */
export function addConnectionNames(value: string, names: Set<string>): void {
  for (const token of value.split(',')) {
    const trimmed = token.trim().toLowerCase();
    if (trimmed !== '') names.add(trimmed);
  }
}

/** The lower-cased header names listed in every `Connection` header value. */
function namedByConnection(entries: ReadonlyArray<[string, string]>): Set<string> {
  const names = new Set<string>();
  for (const [name, value] of entries)
    if (name.toLowerCase() === 'connection') addConnectionNames(value, names);
  return names;
}

function hasPrefix(name: string, prefixes: readonly string[]): boolean {
  // A loop rather than `some`: this runs for every header of every relayed call.
  for (const prefix of prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

/** Adds to a null-prototype record, so that a header called `__proto__` is just a header. */
function append(record: Record<string, string>, name: string, value: string): void {
  const existing = record[name];
  record[name] = existing === undefined ? value : `${existing}, ${value}`;
}

/**
 * Throws `invalid_header` (400) for a malformed request header name or a value containing CR, LF, NUL or another
 * control character. The message names the header, never its value.
 */
export function assertRequestHeader(name: string, value: string): void {
  if (!isHeaderToken(name))
    throw new PipesError('invalid_header', 'A request header name is malformed.', { status: 400 });
  if (hasForbiddenValueChar(value)) {
    throw new PipesError(
      'invalid_header',
      `The "${name.toLowerCase()}" header contains a forbidden character.`,
      {
        status: 400,
      },
    );
  }
}

/** True for a (lower-cased) request header that is never forwarded, whatever `Connection` says. */
export function isDroppedRequestHeader(name: string): boolean {
  return REQUEST_DROP.has(name) || hasPrefix(name, REQUEST_DROP_PREFIXES);
}

/** True for a (lower-cased) response header that may reach the caller: well-formed, and not one we drop. */
export function isPassableResponseHeader(name: string, value: string): boolean {
  // The name checks first: they are cheaper and drop the usual hop-by-hop headers before the character checks.
  if (RESPONSE_DROP.has(name) || hasPrefix(name, RESPONSE_DROP_PREFIXES)) return false;
  return isHeaderToken(name) && !hasForbiddenValueChar(value);
}

export interface RequestHeaderFilterOptions {
  /**
   * When given, only these header names (case-insensitive) are forwarded, after the deny rules. R-X5 prefers an
   * allowlist; without one every header not denied is forwarded.
   */
  allow?: Iterable<string>;
  /** Extra header names to drop. */
  drop?: Iterable<string>;
}

/**
 * Filters the caller's headers for forwarding to a provider. Returns a null-prototype record with lower-cased names
 * (repeated headers joined with ", "). Throws `invalid_header` (400) for a malformed name or a value containing CR,
 * LF, NUL or another control character. The message names the header, never its value.
 */
export function filterRequestHeaders(
  incoming: HeadersInput,
  options: RequestHeaderFilterOptions = {},
): Record<string, string> {
  const entries = entriesOf(incoming);
  for (const [name, value] of entries) assertRequestHeader(name, value);
  const allow = options.allow === undefined ? null : new Set([...options.allow].map((n) => n.toLowerCase()));
  const drop = new Set([...(options.drop ?? [])].map((n) => n.toLowerCase()));
  const connectionNamed = namedByConnection(entries);

  const out: Record<string, string> = Object.create(null);
  for (const [rawName, value] of entries) {
    const name = rawName.toLowerCase();
    if (isDroppedRequestHeader(name)) continue;
    if (connectionNamed.has(name) || drop.has(name)) continue;
    if (allow !== null && !allow.has(name)) continue;
    append(out, name, value.trim());
  }
  return out;
}

export interface ResponseHeaderFilterOptions {
  /** Extra header names to drop (e.g. `content-length` when the body is re-encoded). */
  drop?: Iterable<string>;
}

/**
 * Filters a provider's response headers for returning to the caller. Returns a null-prototype record with lower-cased
 * names. Headers with malformed names or values are dropped.
 */
export function filterResponseHeaders(
  incoming: HeadersInput,
  options: ResponseHeaderFilterOptions = {},
): Record<string, string> {
  const entries = entriesOf(incoming);
  const drop = new Set([...(options.drop ?? [])].map((n) => n.toLowerCase()));
  const connectionNamed = namedByConnection(entries);

  const out: Record<string, string> = Object.create(null);
  for (const [rawName, value] of entries) {
    const name = rawName.toLowerCase();
    if (!isPassableResponseHeader(name, value)) continue;
    if (connectionNamed.has(name) || drop.has(name)) continue;
    append(out, name, value.trim());
  }
  return out;
}
