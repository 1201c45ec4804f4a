import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { SandboxContext } from './context.ts';
import type { GrantRecord, RefreshTokenRecord } from './records.ts';
import { findRepeatedParameter, NO_STORE_HEADERS, oauthErrorResponse, readFormBody } from './responses.ts';
import { formatScopes, parseScopes, type SandboxScope } from './scopes.ts';
import { generateSecret, TOKEN_PREFIXES, verifyPkceS256 } from './secrets.ts';

export interface TokenResponseBody {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

type Outcome =
  | { ok: true; body: TokenResponseBody }
  | { ok: false; status: 400 | 401; error: string; description: string };

const failure = (error: string, description: string, status: 400 | 401 = 400): Outcome => ({
  ok: false,
  status,
  error,
  description,
});

/** One message for every unusable code, so a caller learns nothing about which check failed. */
const INVALID_CODE = failure('invalid_grant', 'The authorization code is invalid, expired, or already used.');
const INVALID_REFRESH = failure('invalid_grant', 'The refresh token is invalid, expired, or revoked.');

export function createTokenRoutes(ctx: SandboxContext): Hono {
  const app = new Hono();

  app.post('/oauth/token', async (c) => {
    const form = await readFormBody(c);
    const grantType = form?.get('grant_type');
    if (grantType === 'authorization_code' || grantType === 'refresh_token')
      ctx.stats.token_requests[grantType] += 1;
    else ctx.stats.token_requests.other += 1;

    const outcome =
      form === undefined
        ? failure('invalid_request', 'The body must be application/x-www-form-urlencoded.')
        : await exchange(ctx, form, c.req.header('authorization'));
    if (outcome.ok) return c.json(outcome.body, 200, NO_STORE_HEADERS);
    ctx.stats.token_errors += 1;
    // RFC 6749 §5.2: a failed client authentication is a 401 with a challenge for the Basic scheme.
    const challenge: Record<string, string> =
      outcome.status === 401 ? { 'WWW-Authenticate': 'Basic realm="sandbox", charset="UTF-8"' } : {};
    return oauthErrorResponse(
      c,
      outcome.status as ContentfulStatusCode,
      outcome.error,
      outcome.description,
      challenge,
    );
  });

  return app;
}

async function exchange(
  ctx: SandboxContext,
  form: URLSearchParams,
  authorization: string | undefined,
): Promise<Outcome> {
  const repeated = findRepeatedParameter(form);
  if (repeated !== undefined)
    return failure('invalid_request', `The ${repeated} parameter was sent more than once.`);
  const client = await ctx.clients.authenticate(authorization, form);
  if (!client.ok)
    return failure(client.error, client.description, client.error === 'invalid_client' ? 401 : 400);

  const grantType = form.get('grant_type');
  if (grantType === null) return failure('invalid_request', 'grant_type is required.');
  if (grantType === 'authorization_code') return redeemCode(ctx, form, client.clientId);
  if (grantType === 'refresh_token') return refresh(ctx, form, client.clientId);
  return failure('unsupported_grant_type', 'Only authorization_code and refresh_token are supported.');
}

async function redeemCode(ctx: SandboxContext, form: URLSearchParams, clientId: string): Promise<Outcome> {
  const code = form.get('code');
  const redirectUri = form.get('redirect_uri');
  const verifier = form.get('code_verifier');
  if (code === null || redirectUri === null || verifier === null) {
    return failure('invalid_request', 'code, redirect_uri and code_verifier are required.');
  }

  const record = await ctx.records.takeCode(code);
  if (record === undefined) {
    // RFC 6749 §4.1.2: a replayed code should revoke what was issued with it, since one of the two callers is not
    // the legitimate client.
    const used = await ctx.records.findUsedCode(code);
    if (used?.grantId) await ctx.records.revokeGrant(used.grantId);
    return INVALID_CODE;
  }
  // Remember the code before any other check, so a replay racing this request is still recognised as one.
  await ctx.records.rememberUsedCode(code, { grantId: null });
  if (record.clientId !== clientId || record.redirectUri !== redirectUri) return INVALID_CODE;
  if (!verifyPkceS256(verifier, record.codeChallenge)) return INVALID_CODE;
  if (record.generation !== (await ctx.records.accountGeneration(record.login))) return INVALID_CODE;

  const grant = await ctx.records.createGrant({
    clientId,
    login: record.login,
    scopes: record.scopes,
    generation: record.generation,
  });
  await ctx.records.rememberUsedCode(code, { grantId: grant.id });
  return {
    ok: true,
    body: await issueTokens(ctx, grant, grant.scopes, grant.scopes.includes('offline_access')),
  };
}

async function refresh(ctx: SandboxContext, form: URLSearchParams, clientId: string): Promise<Outcome> {
  const token = form.get('refresh_token');
  if (token === null) return failure('invalid_request', 'refresh_token is required.');
  const settings = ctx.settings();
  const rotate = settings.rotateRefreshTokens;

  // When rotating, claim the token atomically: of two concurrent refreshes, one rotates and the other sees nothing
  // (invalid_grant) instead of both minting a new refresh token from the same parent.
  const record = rotate
    ? await ctx.records.takeRefreshToken(token)
    : await ctx.records.findRefreshToken(token);
  if (record === undefined) return INVALID_REFRESH;
  const restore = async (value: RefreshTokenRecord = record) => {
    if (rotate) await ctx.records.saveRefreshToken(token, value);
  };

  if (record.clientId !== clientId) {
    await restore();
    return INVALID_REFRESH;
  }
  const grant = await ctx.records.findLiveGrant(record.grantId);
  if (grant === undefined) return INVALID_REFRESH;

  const now = ctx.clock.now();
  if (record.status === 'rotated' && !(record.graceUntil !== null && now < record.graceUntil)) {
    // A retired refresh token came back after its grace: either the client or an attacker holds a stale copy, and
    // we cannot tell which. Like Atlassian and oidc-provider, kill the whole family.
    await ctx.records.revokeGrant(grant.id);
    await restore();
    return INVALID_REFRESH;
  }

  let scopes: SandboxScope[] = grant.scopes;
  const requested = form.get('scope');
  if (requested !== null) {
    const parsed = parseScopes(requested);
    if (!parsed.ok || !parsed.scopes.every((scope) => grant.scopes.includes(scope))) {
      await restore();
      return failure('invalid_scope', 'The requested scope exceeds the scope originally granted.');
    }
    scopes = parsed.scopes;
  }

  if (rotate && record.status === 'active') {
    await restore({ ...record, status: 'rotated', graceUntil: now + settings.refreshGraceSeconds * 1000 });
  } else {
    await restore();
  }
  return { ok: true, body: await issueTokens(ctx, grant, scopes, rotate) };
}

async function issueTokens(
  ctx: SandboxContext,
  grant: GrantRecord,
  scopes: SandboxScope[],
  withRefreshToken: boolean,
): Promise<TokenResponseBody> {
  const ttlSeconds = ctx.settings().accessTokenTtlSeconds;
  const accessToken = generateSecret(TOKEN_PREFIXES.accessToken);
  await ctx.records.saveAccessToken(accessToken, {
    grantId: grant.id,
    clientId: grant.clientId,
    login: grant.login,
    scopes,
    expiresAt: ctx.clock.now() + ttlSeconds * 1000,
  });
  const body: TokenResponseBody = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: ttlSeconds,
    scope: formatScopes(scopes),
  };
  if (withRefreshToken) {
    const refreshToken = generateSecret(TOKEN_PREFIXES.refreshToken);
    await ctx.records.saveRefreshToken(refreshToken, {
      grantId: grant.id,
      clientId: grant.clientId,
      status: 'active',
      graceUntil: null,
    });
    body.refresh_token = refreshToken;
  }
  return body;
}
