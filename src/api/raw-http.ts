import type { IncomingMessage, ServerResponse } from 'node:http';
import { PipesError } from '../errors.ts';

/** The 413 of every API path (the Hono body limit and the raw listener). */
export function requestTooLarge(maxBytes: number): PipesError {
  return new PipesError('request_too_large', `The request body is larger than ${maxBytes} bytes.`, {
    status: 413,
  });
}

/**
 * Reads a request body as UTF-8 text, refusing more than `maxBytes` (413 `tooLarge`) whether or not
 * `Content-Length` said so. For the raw listeners that skip Hono's Web `Request` layer (vending, the relay).
 */
export function readBodyText(
  req: IncomingMessage,
  maxBytes: number,
  tooLarge: (maxBytes: number) => PipesError = requestTooLarge,
): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')),
    );
    req.once('error', reject);
  });
}

/**
 * Writes a JSON answer with the headers every API response carries. `closeConnection` is for answers sent before the
 * request body was read: the unread bytes must not be parsed as the next request on a kept-alive connection.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
  extraHeaders: Record<string, string> = {},
  closeConnection = false,
): void {
  sendJsonText(res, status, JSON.stringify(body), requestId, extraHeaders, closeConnection);
}

/** `sendJson` for a body already serialized. */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  payload: string,
  requestId: string,
  extraHeaders: Record<string, string> = {},
  closeConnection = false,
): void {
  res.writeHead(status, {
    ...extraHeaders,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...(closeConnection ? { connection: 'close' } : {}),
  });
  res.end(payload);
}
