import type { ServerResponse } from 'node:http';
import { PipesError } from '../errors.ts';

/**
 * Pipes' own relay errors, told apart from the provider's responses: they carry `Pipes-Error: <code>` and the body
 * `{ "error": { "source": "pipes", "code", "message" } }`; a provider's response instead passes through unchanged with
 * `Pipes-Upstream: true`. Messages never contain a credential, a resolved IP or the provider URL's query.
 */
export const relayErrors = {
  invalidPath: (problem: string) =>
    new PipesError('invalid_relay_path', `Invalid relay path: ${problem}.`, { status: 400 }),
  routeNotFound: () =>
    new PipesError(
      'route_not_found',
      'No relay route here. Use /relay/{provider}/{path}, /relay/t/{token}/{provider}/{path} or POST /relay/tokens.',
      { status: 404 },
    ),
  methodNotAllowed: (method: string, allow: string) =>
    new PipesError('method_not_allowed', `The relay does not accept ${method} here.`, {
      status: 405,
      headers: { Allow: allow },
    }),
  invalidSelection: (message: string) => new PipesError('invalid_selection', message, { status: 400 }),
  invalidToken: () =>
    new PipesError(
      'invalid_relay_token',
      'The relay token is invalid or has expired. Mint a new one with POST /relay/tokens.',
      { status: 401 },
    ),
  payloadTooLarge: (limit: number) =>
    new PipesError(
      'payload_too_large',
      `The request body is larger than the relay limit of ${limit} bytes.`,
      {
        status: 413,
      },
    ),
  responseTooLarge: (limit: number) =>
    new PipesError(
      'response_too_large',
      `The provider's response is larger than the relay limit of ${limit} bytes.`,
      { status: 502 },
    ),
  timeout: (what: string) =>
    new PipesError('relay_timeout', `The provider did not answer in time (${what}).`, { status: 504 }),
  unreachable: () =>
    new PipesError('upstream_unreachable', 'Could not reach the provider (connection failed or was reset).', {
      status: 502,
    }),
  upstreamError: () =>
    new PipesError('upstream_error', 'The provider connection failed while relaying the request.', {
      status: 502,
    }),
  credentialUnusable: () =>
    new PipesError('credential_unusable', 'The stored credential cannot be sent in an HTTP header.', {
      status: 502,
    }),
  credentialReflected: () =>
    new PipesError(
      'credential_reflected',
      "The provider's response contained the connection's credential; it was withheld.",
      { status: 502 },
    ),
  tooCompressed: (ratio: number) =>
    new PipesError(
      'response_too_large',
      `The provider's compressed response expands more than ${ratio}-fold past 1 MiB; it was withheld as a likely decompression bomb.`,
      { status: 502 },
    ),
  undecodableResponse: () =>
    new PipesError(
      'undecodable_response',
      "The provider's response is compressed in a way the relay cannot decode (or is corrupt), so it could not be checked for the credential; it was withheld.",
      { status: 502 },
    ),
  throttled: (waitMs: number) =>
    new PipesError(
      'relay_throttled',
      `The relay is holding requests for this provider to stay under its rate limit; retry in ${Math.ceil(waitMs)} ms.`,
      { status: 429, headers: { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) } },
    ),
  clientAborted: () => new PipesError('client_aborted', 'The caller went away.', { status: 499 }),
};

const TIMEOUT_CODES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect',
  UND_ERR_HEADERS_TIMEOUT: 'headers',
  UND_ERR_BODY_TIMEOUT: 'body',
  ETIMEDOUT: 'connect',
};

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'destination_unreachable',
]);

/**
 * Maps anything thrown while talking to the provider to a relay error. Undici and socket messages are not shown:
 * they can carry the full URL, whose query may hold a credential for `query`-style providers.
 */
export function toRelayError(error: unknown): PipesError {
  if (error instanceof PipesError) {
    if (error.code === 'destination_unreachable') return relayErrors.unreachable();
    return error;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const timeout = TIMEOUT_CODES[code];
    if (timeout !== undefined) return relayErrors.timeout(`${timeout} timeout`);
    if (UNREACHABLE_CODES.has(code)) return relayErrors.unreachable();
  }
  return relayErrors.upstreamError();
}

/** Writes a relay error in the one Pipes shape. Does nothing when the response has already started. */
export function writeRelayError(
  res: ServerResponse,
  error: PipesError,
  requestId: string,
  close = false,
): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const body: { error: { source: 'pipes'; code: string; message: string; errors?: unknown } } = {
    error: { source: 'pipes', code: error.code, message: error.message },
  };
  if (error.errors !== undefined) body.error.errors = error.errors;
  const payload = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'pipes-error': error.code,
    'pipes-request-id': requestId,
  };
  for (const [name, value] of Object.entries(error.headers ?? {})) headers[name.toLowerCase()] = value;
  // A request whose body we did not read must not leave the connection half-parsed.
  if (close) headers.connection = 'close';
  const status = error.status === 499 ? 400 : error.status;
  res.writeHead(status, headers);
  res.end(payload);
}
