import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { PipesError } from '../errors.ts';
import type { Logger } from '../lib/logger.ts';
import {
  type ContentCoding,
  checkCompressedBody,
  contentCodingOf,
  DecodingScanner,
  isCompressed,
  isScannedAsIs,
} from './compressed-body.ts';
import type { CredentialPlacer } from './credential.ts';
import type { Deadlines, Expiring } from './deadlines.ts';
import { relayErrors, toRelayError, writeRelayError } from './errors.ts';
import { failRelayRequest } from './fail.ts';
import type { LinkRewriteInput } from './links.ts';
import type { RelayOptions } from './options.ts';
import {
  appendResponseHeaders,
  buildRequestHeaders,
  type ExtraHeaders,
  type FlatHeaders,
} from './relay-headers.ts';
import type { PendingReply, ReplyBatch } from './reply-batch.ts';
import { declaredLength, planRequestBody, type RequestBody } from './request-body.ts';
import { exhaustedUntil, isRateLimited403, providerWaitMs, retryDelayMs } from './retry-policy.ts';
import { containsNeedle, SecretScanner } from './secret-scanner.ts';
import type { TargetBuilder } from './target.ts';
import type { RelayThrottle } from './throttle.ts';
import type { RelayConnection, RelayCredential } from './types.ts';

/**
 * One relayed call: the request to the provider through undici's `dispatch` handler API (no Web streams, no
 * intermediate Readable), retries, and the response back to the caller.
 *
 * The provider's response is either streamed straight into the caller's `ServerResponse` (with backpressure: undici is
 * paused while the caller's socket is full), or held in memory up to a small cap: a 401/429/503 that may be retried
 * (the decision needs the whole exchange), and any small response (so that a reflected credential becomes a clean 502
 * rather than a cut connection; a compressed one is decoded to be scanned, compressed-body.ts).
 *
 * Written as a class whose methods are the undici handler, rather than closures: the hot path creates one object per
 * call instead of a dozen functions (each of which costs more than it looks under tsx, which names every closure).
 * The common call (no request body, no throttle wait, no retry) runs without a promise: `start()` dispatches
 * synchronously and undici's callbacks finish it. Only waits, body reads and refreshes go through `async` methods.
 * Every way a call ends goes through `#finish`, which answers the caller's error, if any, itself.
 */
export interface CallEnv {
  options: RelayOptions;
  dispatcher: Dispatcher;
  targets: TargetBuilder;
  credentials: CredentialPlacer;
  extraHeaders: ExtraHeaders;
  throttle: RelayThrottle;
  deadlines: Deadlines;
  random: () => number;
  log: Logger;
  replies: ReplyBatch;
  /** `PIPES_PUBLIC_URL`: rewritten pagination links point there, as relay tokens' `base_url` does. */
  publicUrl: string;
  /** Its `host[:port]`: links there are never passed on (`links.ts`). */
  publicHost: string;
}

export interface CallInput {
  connection: RelayConnection;
  path: string;
  query: string | undefined;
  targetOrigin: string | undefined;
  /** Retry and throttle-wait budget (`Pipes-Retry-Max-Ms`). */
  budgetMs: number;
  /** The relay token of a `/relay/t/{token}/…` call; undefined for an API-key call. */
  relayToken: string | undefined;
}

interface Held {
  status: number;
  headers: IncomingHttpHeaders;
  chunks: Buffer[];
  bytes: number;
  /** For a 429/503 to retry: the wait decided when the headers came. */
  waitMs: number | null;
  /** Held only to scan it whole: pass it through with these headers, no retry. */
  final: boolean;
  /** For a 401: send the request again after the refresh (false: refresh only, then pass the 401 through). */
  replay: boolean;
  /** A `Retry-After` to add (a passed-through 429/503 whose provider only sent its reset header). */
  retryAfter: string | undefined;
  coding: ContentCoding;
  /** For a compressed body, once decoded and scanned: the error to send instead of it, if any. */
  problem: PipesError | null;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const CALL = Symbol('relay call');

interface WithCall {
  [CALL]?: RelayCall;
}

function onResponseClose(this: ServerResponse & WithCall): void {
  const call = this[CALL];
  if (call !== undefined && !this.writableFinished) call.stop(relayErrors.clientAborted());
}

function onDrain(this: ServerResponse & WithCall): void {
  this[CALL]?.controller?.resume();
}

export class RelayCall implements Dispatcher.DispatchHandler, Expiring, PendingReply {
  readonly #env: CallEnv;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse & WithCall;
  readonly #requestId: string;
  readonly #input: CallInput;
  readonly #started = Date.now();
  readonly #method: string;

  controller: Dispatcher.DispatchController | null = null;
  deadlineAt = 0;
  deadlinePrev: Expiring | null = null;
  deadlineNext: Expiring | null = null;
  #stopped: PipesError | null = null;
  #finished = false;
  #wake: (() => void) | null = null;

  // Per call.
  #origin = '';
  #path = '';
  #base = '';
  #queryCredentialName: string | undefined;
  #headers: FlatHeaders = [];
  #needles: Buffer[] = [];
  #secrets: string[] = [];
  #body: RequestBody = { kind: 'none' };
  #replayable = false;
  #throttledMs = 0;
  #attempt = 0;
  #refreshed = false;
  /** A 401 refreshed the credential but the request could not be replayed: the caller is told to send it again. */
  #refreshedNotReplayed = false;

  // Per attempt.
  #mode: 'pending' | 'hold' | 'stream' = 'pending';
  #received = 0;
  #held: Held | null = null;
  #scanner: SecretScanner | null = null;
  /** The scan of a compressed streamed body (compressed-body.ts), and how many of its chunks are being checked. */
  #decoding: DecodingScanner | null = null;
  #checking = 0;
  /** The status and headers of a compressed stream, until its first chunk is scanned. */
  #heldHead: [status: number, headers: FlatHeaders] | null = null;
  #settled = false;

  constructor(env: CallEnv, req: IncomingMessage, res: ServerResponse, requestId: string, input: CallInput) {
    this.#env = env;
    this.#req = req;
    this.#res = res;
    this.#requestId = requestId;
    this.#input = input;
    this.#method = req.method ?? 'GET';
  }

  /**
   * Runs the call to its end. Never throws: a failure becomes the caller's error response (or a cut connection once
   * the response has started).
   */
  start(): void {
    this.#res[CALL] = this;
    // `on`, not `once`: the response lives exactly as long as this call, and `once` allocates a wrapper.
    this.#res.on('close', onResponseClose);
    this.#env.deadlines.add(this);
    try {
      this.#prepare(this.#input.connection.credential);
      this.#replayable =
        IDEMPOTENT_METHODS.has(this.#method) || this.#req.headers['idempotency-key'] !== undefined;
      // Most calls have no body: only those need the (async) planning.
      if (declaredLength(this.#req) !== 0) void this.#startWithBody();
      else this.#proceed();
    } catch (error) {
      this.#finish(error);
    }
  }

  /** The whole-call timeout (`Deadlines`). */
  expire(): void {
    this.stop(relayErrors.timeout('total timeout'));
  }

  /** Stops the call: aborts the attempt in flight and cuts a wait short. The first reason wins. */
  stop(error: PipesError): void {
    if (this.#stopped !== null || this.#finished) return;
    this.#stopped = error;
    if (this.controller !== null && !this.controller.aborted) this.controller.abort(error);
    // The provider's body is all in, but its end is still being decoded and scanned: end the call now.
    else if (this.#decoding !== null) this.#finish(error);
    this.#wake?.();
  }

  /** Ends the call once: no more timeout, and the caller's error response when it failed. */
  #finish(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#env.deadlines.remove(this);
    this.#decoding?.close();
    if (error !== null) failRelayRequest(this.#env.log, this.#req, this.#res, this.#requestId, error);
  }

  async #startWithBody(): Promise<void> {
    try {
      this.#body = await planRequestBody(this.#req, this.#env.options);
      this.#proceed();
    } catch (error) {
      this.#finish(error);
    }
  }

  /** Takes a throttle slot, then dispatches now or after the wait it asks for. */
  #proceed(): void {
    const { connection, budgetMs } = this.#input;
    const reservation = this.#env.throttle.reserve(
      connection.provider.slug,
      connection.accountId,
      Date.now(),
      budgetMs,
    );
    if (!reservation.granted) throw relayErrors.throttled(reservation.waitMs);
    if (reservation.waitMs <= 0) {
      this.#dispatch();
      return;
    }
    this.#throttledMs = reservation.waitMs;
    void this.#dispatchAfter(reservation.waitMs);
  }

  async #dispatchAfter(ms: number): Promise<void> {
    try {
      await this.#sleep(ms);
      this.#dispatch();
    } catch (error) {
      this.#finish(error);
    }
  }

  /**
   * After a held 401 (refresh once, then try again, or pass the 401 through when the request cannot be replayed) or
   * a retryable 429/503 (wait, then try again).
   */
  async #retry(held: Held): Promise<void> {
    try {
      if (held.status === 401) {
        this.#refreshed = true;
        const fresh = await this.#input.connection.forceRefresh();
        this.#checkStopped();
        if (fresh === null || !held.replay) {
          this.#refreshedNotReplayed = fresh !== null;
          await this.#checkHeld(held);
          this.#checkStopped();
          this.#flush(held, undefined);
          this.#finish(null);
          return;
        }
        this.#prepare(fresh);
      } else {
        await this.#sleep(held.waitMs ?? 0);
      }
      this.#dispatch();
    } catch (error) {
      this.#finish(error);
    }
  }

  #checkStopped(): void {
    if (this.#stopped !== null) throw this.#stopped;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).then(() => {
      this.#wake = null;
      this.#checkStopped();
    });
  }

  /** Target URL, headers and credential for the next attempt. */
  #prepare(credential: RelayCredential): void {
    const { provider, config } = this.#input.connection;
    const placement = this.#env.credentials.place(provider, credential);
    const target = this.#env.targets.build({
      provider,
      config,
      path: this.#input.path,
      query: this.#input.query,
      targetOrigin: this.#input.targetOrigin,
      queryCredential: placement.query,
    });
    this.#headers = buildRequestHeaders(
      this.#req.headers,
      this.#env.extraHeaders.of(provider),
      placement.header,
    );
    this.#origin = target.origin;
    this.#path = target.path;
    this.#base = target.base;
    this.#queryCredentialName = placement.query?.[0];
    this.#needles = placement.needles;
    this.#secrets = placement.secrets;
  }

  /** Sends one attempt; undici's callbacks below take it from there. */
  #dispatch(): void {
    this.#checkStopped();
    this.#attempt++;
    this.#mode = 'pending';
    this.#received = 0;
    this.#held = null;
    this.#scanner = null;
    this.#decoding?.close();
    this.#decoding = null;
    this.#checking = 0;
    this.#heldHead = null;
    this.#settled = false;
    const body = this.#body;
    let headers = this.#headers;
    if (body.kind === 'buffered') headers = [...headers, 'content-length', String(body.data.length)];
    else if (body.kind === 'stream' && body.length !== undefined) {
      headers = [...headers, 'content-length', String(body.length)];
    }
    this.#env.dispatcher.dispatch(
      {
        origin: this.#origin,
        path: this.#path,
        method: this.#method as Dispatcher.HttpMethod,
        headers,
        body: body.kind === 'none' ? null : body.kind === 'buffered' ? body.data : body.stream,
      },
      this,
    );
  }

  /** Whether to hold this response (for a retry, or to scan it whole), and with which `Retry-After`. */
  #decide(status: number, headers: IncomingHttpHeaders, declared: number): Held | null {
    const { options, throttle } = this.#env;
    const { provider, accountId } = this.#input.connection;
    const rateLimit = provider.api.rate_limit;
    const bodyReplayable = this.#body.kind !== 'stream';
    let now = 0;
    if (rateLimit.remaining_header !== undefined) {
      now = Date.now();
      const until = exhaustedUntil(headers, rateLimit, now);
      if (until !== null) throttle.holdUntil(provider.slug, accountId, until, now);
    }
    if (status === 401 && !this.#refreshed) {
      // The provider did not apply a request it answered 401 (RFC 9110, 15.5.2), so the credential is refreshed
      // whatever the method, and the caller's next try uses the new one. The request itself is sent again only when
      // it can be replayed: an idempotent method or an Idempotency-Key, and a buffered body (P14).
      return newHeld(status, headers, null, false, undefined, this.#replayable && bodyReplayable);
    }
    let retryAfter: string | undefined;
    // A 429, or a 403 that is the provider's rate limit (GitHub's), was refused before it was applied.
    const limited = status === 429 || (status === 403 && isRateLimited403(headers, rateLimit));
    if (limited || status === 503) {
      if (now === 0) now = Date.now();
      const hint = providerWaitMs(status, headers, rateLimit, now);
      const wait = retryDelayMs(this.#attempt, hint, options.retry, this.#env.random);
      const elapsed = now - this.#started + wait;
      const retryable =
        bodyReplayable &&
        (limited || this.#replayable) &&
        this.#attempt < options.retry.maxAttempts &&
        elapsed <= this.#input.budgetMs &&
        elapsed < options.totalTimeoutMs;
      if (retryable) return newHeld(status, headers, wait, false, undefined, true);
      retryAfter = advertiseWait(headers, hint);
    }
    // A small response is read whole before anything is sent, so a reflected credential becomes a clean 502
    // instead of a cut connection. It arrives in a packet or two: holding it costs no latency worth naming.
    if (declared <= options.heldResponseBytes && this.#needles.length > 0) {
      return newHeld(status, headers, null, true, retryAfter, false);
    }
    this.#startStreaming(status, headers, retryAfter);
    return null;
  }

  #head(headers: IncomingHttpHeaders, retryAfter: string | undefined): FlatHeaders {
    const out: FlatHeaders = [];
    appendResponseHeaders(
      headers,
      this.#secrets,
      out,
      headers.link === undefined && headers.location === undefined ? undefined : this.#links(),
    );
    out.push('pipes-upstream', 'true', 'pipes-request-id', this.#requestId);
    if (this.#throttledMs > 0) out.push('pipes-throttled-ms', String(Math.round(this.#throttledMs)));
    if (this.#attempt > 1) out.push('pipes-attempts', String(this.#attempt));
    if (this.#refreshedNotReplayed) out.push('pipes-credential-refreshed', 'true');
    if (retryAfter !== undefined) out.push('retry-after', retryAfter);
    return out;
  }

  /**
   * How this call's `Link` and `Location` targets are pointed back at the relay (`links.ts`): under the relay URL the
   * caller used.
   * Not for an API-key call to a `Pipes-Target-Origin` off the base URL: a plain relay URL would lead to the
   * provider's main origin, so those links keep pointing at the provider (a relay token carries its target origin, so
   * its links are rewritten). Either way no link may lead the caller back to Pipes itself.
   */
  #links(): LinkRewriteInput {
    const { relayToken, targetOrigin, connection } = this.#input;
    const { publicUrl, publicHost, targets } = this.#env;
    const slug = connection.provider.slug;
    const offBase =
      targetOrigin !== undefined && targets.leavesBase(connection.provider, connection.config, targetOrigin);
    const query = this.#path.indexOf('?');
    const pipesHosts = [publicHost];
    const host = this.#req.headers.host?.toLowerCase();
    if (host !== undefined && host !== pipesHosts[0]) pipesHosts.push(host);
    return {
      providerBase: this.#base,
      requestUrl: this.#origin + (query === -1 ? this.#path : this.#path.slice(0, query)),
      relayBase:
        relayToken !== undefined
          ? `${publicUrl}/relay/t/${relayToken}/${slug}`
          : offBase
            ? null
            : `${publicUrl}/relay/${slug}`,
      queryCredentialName: this.#queryCredentialName,
      pipesHosts,
    };
  }

  /** Writes the head and streams the body from now on; false when the body cannot be checked (the call fails). */
  #startStreaming(status: number, headers: IncomingHttpHeaders, retryAfter: string | undefined): boolean {
    if (this.#needles.length > 0) {
      const coding = contentCodingOf(headers);
      // A response without a body (to HEAD, or a 204 or 304) has nothing to check, whatever its coding.
      if (coding === 'unsupported' && this.#method !== 'HEAD' && status !== 204 && status !== 304) {
        this.#failStream(relayErrors.undecodableResponse());
        return false;
      }
      if (isCompressed(coding)) {
        const max = this.#env.options.maxResponseBytes;
        this.#decoding = new DecodingScanner(coding, this.#needles, max, (problem) =>
          this.#failStream(problem),
        );
        // The head waits for the first chunk that passes: a body whose first chunk is already refused (a small
        // bomb, an echo near the start) still gets a clean Pipes error instead of a cut connection.
        this.#heldHead = [status, this.#head(headers, retryAfter)];
        this.#mode = 'stream';
        return true;
      }
      this.#scanner = new SecretScanner(this.#needles);
    }
    this.#res.writeHead(status, this.#head(headers, retryAfter));
    this.#mode = 'stream';
    return true;
  }

  /** Writes the head a compressed stream kept back, once its first chunk has passed (or its end has). */
  #writeHeldHead(): void {
    const head = this.#heldHead;
    if (head === null) return;
    this.#heldHead = null;
    this.#res.writeHead(head[0], head[1]);
  }

  #write(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#decoding !== null) {
      this.#writeDecoded(controller, this.#decoding, chunk);
      return;
    }
    if (this.#scanner?.found(chunk)) {
      this.#failStream(relayErrors.credentialReflected());
      return;
    }
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', onDrain);
    }
  }

  /**
   * A compressed chunk goes on to the caller only once everything it decodes to has been scanned: undici is paused
   * meanwhile, and resumed when the last chunk in check has gone out (or once the caller's socket drains).
   */
  #writeDecoded(controller: Dispatcher.DispatchController, decoding: DecodingScanner, chunk: Buffer): void {
    controller.pause();
    this.#checking++;
    decoding.check(chunk, () => {
      this.#checking--;
      if (this.#finished) return;
      this.#writeHeldHead();
      const flowing = this.#res.write(chunk);
      if (this.#checking > 0 || this.#settled) return;
      if (flowing) controller.resume();
      else this.#res.once('drain', onDrain);
    });
  }

  /** The end of a compressed streamed body: what zlib still held is scanned before the response ends. */
  #endDecoded(decoding: DecodingScanner): void {
    decoding.finish(() => {
      if (this.#finished) return;
      this.#writeHeldHead();
      this.#res.end();
      this.#finish(null);
    });
  }

  /**
   * Ends a response that must not go on: the caller gets the error when nothing has gone out yet, else the connection
   * is cut.
   */
  #failStream(problem: PipesError): void {
    if (this.#finished) return;
    this.#reportIfReflected(problem);
    const controller = this.controller;
    if (controller !== null && !controller.aborted) controller.abort(problem);
    else this.#finish(problem);
  }

  /**
   * Decodes and scans a held compressed body (off the main thread) before it may be sent; a coding the relay cannot
   * decode is withheld.
   */
  async #checkHeld(held: Held): Promise<void> {
    if (this.#needles.length === 0 || held.bytes === 0) return;
    if (held.coding === 'unsupported') held.problem = relayErrors.undecodableResponse();
    else if (isCompressed(held.coding)) {
      const max = this.#env.options.maxResponseBytes;
      held.problem = await checkCompressedBody(held.coding, held.chunks, this.#needles, max);
    }
  }

  async #replyChecked(held: Held): Promise<void> {
    try {
      await this.#checkHeld(held);
      this.#checkStopped();
      if (!this.#finished) this.#env.replies.add(this);
    } catch (error) {
      this.#finish(error);
    }
  }

  /**
   * Sends a complete held response, unless it contains the credential (then a Pipes 502 instead), or could not be
   * checked.
   */
  #flush(held: Held, retryAfter: string | undefined): void {
    const problem =
      held.problem ??
      (isScannedAsIs(held.coding) && containsNeedle(held.chunks, this.#needles)
        ? relayErrors.credentialReflected()
        : null);
    if (problem !== null) {
      this.#reportIfReflected(problem);
      writeRelayError(this.#res, problem, this.#requestId);
      return;
    }
    const res = this.#res;
    res.writeHead(held.status, this.#head(held.headers, retryAfter));
    if (held.chunks.length === 1) {
      res.end(held.chunks[0]);
      return;
    }
    for (const chunk of held.chunks) res.write(chunk);
    res.end();
  }

  /** Logs a withheld reflection (the credential itself never reaches the log); other problems log where they end. */
  #reportIfReflected(problem: PipesError): void {
    if (problem.code !== 'credential_reflected') return;
    const { provider, accountId } = this.#input.connection;
    this.#env.log.warn(
      { requestId: this.#requestId, provider: provider.slug, accountId },
      'relay: the provider reflected the credential; response withheld',
    );
  }

  /**
   * Sends the complete response `onResponseEnd` kept for the `ReplyBatch`. Never throws: it runs in the batch's
   * `setImmediate`, not in an undici callback, and a throw there would skip the turn's other replies and reach the
   * process.
   */
  sendReply(): void {
    const held = this.#held;
    this.#held = null;
    try {
      if (held !== null) this.#flush(held, held.retryAfter);
      this.#finish(null);
    } catch (error) {
      this.#finish(error);
    }
  }

  // ---- undici DispatchHandler --------------------------------------------------------------------------------

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.#stopped !== null) controller.abort(this.#stopped);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (status < 200) return;
    const length = headers['content-length'];
    const declared = length === undefined ? Number.POSITIVE_INFINITY : Number(length);
    if (declared !== Number.POSITIVE_INFINITY && declared > this.#env.options.maxResponseBytes) {
      controller.abort(relayErrors.responseTooLarge(this.#env.options.maxResponseBytes));
      return;
    }
    const held = this.#decide(status, headers, declared);
    if (held !== null) {
      this.#mode = 'hold';
      this.#held = held;
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#received += chunk.length;
    const { options } = this.#env;
    if (this.#received > options.maxResponseBytes) {
      controller.abort(relayErrors.responseTooLarge(options.maxResponseBytes));
      return;
    }
    if (this.#mode === 'stream') {
      this.#write(controller, chunk);
      return;
    }
    const held = this.#held;
    if (this.#mode !== 'hold' || held === null) return;
    held.bytes += chunk.length;
    held.chunks.push(chunk);
    if (held.bytes > options.heldResponseBytes) {
      // Too big to hold: give up the retry and pass what we have, then the rest, through.
      this.#held = null;
      if (!this.#startStreaming(held.status, held.headers, held.retryAfter)) return;
      for (const c of held.chunks) this.#write(controller, c);
    }
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.controller = null;
    const held = this.#held;
    if (this.#mode === 'hold' && held !== null) {
      if (held.final) {
        // Nothing left to decide: answer at the end of this turn, with the turn's other answers (reply-batch.ts).
        // A compressed body is decoded and scanned first.
        if (isScannedAsIs(held.coding)) this.#env.replies.add(this);
        else void this.#replyChecked(held);
        return;
      }
      this.#held = null;
      void this.#retry(held);
      return;
    }
    if (this.#decoding !== null) {
      this.#endDecoded(this.#decoding);
      return;
    }
    this.#res.end();
    this.#finish(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.controller = null;
    this.#res.off('drain', onDrain);
    // Undici and socket errors become relay errors here, so that a bug of ours still shows as a 500.
    this.#finish(toRelayError(this.#stopped ?? error));
  }
}

function newHeld(
  status: number,
  headers: IncomingHttpHeaders,
  waitMs: number | null,
  final: boolean,
  retryAfter: string | undefined,
  replay: boolean,
): Held {
  const coding = contentCodingOf(headers);
  return { status, headers, chunks: [], bytes: 0, waitMs, final, retryAfter, replay, coding, problem: null };
}

/**
 * On a 429/503 (or a rate-limit 403) passed through without a `Retry-After`, say how long the provider asked us to
 * wait.
 */
function advertiseWait(headers: IncomingHttpHeaders, hintMs: number | null): string | undefined {
  if (hintMs === null || headers['retry-after'] !== undefined) return undefined;
  return String(Math.max(1, Math.ceil(hintMs / 1000)));
}
