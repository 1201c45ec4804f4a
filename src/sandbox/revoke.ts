import { Hono } from 'hono';
import type { SandboxContext } from './context.ts';
import { findRepeatedParameter, NO_STORE_HEADERS, oauthErrorResponse, readFormBody } from './responses.ts';

/**
 * RFC 7009 token revocation. Revoking a refresh token revokes its whole grant (access tokens included, as §2.1
 * suggests); revoking an access token revokes only that token. Unknown tokens, and tokens of another client, get
 * the same empty 200 so the endpoint reveals nothing about them.
 */
export function createRevokeRoutes(ctx: SandboxContext): Hono {
  const app = new Hono();

  app.post('/oauth/revoke', async (c) => {
    ctx.stats.revocation_requests += 1;
    const form = await readFormBody(c);
    if (form === undefined) {
      return oauthErrorResponse(
        c,
        400,
        'invalid_request',
        'The body must be application/x-www-form-urlencoded.',
      );
    }
    const repeated = findRepeatedParameter(form);
    if (repeated !== undefined) {
      return oauthErrorResponse(
        c,
        400,
        'invalid_request',
        `The ${repeated} parameter was sent more than once.`,
      );
    }
    const client = await ctx.clients.authenticate(c.req.header('authorization'), form);
    if (!client.ok) {
      return client.error === 'invalid_client'
        ? oauthErrorResponse(c, 401, client.error, client.description, {
            'WWW-Authenticate': 'Basic realm="sandbox", charset="UTF-8"',
          })
        : oauthErrorResponse(c, 400, client.error, client.description);
    }
    const token = form.get('token');
    if (token === null || token === '')
      return oauthErrorResponse(c, 400, 'invalid_request', 'token is required.');

    // The hint only orders the lookups (§2.1); both kinds are always tried.
    const lookups =
      form.get('token_type_hint') === 'access_token'
        ? [revokeAccessToken, revokeRefreshToken]
        : [revokeRefreshToken, revokeAccessToken];
    for (const lookup of lookups) {
      if (await lookup(ctx, token, client.clientId)) break;
    }
    return c.body(null, 200, NO_STORE_HEADERS);
  });

  return app;
}

/** Returns true when the token was found (whoever owns it), so the other kind need not be tried. */
async function revokeRefreshToken(ctx: SandboxContext, token: string, clientId: string): Promise<boolean> {
  const record = await ctx.records.findRefreshToken(token);
  if (record === undefined) return false;
  if (record.clientId === clientId) {
    await ctx.records.revokeGrant(record.grantId);
    await ctx.records.deleteRefreshToken(token);
  }
  return true;
}

async function revokeAccessToken(ctx: SandboxContext, token: string, clientId: string): Promise<boolean> {
  const record = await ctx.records.findAccessToken(token);
  if (record === undefined) return false;
  if (record.clientId === clientId) await ctx.records.deleteAccessToken(token);
  return true;
}
