import { PipesError } from '../../errors.ts';

/**
 * Builds the provider URL for a relayed call from the provider's configured base URL and the caller's path (R-X1, P1,
 * P2). The caller only ever supplies a path and a query: the origin comes from configuration, and the result must stay
 * under the base path.
 *
 * The path is checked on its raw text and on every percent-decoded layer (`%252e` → `%2e` → `.`), because the provider
 * or a proxy in front of it may decode again before routing. Rules, per layer:
 * - no dot segments (`.`, `..`, `..;x` which Tomcat treats as `..`, `.. ` which Windows trims to `..`);
 * - no empty interior segments (`//host`, `a//b`);
 * - no backslashes, control characters, NUL, CR or LF;
 * - read as UTF-8 too (when it is), NFKC-normalised and with Unicode spaces and zero-width characters trimmed from each
 *   segment's ends, still no dot segments (`%ef%bc%8e%ef%bc%8e` is `．．`, `..%c2%a0` is `..` and a no-break space):
 *   a provider that normalises Unicode or trims spaces would read `..` where the byte-wise check saw a name.
 * On the raw text additionally: only RFC 3986 path characters, no scheme (`http:`), no `@` in the first segment
 * (authority position), no `#`.
 */
function invalidPath(problem: string): PipesError {
  return new PipesError('invalid_relay_path', `Invalid relay path: ${problem}.`, { status: 400 });
}

/** RFC 3986 `pchar` plus `/`; everything else must be percent-encoded by the caller. */
const RAW_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_QUERY = /[\u0000-\u0020\u007f#]/;
/** How many nested encodings we look through; anything still changing after that is refused. */
const MAX_DECODE_LAYERS = 4;
/** A decoded byte ≥ 0x80: only then can the UTF-8 reading of a layer differ from its bytes. */
const HIGH_BYTE = /[\u0080-\u00ff]/;
/** What a lenient provider may trim from a segment's ends: `\s` (U+00A0, U+3000, U+FEFF…) and the zero-width marks. */
const UNICODE_PADDING = /^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$/g;
/** A dot segment once `;params` and padding are gone (`..`, `..;x`, `...`): what the byte-wise rule refuses too. */
const DOTS = /^\.+$/;

/** Decodes `%XX` byte-wise into Latin-1 characters: never throws, and keeps every byte visible to the checks. */
function percentDecodeBytes(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

function checkLayer(layer: string): void {
  if (CONTROL.test(layer)) throw invalidPath('control characters are not allowed');
  if (layer.includes('\\')) throw invalidPath('backslashes are not allowed');
  const segments = layer.split('/');
  // segments[0] is the empty string before the leading slash; the last one may be empty (trailing slash).
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '' && i < segments.length - 1) throw invalidPath('empty path segments are not allowed');
    refuseDotSegment(segment.split(';')[0]!.trim());
  }
  if (HIGH_BYTE.test(layer)) checkUnicodeSegments(layer);
}

/** A segment (its `;params` and padding gone) that is only dots: `..`, `..;x`, `...`. */
function refuseDotSegment(bare: string): void {
  if (bare !== '' && DOTS.test(bare)) throw invalidPath('dot segments are not allowed');
}

/**
 * The dot-segment rule on a layer read the way a Unicode-aware provider might read it: as UTF-8, NFKC-normalised
 * (fullwidth `．` and `․` become `.`, fullwidth `／` a `/`, so segments are split after normalising) and with each
 * segment's Unicode padding trimmed. Bytes that are not valid UTF-8 read as U+FFFD, as a lenient decoder reads them:
 * one stray byte elsewhere in the path must not switch the rule off (`/a/%ef%bc%8e%ef%bc%8e/b%ff`), and U+FFFD is
 * never a dot.
 */
function checkUnicodeSegments(layer: string): void {
  const bytes = Buffer.from(layer, 'latin1');
  for (const segment of bytes.toString('utf8').normalize('NFKC').split(/[/\\]/)) {
    refuseDotSegment(segment.split(';')[0]!.replace(UNICODE_PADDING, ''));
  }
}

function checkPath(path: string): void {
  if (!RAW_PATH.test(path)) throw invalidPath('it contains characters that must be percent-encoded');
  if (BAD_PERCENT.test(path)) throw invalidPath('it contains a malformed percent-encoding');
  let layer = path;
  for (let depth = 0; ; depth++) {
    checkLayer(layer);
    if ((layer.split('/')[1] ?? '').includes('@'))
      throw invalidPath('"@" is not allowed in the first path segment');
    const next = percentDecodeBytes(layer);
    if (next === layer) return;
    if (depth === MAX_DECODE_LAYERS) throw invalidPath('too many layers of percent-encoding');
    layer = next;
  }
}

function normaliseQuery(query: string | undefined): string {
  if (query === undefined || query === '' || query === '?') return '';
  const body = query.startsWith('?') ? query.slice(1) : query;
  if (UNSAFE_QUERY.test(body)) throw invalidPath('the query contains whitespace, control characters or "#"');
  if (BAD_PERCENT.test(body)) throw invalidPath('the query contains a malformed percent-encoding');
  return `?${body}`;
}

/** A provider base URL's path without its trailing slashes: caller paths are joined below it. */
export function basePathOf(base: URL): string {
  return base.pathname.replace(/\/+$/, '');
}

/**
 * Whether `url` lies under a provider base URL: the base's origin, no user info, and a path at or below `basePath`
 * (`basePathOf(base)`), at a segment boundary (`/v2x` is not under `/v2`).
 */
export function isUnderBase(url: URL, base: URL, basePath: string): boolean {
  return (
    url.origin === base.origin &&
    url.username === '' &&
    url.password === '' &&
    (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))
  );
}

/**
 * Joins a caller path (and query) onto a provider base URL. Throws `invalid_relay_path` (400) unless the result has
 * the base's origin and lies under its path. A `?` in `callerPath` starts the query when `query` is not given.
 */
export function joinProviderUrl(baseUrl: string, callerPath: string, query?: string): URL {
  const base = new URL(baseUrl);
  if (
    (base.protocol !== 'https:' && base.protocol !== 'http:') ||
    base.username !== '' ||
    base.password !== ''
  ) {
    throw new PipesError('invalid_provider_base_url', 'The provider base URL is not a plain http(s) URL.', {
      status: 500,
    });
  }
  const basePath = basePathOf(base);

  let path = callerPath;
  let rawQuery = query;
  const questionMark = path.indexOf('?');
  if (questionMark !== -1) {
    if (query !== undefined) throw invalidPath('the query must be given once');
    rawQuery = path.slice(questionMark + 1);
    path = path.slice(0, questionMark);
  }
  if (path.includes('#')) throw invalidPath('fragments are not allowed');
  if (SCHEME.test(path)) throw invalidPath('absolute URLs are not allowed');
  if (!path.startsWith('/')) path = `/${path}`;
  checkPath(path);
  const search = normaliseQuery(rawQuery);

  const result = new URL(`${base.origin}${basePath}${path}${search}`);
  // Defence in depth: the checks above should make these impossible; verify the parsed result anyway.
  const expectedPath = `${basePath}${path}`;
  if (!isUnderBase(result, base, basePath) || result.pathname !== expectedPath) {
    throw invalidPath('it leaves the provider base URL');
  }
  return result;
}

/**
 * Throws `blocked_destination` (400) unless `url` has exactly one of the allowed origins (scheme, host and port).
 * Origins are compared after WHATWG normalisation, so `https://API.example.com:443` equals `https://api.example.com`.
 */
export function assertOriginAllowed(url: string | URL, origins: readonly string[]): URL {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new PipesError('blocked_destination', 'Refusing the destination URL: it is not a valid URL.', {
      status: 400,
    });
  }
  const allowed = origins.some((origin) => {
    try {
      const candidate = new URL(origin).origin;
      return candidate !== 'null' && candidate === parsed.origin;
    } catch {
      return false;
    }
  });
  if (!allowed) {
    throw new PipesError(
      'blocked_destination',
      `Refusing to connect to "${parsed.host}": the origin is not allowed for this provider.`,
      { status: 400 },
    );
  }
  return parsed;
}
