import type { IncomingHttpHeaders } from 'node:http';
import {
  brotliDecompress,
  constants,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createInflateRaw,
  gunzip,
  type InputType,
  inflate,
  inflateRaw,
  type ZlibOptions,
} from 'node:zlib';
import type { PipesError } from '../errors.ts';
import { relayErrors } from './errors.ts';
import { SecretScanner } from './secret-scanner.ts';

/**
 * Compressed provider responses, decoded to be scanned for a reflected credential (secret-scanner.ts) while the
 * caller still gets the provider's bytes unchanged.
 *
 * Why: nearly every HTTP client asks for a compressed body (`Accept-Encoding: gzip, deflate, br` is the default of
 * fetch, Octokit, Python's requests, the Slack and Google clients), so a scan of the raw bytes alone missed most real
 * traffic. The relay therefore asks the provider only for codings it can decode (`acceptEncodingForProvider`) and
 * decodes what comes back, with node:zlib: off the main thread, in bounded memory, and never past the relay's
 * response size limit (a small "zip bomb" counts at its decoded size).
 */

/** How a response body is coded, as far as scanning it goes. */
export type ContentCoding = 'identity' | 'gzip' | 'deflate' | 'br' | 'other';

const CODINGS: Record<string, ContentCoding> = {
  '': 'identity',
  identity: 'identity',
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
};

/**
 * The response's `Content-Encoding`. `other` is anything the relay did not ask for and cannot decode (several
 * codings, `zstd`, or a bogus value such as `utf-8`): its bytes are scanned as they are, as a plain body's.
 */
export function contentCodingOf(headers: IncomingHttpHeaders): ContentCoding {
  const value = headers['content-encoding'];
  if (value === undefined) return 'identity';
  if (typeof value !== 'string') return 'other';
  return CODINGS[value] ?? CODINGS[value.trim().toLowerCase()] ?? 'other';
}

export function isCompressed(coding: ContentCoding): coding is 'gzip' | 'deflate' | 'br' {
  return coding === 'gzip' || coding === 'deflate' || coding === 'br';
}

/** Codings a caller may ask the provider for through the relay: the ones it can decode to scan. */
const ACCEPTABLE = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity']);

/**
 * The caller's `Accept-Encoding` as sent to the provider: only the codings the relay decodes are kept, with their
 * weights (`zstd` and `*` are left out, so a provider never picks a coding the scan cannot read). When none is left,
 * `identity`.
 */
export function acceptEncodingForProvider(value: string): string {
  const kept: string[] = [];
  for (const item of value.split(',')) {
    const semicolon = item.indexOf(';');
    const coding = (semicolon === -1 ? item : item.slice(0, semicolon)).trim().toLowerCase();
    if (ACCEPTABLE.has(coding)) kept.push(item.trim());
  }
  return kept.length === 0 ? 'identity' : kept.join(', ');
}

/**
 * `deflate` is meant to be zlib-wrapped (RFC 9110, 8.4.1.2), but some servers send raw deflate; clients accept both,
 * and tell them apart by the first byte as undici's fetch does (a zlib header's low nibble is 8).
 */
function isZlibWrapped(first: number | undefined): boolean {
  return first !== undefined && (first & 0x0f) === 0x08;
}

/** Lenient at the end, as clients are: a body cut short still decodes as far as it goes. */
const ZLIB_OPTIONS: ZlibOptions = { flush: constants.Z_SYNC_FLUSH, finishFlush: constants.Z_SYNC_FLUSH };
const BROTLI_OPTIONS = {
  flush: constants.BROTLI_OPERATION_FLUSH,
  finishFlush: constants.BROTLI_OPERATION_FLUSH,
};

type Decode = (
  body: InputType,
  options: ZlibOptions,
  callback: (error: Error | null, result: Buffer) => void,
) => void;

function wholeDecoder(coding: 'gzip' | 'deflate' | 'br', first: number | undefined): Decode {
  if (coding === 'gzip') return gunzip;
  if (coding === 'deflate') return isZlibWrapped(first) ? inflate : inflateRaw;
  return brotliDecompress as Decode;
}

/** The relay's error for a decoding failure: too large once decoded, or not decodable at all. */
function decodingError(error: unknown, maxBytes: number): PipesError {
  if ((error as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE') {
    return relayErrors.responseTooLarge(maxBytes);
  }
  return relayErrors.undecodableResponse();
}

/**
 * Decodes a whole (held) body on libuv's pool and scans it. Resolves with the error that must replace the response
 * (the credential found, too large decoded, not decodable), or null when it may be sent as it came.
 */
export function checkCompressedBody(
  coding: 'gzip' | 'deflate' | 'br',
  chunks: readonly Buffer[],
  needles: readonly Buffer[],
  maxBytes: number,
): Promise<PipesError | null> {
  if (chunks.length === 0) return Promise.resolve(null);
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const options = { ...(coding === 'br' ? BROTLI_OPTIONS : ZLIB_OPTIONS), maxOutputLength: maxBytes };
  return new Promise((resolve) => {
    wholeDecoder(coding, body[0])(body, options, (error, decoded) => {
      if (error !== null) resolve(decodingError(error, maxBytes));
      else resolve(new SecretScanner(needles).found(decoded) ? relayErrors.credentialReflected() : null);
    });
  });
}

type Decoder = ReturnType<typeof createGunzip> | ReturnType<typeof createBrotliDecompress>;

function streamDecoder(coding: 'gzip' | 'deflate' | 'br', first: number | undefined): Decoder {
  if (coding === 'gzip') return createGunzip(ZLIB_OPTIONS);
  if (coding === 'deflate')
    return isZlibWrapped(first) ? createInflate(ZLIB_OPTIONS) : createInflateRaw(ZLIB_OPTIONS);
  return createBrotliDecompress(BROTLI_OPTIONS);
}

/**
 * Decodes a streamed body chunk by chunk and scans what comes out, so that each compressed chunk can be passed on
 * only once everything it decodes to has been scanned (the scan carries over chunk boundaries, as for a plain body).
 * Decoded output is read as soon as it is ready, so memory stays at zlib's own buffers whatever the ratio.
 *
 * The first problem (the credential, too many decoded bytes, a body that does not decode) is reported at once to
 * `onProblem`, even in the middle of a chunk; after it, no check passes.
 */
export class DecodingScanner {
  readonly #coding: 'gzip' | 'deflate' | 'br';
  readonly #scanner: SecretScanner;
  readonly #maxBytes: number;
  readonly #onProblem: (problem: PipesError) => void;
  #decoder: Decoder | null = null;
  #decodedBytes = 0;
  #problem: PipesError | null = null;

  constructor(
    coding: 'gzip' | 'deflate' | 'br',
    needles: readonly Buffer[],
    maxBytes: number,
    onProblem: (problem: PipesError) => void,
  ) {
    this.#coding = coding;
    this.#scanner = new SecretScanner(needles);
    this.#maxBytes = maxBytes;
    this.#onProblem = onProblem;
  }

  /** Decodes `chunk` and calls `passed` once all its output is scanned and clean. Checks pass in order. */
  check(chunk: Buffer, passed: () => void): void {
    if (this.#problem !== null) return;
    this.#decoderFor(chunk[0]).write(chunk, (error) => {
      if (error !== null && error !== undefined) this.#fail(decodingError(error, this.#maxBytes));
      else this.#drain();
      if (this.#problem === null) passed();
    });
  }

  /** At the end of the body: decodes and scans what zlib still holds, then calls `passed` as `check` does. */
  finish(passed: () => void): void {
    const decoder = this.#decoder;
    if (this.#problem !== null) return;
    if (decoder === null) {
      passed();
      return;
    }
    decoder.end(() => {
      this.#drain();
      if (this.#problem === null) passed();
    });
  }

  /** Frees zlib's memory at once (a call that ends early). */
  close(): void {
    this.#decoder?.destroy();
  }

  #decoderFor(first: number | undefined): Decoder {
    if (this.#decoder !== null) return this.#decoder;
    const decoder = streamDecoder(this.#coding, first);
    decoder.on('error', (error) => this.#fail(decodingError(error, this.#maxBytes)));
    // zlib stops once its output buffer is full; reading here lets a highly compressed chunk decode to its end.
    decoder.on('readable', () => this.#drain());
    this.#decoder = decoder;
    return decoder;
  }

  /** Reads and scans every decoded byte that is ready. */
  #drain(): void {
    const decoder = this.#decoder;
    if (decoder === null || this.#problem !== null) return;
    for (let out: Buffer | null = decoder.read(); out !== null; out = decoder.read()) {
      this.#decodedBytes += out.length;
      const problem =
        this.#decodedBytes > this.#maxBytes
          ? relayErrors.responseTooLarge(this.#maxBytes)
          : this.#scanner.found(out)
            ? relayErrors.credentialReflected()
            : null;
      if (problem !== null) {
        this.#fail(problem);
        return;
      }
    }
  }

  /** The first problem ends the scan: zlib stops, and the caller hears of it once. */
  #fail(problem: PipesError): void {
    if (this.#problem !== null) return;
    this.#problem = problem;
    this.#decoder?.destroy();
    this.#onProblem(problem);
  }
}
