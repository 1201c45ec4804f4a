import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { unauthorized } from '../api/middleware/authenticate.ts';
import { readBodyText } from '../api/raw-http.ts';
import type { AppContext } from '../context.ts';
import { PipesError, validationFailed } from '../errors.ts';
import { toIso } from '../lib/time.ts';
import { SLUG_PATTERN } from '../providers/catalog-schema.ts';
import { assertOriginAllowed } from './egress/index.ts';
import { relayErrors } from './errors.ts';
import type { RelayOptions } from './options.ts';
import type { RelayTokens } from './relay-token.ts';
import { checkSelection } from './routing.ts';
import { resolveAllowedOrigins, resolveBaseUrl } from './target.ts';
import type { RelayDeps } from './types.ts';

/** The JSON body of `POST /relay/tokens` is tiny; anything bigger is not a token request. */
const MAX_MINT_BODY = 16 * 1024;

const mintSchema = z
  .object({
    provider: z.string().regex(SLUG_PATTERN),
    user_id: z.string().min(1).max(255).optional(),
    organization_id: z.string().min(1).max(255).optional(),
    connected_account_id: z.string().min(1).max(255).optional(),
    connection_owner: z.enum(['user', 'organization']).optional(),
    ttl_seconds: z.number().int().min(1).optional(),
    /** One of the provider's `allowed_origins`, for every call made with this token (e.g. an upload host). */
    target_origin: z.string().max(2048).optional(),
  })
  .strict();

interface MintEnv {
  ctx: Pick<AppContext, 'config' | 'clock'>;
  deps: RelayDeps;
  options: RelayOptions;
  tokens: RelayTokens;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBodyText(req, MAX_MINT_BODY, relayErrors.payloadTooLarge);
  try {
    return JSON.parse(text);
  } catch {
    throw new PipesError('invalid_json', 'The request body is not valid JSON.', { status: 400 });
  }
}

/**
 * `POST /relay/tokens` → `{ token, base_url, expires_at }`. The connection is resolved once now, so a typo in the
 * provider or the user fails here (404 `not_installed`) rather than on the first SDK call.
 */
export async function mintRelayToken(
  env: MintEnv,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
): Promise<void> {
  const header = req.headers.authorization;
  const auth = await env.deps.authenticate(Array.isArray(header) ? header[0] : header);
  if (auth === null) throw unauthorized();
  const parsed = mintSchema.safeParse(await readJson(req));
  if (!parsed.success) {
    throw validationFailed(
      parsed.error.issues.map((issue) => ({
        field: issue.path.join('.') || '(body)',
        code: issue.code,
        message: issue.message,
      })),
    );
  }
  const body = parsed.data;
  const ttl = body.ttl_seconds ?? env.options.defaultTokenTtlSeconds;
  if (ttl > env.options.maxTokenTtlSeconds) {
    throw validationFailed([
      {
        field: 'ttl_seconds',
        code: 'too_big',
        message: `ttl_seconds must be at most ${env.options.maxTokenTtlSeconds}.`,
      },
    ]);
  }
  const selection = checkSelection({
    userId: body.user_id,
    organizationId: body.organization_id,
    connectedAccountId: body.connected_account_id,
    connectionOwner: body.connection_owner,
  });
  const connection = await env.deps.resolveConnection(auth.environment.id, body.provider, selection);
  let targetOrigin: string | undefined;
  if (body.target_origin !== undefined) {
    const base = resolveBaseUrl(connection.provider, connection.config);
    targetOrigin = assertOriginAllowed(
      body.target_origin,
      resolveAllowedOrigins(connection.provider, connection.config, base),
    ).origin;
  }
  const expiresAt = env.ctx.clock.now() + ttl * 1000;
  const token = env.tokens.mint({
    environmentId: auth.environment.id,
    provider: body.provider,
    selection,
    expiresAt,
    ...(auth.apiKeyId !== undefined ? { apiKeyId: auth.apiKeyId } : {}),
    ...(targetOrigin !== undefined ? { targetOrigin } : {}),
  });
  const payload = JSON.stringify({
    object: 'relay_token',
    token,
    base_url: `${env.ctx.config.publicUrl}/relay/t/${token}/${body.provider}`,
    provider: body.provider,
    expires_at: toIso(expiresAt),
  });
  res.writeHead(201, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'pipes-request-id': requestId,
  });
  res.end(payload);
}
