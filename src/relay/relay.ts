import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { unauthorized } from '../api/middleware/authenticate.ts';
import { callerRequestId } from '../api/middleware/request-id.ts';
import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { createRequestIds } from '../lib/request-ids.ts';
import { type CallEnv, RelayCall } from './call.ts';
import { CredentialPlacer } from './credential.ts';
import { Deadlines } from './deadlines.ts';
import { createPinnedDispatcher, type EgressPolicy } from './egress/index.ts';
import { relayErrors } from './errors.ts';
import { failRelayRequest } from './fail.ts';
import { mintRelayToken } from './mint.ts';
import { type RelayOptions, type RelayOptionsInput, resolveRelayOptions } from './options.ts';
import { ExtraHeaders } from './relay-headers.ts';
import { RelayTokens } from './relay-token.ts';
import { ReplyBatch } from './reply-batch.ts';
import { isRelayUrl, parseRelayRoute, selectionFromHeaders } from './routing.ts';
import { TargetBuilder } from './target.ts';
import { RelayThrottle } from './throttle.ts';
import type { RelayDeps, RelaySelection } from './types.ts';

/**
 * The relay: `ANY /relay/{slug}/{path…}` (and the relay-token form) calls the provider's API with the connection's
 * credential attached server-side. It is a raw `node:http` handler on undici's dispatch API rather than a Hono route:
 * on the hot path every layer of Web `Request`/`Response` objects costs throughput (docs/relay.md, "Benchmark").
 */
export interface Relay {
  /** True for URLs the relay serves (`/relay/…`). */
  matches(url: string | undefined): boolean;
  /** The `node:http` request listener. Never throws; every failure becomes a Pipes error response. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

export type RelayContext = Pick<AppContext, 'config' | 'vault' | 'clock' | 'log'>;

const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const RETRY_MAX_HEADER = 'pipes-retry-max-ms';
const TARGET_ORIGIN_HEADER = 'pipes-target-origin';

/** The egress policy of the relay, from the configuration (`PIPES_ALLOW_PRIVATE_NETWORK` covers loopback too). */
export function relayEgressPolicy(config: AppContext['config']): EgressPolicy {
  return {
    allowLoopback: config.egress.allowPrivateNetwork,
    allowPrivate: config.egress.allowPrivateNetwork,
    allowHttp: config.egress.allowInsecureHttp,
  };
}

export function createRelay(ctx: RelayContext, deps: RelayDeps, input: RelayOptionsInput = {}): Relay {
  const options = resolveRelayOptions(input);
  const policy = relayEgressPolicy(ctx.config);
  const dispatcher = createPinnedDispatcher({
    policy,
    ...(options.resolver ? { lookup: options.resolver } : {}),
    connectTimeoutMs: options.connectTimeoutMs,
    headersTimeoutMs: options.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs,
    connectionsPerOrigin: options.connectionsPerOrigin,
  });
  const tokens = new RelayTokens(ctx.vault);
  const throttle = new RelayThrottle(ctx.config.relayThrottle);
  const deadlines = new Deadlines(options.totalTimeoutMs);
  const env: RelayEnv = {
    ctx,
    deps,
    options,
    dispatcher,
    tokens,
    throttle,
    targets: new TargetBuilder(policy),
    credentials: new CredentialPlacer(),
    extraHeaders: new ExtraHeaders(),
    deadlines,
    random: options.random ?? Math.random,
    log: ctx.log,
    replies: new ReplyBatch(),
    publicUrl: ctx.config.publicUrl,
    publicHost: new URL(ctx.config.publicUrl).host,
  };
  const nextRequestId = createRequestIds();

  return {
    matches: isRelayUrl,
    handle(req, res) {
      const requestId = callerRequestId(req.headers['x-request-id']) ?? nextRequestId();
      void serve(env, req, res, requestId);
    },
    async close() {
      deadlines.close();
      await dispatcher.destroy();
    },
  };
}

interface RelayEnv extends CallEnv {
  ctx: RelayContext;
  deps: RelayDeps;
  tokens: RelayTokens;
}

/**
 * Serves one relay request: authentication, selection and connection, then the call, which answers by itself. Every
 * failure before the call starts becomes a Pipes error response here.
 */
async function serve(env: RelayEnv, req: IncomingMessage, res: ServerResponse, requestId: string) {
  try {
    const method = req.method ?? 'GET';
    if (FORBIDDEN_METHODS.has(method))
      throw relayErrors.methodNotAllowed(method, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    const route = parseRelayRoute(req.url ?? '/');
    if (route.kind === 'mint') {
      if (method !== 'POST') throw relayErrors.methodNotAllowed(method, 'POST');
      await mintRelayToken(env, req, res, requestId);
      return;
    }

    let environmentId: string;
    let selection: RelaySelection;
    let targetOrigin: string | undefined;
    if (route.kind === 'key') {
      const answer = env.deps.authenticate(headerValue(req.headers, 'authorization'));
      // A recently seen key is answered at once: no wait on the hot path (src/lib/maybe-promise.ts).
      const auth = answer instanceof Promise ? await answer : answer;
      if (auth === null) throw unauthorized();
      environmentId = auth.environment.id;
      selection = selectionFromHeaders(req.headers);
      targetOrigin = headerValue(req.headers, TARGET_ORIGIN_HEADER);
    } else {
      const claims = env.tokens.verify(route.token, env.ctx.clock.now());
      if (claims === null || claims.provider !== route.slug) throw relayErrors.invalidToken();
      if (claims.apiKeyId !== undefined && env.deps.isApiKeyActive !== undefined) {
        if (!(await env.deps.isApiKeyActive(claims.apiKeyId))) throw relayErrors.invalidToken();
      }
      environmentId = claims.environmentId;
      selection = claims.selection;
      targetOrigin = claims.targetOrigin;
    }
    const budgetMs = retryBudget(req.headers, env.options);
    const connection = await env.deps.resolveConnection(environmentId, route.slug, selection);
    new RelayCall(env, req, res, requestId, {
      connection,
      path: route.path,
      query: route.query,
      targetOrigin,
      budgetMs,
      relayToken: route.kind === 'token' ? route.token : undefined,
    }).start();
  } catch (error) {
    failRelayRequest(env.log, req, res, requestId, error);
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Pipes-Retry-Max-Ms`: the caller's retry and throttle-wait budget for this request; 0 = never wait. */
function retryBudget(headers: IncomingHttpHeaders, options: RelayOptions): number {
  const raw = headerValue(headers, RETRY_MAX_HEADER);
  if (raw === undefined) return options.retry.maxTotalMs;
  if (!/^\d{1,9}$/.test(raw.trim())) {
    throw new PipesError('invalid_header', 'Pipes-Retry-Max-Ms must be a whole number of milliseconds.', {
      status: 400,
    });
  }
  return Math.min(Number(raw.trim()), options.totalTimeoutMs);
}
