import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderEntry } from '../providers/catalog-schema.ts';
import { acceptEncodingForProvider, IDENTITY_ONLY } from './compressed-body.ts';
import {
  addConnectionNames,
  assertRequestHeader,
  isDroppedRequestHeader,
  isPassableResponseHeader,
} from './egress/index.ts';
import { type LinkRewriteInput, rewriteLinkHeader, rewriteLocationHeader } from './links.ts';
import { containsSecret } from './secret-scanner.ts';

/**
 * The relay's header rules (those of `filterRequestHeaders` and `filterResponseHeaders`, plus the relay's own: the
 * provider's default headers, the credential, no `Pipes-*` from the provider, no header quoting the credential),
 * applied in one pass over `node:http`'s and undici's parsed headers, whose names are already lower-cased. The result
 * is a flat `[name, value, …]` array, which undici's `dispatch` and `res.writeHead` both take as it is: building
 * records and copying them again showed up in hot-path profiles.
 */
export type FlatHeaders = string[];

/** The lower-cased header names a `Connection` header lists, or null when it lists none that could be forwarded. */
function connectionNamed(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  if (typeof value === 'string') {
    // The usual values name only hop-by-hop headers, which are dropped anyway: skip building a set for them.
    if (value === 'keep-alive' || value === 'close') return null;
    const lower = value.toLowerCase();
    if (lower === 'keep-alive' || lower === 'close') return null;
  }
  const names = new Set<string>();
  for (const item of typeof value === 'string' ? [value] : value) addConnectionNames(item, names);
  return names;
}

/** Whether `trim()` could remove this end character (ASCII whitespace and controls, or anything non-ASCII). */
const mayTrim = (code: number) => code <= 0x20 || code >= 0x7f;

/** `trim()`, without the call for the usual value that has nothing to trim. */
function trimmed(value: string): string {
  const last = value.length - 1;
  return last >= 0 && (mayTrim(value.charCodeAt(0)) || mayTrim(value.charCodeAt(last)))
    ? value.trim()
    : value;
}

function findName(headers: FlatHeaders, name: string): number {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return i;
  return -1;
}

/**
 * The headers sent to the provider: the caller's, filtered (a malformed one fails the request with 400
 * `invalid_header`), then the provider's `extra_headers` the caller did not override, then the credential, which
 * always wins. The catch-all `Accept` every fetch sends by default is not a choice, so it does not replace a
 * provider's `Accept`. `Accept-Encoding` keeps only the codings the relay can decode to scan, and is `identity` when
 * neither the caller nor the provider named one.
 */
export function buildRequestHeaders(
  incoming: IncomingHttpHeaders,
  extras: readonly string[],
  credential: readonly [name: string, value: string] | undefined,
): FlatHeaders {
  const named = connectionNamed(incoming.connection);
  const credentialName = credential?.[0];
  const out: FlatHeaders = [];
  for (const name in incoming) {
    const raw = incoming[name];
    if (raw === undefined) continue;
    let value: string;
    if (typeof raw === 'string') {
      assertRequestHeader(name, raw);
      value = trimmed(raw);
    } else {
      for (const item of raw) assertRequestHeader(name, item);
      value = raw.map((item) => item.trim()).join(', ');
    }
    if (isDroppedRequestHeader(name) || name === credentialName || named?.has(name) === true) continue;
    // Only codings the relay can decode, so that a compressed answer is scanned too (compressed-body.ts).
    if (name === 'accept-encoding') value = acceptEncodingForProvider(value);
    out.push(name, value);
  }
  for (let i = 0; i < extras.length; i += 2) {
    const name = extras[i]!;
    if (name === credentialName) continue;
    const at = findName(out, name);
    if (at === -1) out.push(name, extras[i + 1]!);
    else if (name === 'accept' && out[at + 1] === '*/*') out[at + 1] = extras[i + 1]!;
  }
  if (findName(out, 'accept-encoding') === -1) out.push('accept-encoding', IDENTITY_ONLY);
  if (credential !== undefined) out.push(credential[0], credential[1]);
  return out;
}

/**
 * Appends the provider's response headers that may reach the caller to `out`: malformed, hop-by-hop, cookie, CORS,
 * HSTS and similar headers are dropped (as by `filterResponseHeaders`), and so are any `Pipes-*` header (ours alone)
 * and any header whose value contains one of `secrets`. Repeated headers are joined with ", ". With `links`, the
 * `Link` and `Location` targets into the provider's API are pointed back at the relay (`links.ts`) before that check,
 * so a link that carried a query credential loses it rather than the whole header; relative targets are made absolute
 * on the provider, and a header with a target on Pipes' own host is dropped.
 */
export function appendResponseHeaders(
  incoming: IncomingHttpHeaders,
  secrets: readonly string[],
  out: FlatHeaders,
  links?: LinkRewriteInput,
): void {
  const named = connectionNamed(incoming.connection);
  for (const name in incoming) {
    const raw = incoming[name];
    if (raw === undefined || name.startsWith('pipes-') || named?.has(name) === true) continue;
    let value: string | undefined;
    if (typeof raw === 'string') {
      if (isPassableResponseHeader(name, raw)) value = trimmed(raw);
    } else {
      for (const item of raw) {
        if (!isPassableResponseHeader(name, item)) continue;
        value = value === undefined ? item.trim() : `${value}, ${item.trim()}`;
      }
    }
    if (value === undefined) continue;
    if (links !== undefined) {
      if (name === 'link') value = rewriteLinkHeader(value, links) ?? undefined;
      else if (name === 'location') value = rewriteLocationHeader(value, links) ?? undefined;
    }
    if (value === undefined || containsSecret(value, secrets)) continue;
    out.push(name, value);
  }
}

/**
 * Lower-cased `api.extra_headers` of each catalog entry as flat pairs (a later spelling of the same name wins),
 * computed once per entry instead of once per call.
 */
export class ExtraHeaders {
  readonly #memo = new WeakMap<ProviderEntry, readonly string[]>();

  of(provider: ProviderEntry): readonly string[] {
    let flat = this.#memo.get(provider);
    if (flat === undefined) {
      const byName = new Map<string, string>();
      const extra = provider.api.extra_headers;
      for (const name in extra) byName.set(name.toLowerCase(), extra[name]!);
      // A provider's default Accept-Encoding is filtered like a caller's (compressed-body.ts), once per entry.
      const acceptEncoding = byName.get('accept-encoding');
      if (acceptEncoding !== undefined)
        byName.set('accept-encoding', acceptEncodingForProvider(acceptEncoding));
      flat = [...byName].flat();
      this.#memo.set(provider, flat);
    }
    return flat;
  }
}
