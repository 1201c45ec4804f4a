import type { IncomingMessage, ServerResponse } from 'node:http';
import { PipesError } from '../errors.ts';
import type { Logger } from '../lib/logger.ts';
import { writeRelayError } from './errors.ts';

/**
 * Answers a failed relay request with the one Pipes error shape (or cuts the connection once the response has
 * started), and logs what an operator should see: our own bugs and 5xx other than the provider's 502/504.
 */
export function failRelayRequest(
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  error: unknown,
): void {
  const relayError = error instanceof PipesError ? error : null;
  if (relayError === null) {
    log.error({ err: error, requestId }, 'relay: unexpected error');
  } else if (relayError.status >= 500 && relayError.status !== 502 && relayError.status !== 504) {
    log.error({ code: relayError.code, requestId }, relayError.message);
  } else if (relayError.status >= 500) {
    log.warn({ code: relayError.code, requestId }, relayError.message);
  }
  const shown =
    relayError ??
    new PipesError('server_error', `Internal error. Quote request id ${requestId} when reporting it.`, {
      status: 500,
    });
  // A body we did not read must not be parsed as the next request on this connection.
  writeRelayError(res, shown, requestId, !req.complete);
}
