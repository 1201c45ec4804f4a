import type { IncomingHttpHeaders } from 'node:http';
import {
  brotliDecompressSync,
  constants,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createInflateRaw,
  gunzipSync,
  inflateRawSync,
  inflateSync,
  type ZlibOptions,
} from 'node:zlib';
import type { PipesError } from '../errors.ts';
import { relayErrors } from './errors.ts';
import { containsNeedle, SecretScanner } from './secret-scanner.ts';

/**
 * Compressed provider responses, decoded to be scanned for a reflected credential (secret-scanner.ts) while the
 * caller still gets the provider's bytes unchanged.
 *
 * Why: nearly every HTTP client asks for a compressed body (`Accept-Encoding: gzip, deflate, br` is the default of
 * fetch, Octokit, Python's requests, the Slack and Google clients), so a scan of the raw bytes alone missed most real
 * traffic. The relay therefore asks the provider only for codings it can decode (`acceptEncodingForProvider`) and
 * decodes what comes back, with node:zlib streams: off the main thread, each decoded piece scanned and dropped (so
 * memory stays at zlib's buffers whatever the ratio), and never past the relay's response size limit (a small "zip
 * bomb" counts at its decoded size).
 */

/**
 * How a response body is coded, as far as scanning it goes:
 * - `identity`, `gzip`, `deflate`, `br`: scanned (decoded first when compressed);
 * - `unsupported`: a real coding the relay cannot decode (`zstd`, `compress`…, or several codings in a row, which
 *   clients undo one after the other): such a body cannot be checked, so it is withheld;
 * - `other`: a value that names no coding at all (a bogus `utf-8`): clients pass such a body on as it is, and so it is
 *   scanned as it is.
 */
export type ContentCoding = 'identity' | 'gzip' | 'deflate' | 'br' | 'unsupported' | 'other';

const DECODABLE: Record<string, 'gzip' | 'deflate' | 'br'> = {
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
};

/** The rest of IANA's HTTP Content Coding Registry: codings that transform the body in ways the relay cannot undo. */
const UNDECODABLE = new Set([
  'aes128gcm',
  'compress',
  'x-compress',
  'dcb',
  'dcz',
  'exi',
  'pack200-gzip',
  'zstd',
]);

/** The response's `Content-Encoding`, read as clients read it: a list, case-insensitive, `identity` ignored. */
export function contentCodingOf(headers: IncomingHttpHeaders): ContentCoding {
  // Typed as a string, but a header the provider repeated comes as an array.
  const value = headers['content-encoding'] as string | string[] | undefined;
  if (value === undefined) return 'identity';
  if (typeof value === 'string') {
    const usual = DECODABLE[value];
    if (usual !== undefined) return usual;
  }
  const codings: string[] = [];
  for (const item of (typeof value === 'string' ? value : value.join(',')).split(',')) {
    const coding = item.trim().toLowerCase();
    if (coding !== '' && coding !== 'identity') codings.push(coding);
  }
  if (codings.length === 0) return 'identity';
  const [only] = codings;
  if (codings.length === 1 && only !== undefined) {
    return DECODABLE[only] ?? (UNDECODABLE.has(only) ? 'unsupported' : 'other');
  }
  const anyCoding = codings.some((coding) => DECODABLE[coding] !== undefined || UNDECODABLE.has(coding));
  return anyCoding ? 'unsupported' : 'other';
}

export function isCompressed(coding: ContentCoding): coding is 'gzip' | 'deflate' | 'br' {
  return coding === 'gzip' || coding === 'deflate' || coding === 'br';
}

/** A body whose bytes are scanned as they come, with nothing to decode first. */
export function isScannedAsIs(coding: ContentCoding): boolean {
  return coding === 'identity' || coding === 'other';
}

/**
 * The caller's `Accept-Encoding` (or a provider's default one) as sent to the provider: only the codings the relay
 * decodes are kept, with their weights (`zstd` and `*` are left out, so a provider never picks a coding the scan
 * cannot read). When none is left, `identity`. A request without the header gets `identity` too
 * (`IDENTITY_ONLY`): no `Accept-Encoding` means any coding is acceptable (RFC 9110, 12.5.3).
 */
export function acceptEncodingForProvider(value: string): string {
  const kept: string[] = [];
  for (const item of value.split(',')) {
    const semicolon = item.indexOf(';');
    const coding = (semicolon === -1 ? item : item.slice(0, semicolon)).trim().toLowerCase();
    // Only the codings the relay can decode to scan.
    if (coding === 'identity' || DECODABLE[coding] !== undefined) kept.push(item.trim());
  }
  return kept.length === 0 ? IDENTITY_ONLY : kept.join(', ');
}

export const IDENTITY_ONLY = 'identity';

/**
 * `deflate` is meant to be zlib-wrapped (RFC 9110, 8.4.1.2), but some servers send raw deflate; clients accept both,
 * and tell them apart by the first byte as undici's fetch does (a zlib header's low nibble is 8).
 */
function isZlibWrapped(first: number | undefined): boolean {
  return first !== undefined && (first & 0x0f) === 0x08;
}

/**
 * Lenient at the end, as clients are: a body cut short still decodes as far as it goes. Pieces of 64 KiB: each is
 * one event and one scan on the main thread.
 */
const PIECE_BYTES = 64 * 1024;
const ZLIB_OPTIONS: ZlibOptions = {
  flush: constants.Z_SYNC_FLUSH,
  finishFlush: constants.Z_SYNC_FLUSH,
  chunkSize: PIECE_BYTES,
};
const BROTLI_OPTIONS = {
  flush: constants.BROTLI_OPERATION_FLUSH,
  finishFlush: constants.BROTLI_OPERATION_FLUSH,
  chunkSize: PIECE_BYTES,
};

/**
 * Decoded output may grow past `RATIO_FLOOR_BYTES` only up to `MAX_RATIO` times the compressed bytes read so far.
 * Ordinary API responses compress 5–20 times; a "zip bomb" (a few hundred bytes of brotli that decode to 256 MiB)
 * would otherwise cost a second of decoding and scanning for one small response, and a caller who can store
 * content with a chosen `Content-Encoding` (object storage) could send the relay as many as it likes. Past the ratio
 * the body is withheld, not passed on unscanned: what follows could be the credential.
 */
export const MAX_RATIO = 200;
export const RATIO_FLOOR_BYTES = 1024 * 1024;

/**
 * A held body that decodes to at most this much is decoded at once, on the main thread (well under a millisecond);
 * a larger one goes to a zlib stream on libuv's pool.
 */
const SYNC_DECODE_BYTES = 256 * 1024;

/** The decoded size allowed after `compressedBytes`, within the response limit. */
function decodedAllowance(compressedBytes: number, maxBytes: number): number {
  return Math.min(maxBytes, Math.max(RATIO_FLOOR_BYTES, compressedBytes * MAX_RATIO));
}

function tooLarge(decodedBytes: number, maxBytes: number): PipesError {
  return decodedBytes > maxBytes
    ? relayErrors.responseTooLarge(maxBytes)
    : relayErrors.tooCompressed(MAX_RATIO);
}

function decodeSync(coding: 'gzip' | 'deflate' | 'br', body: Buffer, maxOutputLength: number): Buffer {
  if (coding === 'br') return brotliDecompressSync(body, { ...BROTLI_OPTIONS, maxOutputLength });
  const options = { ...ZLIB_OPTIONS, maxOutputLength };
  if (coding === 'gzip') return gunzipSync(body, options);
  return isZlibWrapped(body[0]) ? inflateSync(body, options) : inflateRawSync(body, options);
}

/**
 * Decodes and scans a whole (held, at most 64 KiB) body. Resolves with the error that must replace the response (the
 * credential found, too large decoded, not decodable), or null when it may be sent as it came.
 *
 * A body that decodes to at most `SYNC_DECODE_BYTES` (nearly all of them) is decoded at once on the main thread:
 * for a small JSON answer that is a tenth of the cost of a zlib stream (about 11 µs against 40–80, and no trip to
 * libuv's pool). A larger one goes through a `DecodingScanner`, in pieces, off the main thread.
 */
export function checkCompressedBody(
  coding: 'gzip' | 'deflate' | 'br',
  chunks: readonly Buffer[],
  needles: readonly Buffer[],
  maxBytes: number,
): Promise<PipesError | null> {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (body.length === 0) return Promise.resolve(null);
  try {
    const decoded = decodeSync(coding, body, Math.min(maxBytes + 1, SYNC_DECODE_BYTES));
    if (decoded.length > maxBytes) return Promise.resolve(relayErrors.responseTooLarge(maxBytes));
    const found = containsNeedle([body], needles) || containsNeedle([decoded], needles);
    return Promise.resolve(found ? relayErrors.credentialReflected() : null);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_BUFFER_TOO_LARGE') {
      return Promise.resolve(relayErrors.undecodableResponse());
    }
  }
  return new Promise((resolve) => {
    const scanner = new DecodingScanner(coding, needles, maxBytes, resolve);
    scanner.check(body, ignore);
    scanner.finish(() => resolve(null));
  });
}

function ignore(): void {}

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
  /** The compressed bytes themselves: gzip's comment and file-name fields are never decoded, but clients show them. */
  readonly #rawScanner: SecretScanner;
  readonly #maxBytes: number;
  readonly #onProblem: (problem: PipesError) => void;
  #decoder: Decoder | null = null;
  #compressedBytes = 0;
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
    this.#rawScanner = new SecretScanner(needles);
    this.#maxBytes = maxBytes;
    this.#onProblem = onProblem;
  }

  /** Decodes `chunk` and calls `passed` once all its output is scanned and clean. Checks pass in order. */
  check(chunk: Buffer, passed: () => void): void {
    if (this.#problem !== null) return;
    if (this.#rawScanner.found(chunk)) {
      this.#fail(relayErrors.credentialReflected());
      return;
    }
    // The first byte decides raw or wrapped deflate, so the decoder waits for a real one; with nothing in flight yet,
    // an empty chunk passes at once. Later ones go through the decoder, to pass in their turn.
    if (chunk.length === 0 && this.#decoder === null) {
      queueMicrotask(passed);
      return;
    }
    this.#compressedBytes += chunk.length;
    this.#decoderFor(chunk[0]).write(chunk, (error) => {
      if (error !== null && error !== undefined) this.#fail(relayErrors.undecodableResponse());
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
    decoder.end((error?: Error | null) => {
      // An error here (the last flush failed, or the scan was closed) must not let the body end as if complete.
      if (error !== null && error !== undefined) this.#fail(relayErrors.undecodableResponse());
      else this.#drain();
      if (this.#problem === null) passed();
    });
  }

  /**
   * Frees zlib's memory at once (a call that ends early). Nothing passes afterwards, and `onProblem` is not called.
   */
  close(): void {
    if (this.#problem === null) this.#problem = relayErrors.undecodableResponse();
    this.#decoder?.destroy();
  }

  #decoderFor(first: number | undefined): Decoder {
    if (this.#decoder !== null) return this.#decoder;
    const decoder = streamDecoder(this.#coding, first);
    decoder.on('error', () => this.#fail(relayErrors.undecodableResponse()));
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
        this.#decodedBytes > decodedAllowance(this.#compressedBytes, this.#maxBytes)
          ? tooLarge(this.#decodedBytes, this.#maxBytes)
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
