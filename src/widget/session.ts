import type { MiddlewareHandler } from 'hono';
import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { findKeyWithEnvironment } from '../store/api-keys.ts';
import type { Environment } from '../store/environments.ts';
import type { AccountOwner } from '../tokens/owner.ts';
import type { WidgetTokenClaims, WidgetTokens } from './token.ts';

/** What a verified widget token allows: one user (optionally within one organization) in one environment. */
export interface WidgetSession {
  claims: WidgetTokenClaims;
  environment: Environment;
  owner: AccountOwner;
}

export interface WidgetEnv {
  Variables: {
    requestId: string;
    widget: WidgetSession;
  };
}

export const invalidWidgetToken = () =>
  new PipesError(
    'invalid_widget_token',
    'The widget token is missing, invalid or expired (widget tokens last 15 minutes). Reload the page to get a new ' +
      'one; an API key is never accepted here.',
    { status: 401 },
  );

/** `Authorization: Bearer pwt_…`: a header, never a cookie, so a cross-site form cannot act with it (CSRF). */
export function readBearer(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1] ?? null;
}

/**
 * Resolves a token to its session: valid and unexpired, its API key still live and of the token's environment. One
 * read per request, which is what makes revoking the key end every widget session it minted at once.
 */
export async function resolveWidgetSession(
  ctx: AppContext,
  tokens: WidgetTokens,
  token: string | null,
): Promise<WidgetSession | null> {
  if (token === null) return null;
  const claims = tokens.verify(token, ctx.clock.now());
  if (claims === null) return null;
  const found = await findKeyWithEnvironment(ctx.store.db, 'id', claims.apiKeyId);
  if (found === undefined || found.revokedAt !== null || found.environment.id !== claims.environmentId)
    return null;
  return {
    claims,
    environment: found.environment,
    owner: { ownerType: 'user', userId: claims.userId, organizationId: claims.organizationId },
  };
}

export function authenticateWidget(ctx: AppContext, tokens: WidgetTokens): MiddlewareHandler<WidgetEnv> {
  return async (c, next) => {
    const session = await resolveWidgetSession(ctx, tokens, readBearer(c.req.header('authorization')));
    if (session === null) throw invalidWidgetToken();
    c.set('widget', session);
    await next();
  };
}
