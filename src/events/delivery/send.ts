import type { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import { PipesError } from '../../errors.ts';
import { assertUrlAllowed, type EgressPolicy } from '../../relay/egress/index.ts';

/** How much of a receiver's response body is read and kept: enough to debug, never a memory risk (W11). */
export const RESPONSE_EXCERPT_BYTES = 1024;

export type SendResult =
  | { kind: 'response'; status: number; retryAfter: string | undefined; body: string }
  | { kind: 'error'; error: string };

/**
 * POSTs one webhook. Never follows a redirect (a 3xx is a failed attempt; following it would let a receiver point
 * Pipes anywhere), never waits longer than `timeoutMs` in total, reads at most 1 KB of the answer. The URL is checked
 * against the egress policy here and the dispatcher checks every resolved address at connect time, so a DNS change
 * after registration cannot aim a delivery at a private address (R-W8). Never throws.
 */
export async function postWebhook(input: {
  url: string;
  headers: Record<string, string>;
  body: string;
  dispatcher: Dispatcher;
  policy: EgressPolicy;
  timeoutMs: number;
}): Promise<SendResult> {
  const signal = AbortSignal.timeout(input.timeoutMs);
  try {
    assertUrlAllowed(input.url, input.policy, { status: 502 });
    const response = await request(input.url, {
      method: 'POST',
      headers: input.headers,
      body: input.body,
      dispatcher: input.dispatcher,
      signal,
      headersTimeout: input.timeoutMs,
      bodyTimeout: input.timeoutMs,
    });
    const retryAfter = response.headers['retry-after'];
    return {
      kind: 'response',
      status: response.statusCode,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      body: await readExcerpt(response.body),
    };
  } catch (error) {
    return { kind: 'error', error: describeSendError(error, signal.aborted, input.timeoutMs) };
  }
}

/** Reads the first bytes of a body and drops the rest; an error while reading keeps what was read. */
async function readExcerpt(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(buffer);
      size += buffer.length;
      // Leaving the loop destroys the stream: an endless body costs one chunk more, not a hung worker.
      if (size >= RESPONSE_EXCERPT_BYTES) break;
    }
  } catch {
    // A body cut short by the timeout or a reset: the status already says what happened.
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the receiver',
  EPIPE: 'connection reset by the receiver',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_SOCKET: 'connection closed by the receiver',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
};

/**
 * A short, safe description of a failed attempt for the attempt log. Built from error codes rather than from raw
 * messages: those can carry resolved internal addresses, which must not be echoed back (R-X3).
 */
function describeSendError(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (error instanceof PipesError) return error.message;
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof PipesError) return cause.message;
  const code =
    (error as { code?: string } | null)?.code ?? (cause as { code?: string } | null | undefined)?.code ?? '';
  if (
    timedOut ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_ABORTED'
  ) {
    return `timeout: no complete answer within ${timeoutMs} ms`;
  }
  const known = NETWORK_ERRORS[code];
  return known ?? `network error${code ? ` (${code})` : ''}`;
}
