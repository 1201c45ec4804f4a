import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { relayErrors } from './errors.ts';

/**
 * The caller's request body, planned before anything is sent to the provider (R-X7):
 * - a declared `Content-Length` over the cap is refused with 413 before the provider is contacted;
 * - small declared bodies (≤ the replay buffer) are read whole, so the request can be replayed after a 401 or 429;
 * - everything else (large or chunked) is streamed through a counter that aborts the upload once it passes the cap,
 *   and such a request is never retried.
 */
export type RequestBody =
  | { kind: 'none' }
  | { kind: 'buffered'; data: Buffer }
  | { kind: 'stream'; stream: LimitStream; length: number | undefined };

/** The declared length; `undefined` for a chunked body; 0 for no body. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length);
  return req.headers['transfer-encoding'] === undefined ? 0 : undefined;
}

/** Counts bytes and fails with `payload_too_large` once more than `limit` have passed. */
export class LimitStream extends Transform {
  readonly #limit: number;
  #seen = 0;
  exceeded = false;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limit) {
      this.exceeded = true;
      callback(relayErrors.payloadTooLarge(this.#limit));
      return;
    }
    callback(null, chunk);
  }
}

function readWhole(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      reject(relayErrors.clientAborted());
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onError);
    // Node enforces Content-Length framing; `length` only sizes the expectation.
    if (length === 0) req.resume();
  });
}

export async function planRequestBody(
  req: IncomingMessage,
  limits: { maxRequestBytes: number; replayBufferBytes: number },
): Promise<RequestBody> {
  const length = declaredLength(req);
  if (length === 0) return { kind: 'none' };
  if (length !== undefined && (!Number.isSafeInteger(length) || length > limits.maxRequestBytes)) {
    throw relayErrors.payloadTooLarge(limits.maxRequestBytes);
  }
  if (length !== undefined && length <= limits.replayBufferBytes) {
    return { kind: 'buffered', data: await readWhole(req, length) };
  }
  const stream = new LimitStream(limits.maxRequestBytes);
  req.on('error', (error) => stream.destroy(error));
  req.on('close', () => {
    if (!req.complete) stream.destroy(relayErrors.clientAborted());
  });
  req.pipe(stream);
  return { kind: 'stream', stream, length };
}
