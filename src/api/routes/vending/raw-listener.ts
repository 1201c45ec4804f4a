import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../../../context.ts';
import { createRequestIds } from '../../../lib/request-ids.ts';
import { StampedMemo } from '../../../store/stamped-memo.ts';
import { parseJsonBody } from '../../body.ts';
import { showError } from '../../error-handler.ts';
import type { ApiGuards } from '../../guards.ts';
import { unauthorized } from '../../middleware/authenticate.ts';
import { callerRequestId } from '../../middleware/request-id.ts';
import { readBodyText, sendJson, sendJsonText } from '../../raw-http.ts';
import { credentialsResponse } from './credentials.ts';
import { selectionSchema } from './selection-schema.ts';
import { tokenResponse } from './token.ts';

/** `POST /data-integrations/{slug}/token` and `…/credentials`, with or without a query string. */
const VENDING_PATH = /^\/data-integrations\/([^/?#]+)\/(token|credentials)(?:\?|$)/;

/**
 * Token and credential vending on a raw `node:http` listener. These two endpoints are the hot path of every app that
 * asks Pipes for a token before each provider call; in profiles the Web `Request`/`Response` layer and the middleware
 * chain cost more than the vending itself, so they skip it (like the relay). Everything else about them is the API's:
 * the same guards (API key, per-key rate limit, shared with the Hono app), the same body checks (413, 415, 400, 422),
 * the same error shape and `X-Request-ID`, `Cache-Control: no-store`. Other methods on these paths fall through to the
 * API app, which answers them as usual.
 */
export interface VendingListener {
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export function createVendingListener(ctx: AppContext, guards: ApiGuards): VendingListener {
  const nextRequestId = createRequestIds();
  const maxBytes = ctx.config.maxBodyBytes;

  // The exact bytes of each answer, reused while the database and the token's freshness say it is still the answer:
  // the body's validation, the vending and the serialization are skipped (docs/tokens.md, "What is cached").
  const answers = new StampedMemo<string>();

  async function serve(req: IncomingMessage, res: ServerResponse, requestId: string, path: RegExpExecArray) {
    const found = guards.authenticate(req.headers.authorization);
    // A recently seen key is answered at once: no wait on the hot path (src/lib/maybe-promise.ts).
    const auth = found instanceof Promise ? await found : found;
    if (auth === null) throw unauthorized();
    guards.rateLimit(auth.keyId);
    const contentType = req.headers['content-type'];
    const text = await readBodyText(req, maxBytes);
    // One stamp for the memo and every lookup behind the answer, read after the whole request has arrived and shared
    // with the other requests of this turn (src/store/shared-stamp.ts).
    const reads = await ctx.tokens.reads.sharedSnapshot();
    const key = `${auth.environment.id}\0${path[2]}\0${path[1]}\0${contentType ?? ''}\0${text}`;
    const memoized = answers.get(reads.stamp, key, ctx.clock.now());
    if (memoized !== undefined) {
      sendJsonText(res, 200, memoized, requestId);
      return;
    }
    const request = parseJsonBody(contentType, text, selectionSchema);
    const slug = decodeSegment(path[1]!);
    const answer =
      path[2] === 'token'
        ? await tokenResponse(ctx, auth.environment, slug, request, reads)
        : await credentialsResponse(ctx, auth.environment, slug, request, reads);
    const payload = JSON.stringify(answer.body);
    answers.set(reads.stamp, key, payload, answer.freshUntil, ctx.clock.now());
    sendJsonText(res, 200, payload, requestId);
  }

  return {
    matches: (req) => req.method === 'POST' && VENDING_PATH.test(req.url ?? ''),
    handle(req, res) {
      const requestId = callerRequestId(req.headers['x-request-id']) ?? nextRequestId();
      const path = VENDING_PATH.exec(req.url ?? '')!;
      serve(req, res, requestId, path).catch((error: unknown) => {
        const shown = showError(error, requestId, ctx.log);
        sendJson(res, shown.status, shown.body, requestId, shown.headers, !req.complete);
      });
    },
  };
}

/** A path segment as Hono would give it: percent-decoded when that decodes, as sent otherwise. */
function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
