import { PipesError } from '../../errors.ts';

/**
 * Builds the provider URL for a relayed call from the provider's configured base URL and the caller's path (R-X1, P1,
 * P2). The caller only ever supplies a path and a query: the origin comes from configuration, and the result must stay
 * under the base path.
 *
 * The path is checked on its raw text and on every percent-decoded layer (`%252e` → `%2e` → `.`), because the provider
 * or a proxy in front of it may decode again before routing. Rules, per layer:
 * - no dot segments (`.`, `..`, `..;x` which Tomcat treats as `..`, `.. ` which Windows trims to `..`, `..?` and
 *   `..#` from `%3F` and `%23`, which end the path for a proxy that parses it again);
 * - no empty interior segments (`//host`, `a//b`), and no first segment that is only spaces;
 * - no backslashes, control characters, NUL, CR or LF;
 * - read as UTF-8 too (when it is), NFKC-normalised, with invisible characters removed and Unicode spaces trimmed
 *   from each segment's ends: still no dot segments (`%ef%bc%8e%ef%bc%8e` is `．．`, `..%c2%a0` is `..` and a
 *   no-break space, `.%e2%81%a0.` holds a word joiner) and no empty first segment (`／／host`), since a provider that
 *   normalises Unicode, drops invisible characters or trims spaces would read `..` or `//` where the byte-wise check
 *   saw a name; escapes the normalising made (`％２ｅ`) are decoded as one more layer; and no overlong UTF-8
 *   (`%c0%ae`, which old lenient decoders read as `.`), C1 controls or bidi controls (which make a path read one way
 *   in a log or on the dashboard and another on the wire).
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
/** What a lenient provider may trim from a segment's ends: `\s` (U+00A0, U+3000…). */
const UNICODE_PADDING = /^\s+|\s+$/g;
/**
 * Invisible characters a lenient provider may drop anywhere in a name: format characters (`\p{Cf}`: zero-width marks,
 * the word joiner, the soft hyphen, bidi controls) and the other default-ignorable ones (variation selectors, the
 * combining grapheme joiner, Hangul fillers), and U+FFFD, what a byte that is not UTF-8 reads as, which a decoder
 * that ignores such bytes drops (`..%ff`). Removed only for the dot and empty-segment tests: names keep them (an
 * emoji's zero-width joiner).
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\ufffd]/gu;
/**
 * Overlong UTF-8: a lead byte that encodes in two to six bytes what fits in fewer (`%c0%ae` is `.`). Five- and
 * six-byte forms are not UTF-8 at all any more, but the oldest decoders still read them.
 */
const OVERLONG_UTF8 =
  /[\u00c0\u00c1][\u0080-\u00bf]|\u00e0[\u0080-\u009f]|\u00f0[\u0080-\u008f]|[\u00f8-\u00fb][\u0080-\u0087]|[\u00fc\u00fd][\u0080-\u0083]/;
/** C0 and C1 control characters, once the layer is read as UTF-8. */
const UNICODE_CONTROL = /\p{Cc}/u;
/** The bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069). */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;
/** A dot segment once `;params` and padding are gone (`..`, `..;x`, `...`): what the byte-wise rule refuses too. */
const DOTS = /^\.+$/;
/** Dots that climb: `..` and more. */
const CLIMBING_DOTS = /^\.{2,}$/;
/**
 * What ends a segment for a proxy that decodes the path and parses it again: `;params` (Tomcat reads `..;x` as `..`)
 * and a `?` or `#` decoded from `%3F` or `%23` (`..%3F` is `..`).
 */
const SEGMENT_END = /[;?#]/;

function nameOf(segment: string): string {
  return segment.split(SEGMENT_END, 1)[0]!;
}

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
    refuseEmptyFirstSegment(i, nameOf(segment).trim(), segments.length);
    refuseDotSegment(segment, (part) => part.trim());
  }
  if (HIGH_BYTE.test(layer)) checkUnicodeSegments(layer);
}

/**
 * A first segment that is empty once trimmed (`/%20/evil.example`): a provider that trims would read `//evil.example`,
 * which a client resolving the path as a reference reads as a host. Further in, such a segment leaves nothing.
 */
function refuseEmptyFirstSegment(index: number, trimmed: string, count: number): void {
  if (index === 1 && trimmed === '' && count > 2) throw invalidPath('empty path segments are not allowed');
}

/**
 * A segment that is only dots once its padding (what `trim` removes) and `;params` are gone (`.`, `..`, `..;x`,
 * `...`), or only climbing dots before a decoded `?` or `#` (`..%3F`). A single dot before them is a name
 * (`.#notes.md`, an editor's lock file): it cannot climb.
 */
function refuseDotSegment(segment: string, trim: (part: string) => string): void {
  const beforeParams = trim(segment.split(';', 1)[0]!);
  if ((beforeParams !== '' && DOTS.test(beforeParams)) || CLIMBING_DOTS.test(trim(nameOf(segment))))
    throw invalidPath('dot segments are not allowed');
}

/**
 * The path rules on a layer read the way a Unicode-aware provider might read it: as UTF-8, NFKC-normalised
 * (fullwidth `．` and `․` become `.`, fullwidth `／` a `/`, so segments are split after normalising), with invisible
 * characters removed and each segment's Unicode padding trimmed. Bytes that are not valid UTF-8 read as U+FFFD, as a
 * lenient decoder reads them: one stray byte elsewhere in the path must not switch the rules off
 * (`/a/%ef%bc%8e%ef%bc%8e/b%ff`), and U+FFFD is never a dot. Overlong forms are refused outright: a decoder that reads
 * them reads an ASCII `.` or `/` the byte-wise rules never saw.
 */
function checkUnicodeSegments(layer: string): void {
  let bytes = layer;
  for (let depth = 0; ; depth++) {
    if (OVERLONG_UTF8.test(bytes)) throw invalidPath('overlong UTF-8 sequences are not allowed');
    const read = Buffer.from(bytes, 'latin1').toString('utf8');
    const text = read.normalize('NFKC');
    checkUnicodeText(text);
    // Normalising may have made escapes (fullwidth `％２ｅ` is `%2e`), which a provider that normalises and then
    // decodes reads: they are decoded, and the result read the same way again.
    if (text === read || !text.includes('%')) return;
    const normalisedBytes = Buffer.from(text, 'utf8').toString('latin1');
    const next = percentDecodeBytes(normalisedBytes);
    if (next === normalisedBytes) return;
    if (depth === MAX_DECODE_LAYERS) throw invalidPath('too many layers of percent-encoding');
    bytes = next;
  }
}

/** The Unicode reading's rules on a layer read as UTF-8 and normalised. */
function checkUnicodeText(text: string): void {
  if (UNICODE_CONTROL.test(text)) throw invalidPath('control characters are not allowed');
  if (BIDI_CONTROL.test(text)) throw invalidPath('bidirectional text controls are not allowed');
  const segments = text.split(/[/\\]/);
  // As in checkLayer: segments[0] precedes the leading slash. Empty segments further in are not refused here: a
  // fullwidth `／` is a character of many a file name (`／notes.md`), and an empty segment there leaves nothing.
  for (let i = 1; i < segments.length; i++) {
    const visible = segments[i]!.replace(INVISIBLE, '');
    refuseEmptyFirstSegment(i, nameOf(visible).replace(UNICODE_PADDING, ''), segments.length);
    refuseDotSegment(visible, (part) => part.replace(UNICODE_PADDING, ''));
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
