import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { findAccount } from './accounts.ts';
import type { SandboxContext } from './context.ts';
import type { AccessTokenRecord } from './records.ts';
import type { SandboxScope } from './scopes.ts';

type ApiEnv = { Variables: { token: AccessTokenRecord } };

const REALM = 'realm="sandbox"';
const newItemSchema = z.object({ title: z.string().trim().min(1).max(200) });

function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization ?? '');
  return match?.[1];
}

/** RFC 6750 §3: the challenge carries an error code only when a token was presented. */
function unauthorized(c: Context, error: string | undefined, description: string): Response {
  const challenge =
    error === undefined
      ? `Bearer ${REALM}`
      : `Bearer ${REALM}, error="${error}", error_description="${description}"`;
  return c.json({ error: error ?? 'unauthorized', error_description: description }, 401, {
    'WWW-Authenticate': challenge,
  });
}

/**
 * The sandbox's resource API: a user profile and a per-account list of items, enough to exercise Pipes' token
 * vending and request relay. Every response, errors included, carries the rate-limit headers of the presented
 * credential's fixed window, the way GitHub-style APIs do.
 */
export function createApiRoutes(ctx: SandboxContext): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.use('*', async (c, next) => {
    ctx.stats.api_requests += 1;
    const { rateLimitPerWindow: limit, rateLimitWindowSeconds } = ctx.settings();
    const windowMs = rateLimitWindowSeconds * 1000;
    const now = ctx.clock.now();
    const window = Math.floor(now / windowMs);
    const resetAt = (window + 1) * windowMs;
    const presented = bearerToken(c.req.header('authorization'));
    // Requests without a token share one bucket; a token's bucket is keyed by its hash (see records.ts).
    const count = await ctx.records.countRequest(
      presented === undefined ? 'anonymous' : `bearer:${presented}`,
      window,
      resetAt - now,
    );
    c.header('X-RateLimit-Limit', String(limit));
    c.header('X-RateLimit-Remaining', String(Math.max(0, limit - count)));
    c.header('X-RateLimit-Reset', String(Math.ceil(resetAt / 1000)));
    if (count > limit) {
      return c.json(
        {
          error: 'rate_limited',
          error_description: 'Too many requests for this token; retry after the reset.',
        },
        429,
        { 'Retry-After': String(Math.max(1, Math.ceil((resetAt - now) / 1000))) },
      );
    }

    if (presented === undefined) return unauthorized(c, undefined, 'A bearer access token is required.');
    const token = await ctx.records.findAccessToken(presented);
    if (token === undefined || token.expiresAt <= now) {
      return unauthorized(c, 'invalid_token', 'The access token is invalid or expired.');
    }
    if ((await ctx.records.findLiveGrant(token.grantId)) === undefined) {
      return unauthorized(c, 'invalid_token', 'The access token has been revoked.');
    }
    c.set('token', token);
    await next();
  });

  const requireScope = (c: Context<ApiEnv>, scope: SandboxScope): Response | undefined => {
    if (c.get('token').scopes.includes(scope)) return undefined;
    return c.json(
      { error: 'insufficient_scope', error_description: `This request needs the ${scope} scope.` },
      403,
      { 'WWW-Authenticate': `Bearer ${REALM}, error="insufficient_scope", scope="${scope}"` },
    );
  };

  app.get('/user', (c) => {
    const denied = requireScope(c, 'profile');
    if (denied) return denied;
    const account = findAccount(c.get('token').login);
    if (account === undefined)
      return c.json({ error: 'not_found', error_description: 'Unknown account.' }, 404);
    return c.json({ id: account.id, login: account.login, name: account.name, email: account.email });
  });

  app.get('/items', async (c) => {
    const denied = requireScope(c, 'items:read');
    if (denied) return denied;
    return c.json({ data: await ctx.records.listItems(c.get('token').login) });
  });

  app.post('/items', async (c) => {
    const denied = requireScope(c, 'items:write');
    if (denied) return denied;
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: 'invalid_request', error_description: 'The body must be JSON.' }, 400);
    }
    const parsed = newItemSchema.safeParse(body);
    if (!parsed.success) {
      return c.json(
        { error: 'invalid_request', error_description: 'title must be a string of 1 to 200 characters.' },
        400,
      );
    }
    return c.json(await ctx.records.addItem(c.get('token').login, parsed.data.title), 201);
  });

  app.all('*', (c) => c.json({ error: 'not_found', error_description: 'No such API endpoint.' }, 404));

  return app;
}
