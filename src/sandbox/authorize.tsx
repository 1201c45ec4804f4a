import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { findAccount, SANDBOX_ACCOUNTS } from './accounts.ts';
import type { SandboxContext } from './context.ts';
import { ConsentPage, ErrorPage, PAGE_HEADERS } from './pages.tsx';
import type { PendingRequest } from './records.ts';
import { findRepeatedParameter, readFormBody } from './responses.ts';
import { parseScopes, type SandboxScope, SCOPES_WHEN_OMITTED } from './scopes.ts';
import { generateSecret, isValidS256Challenge, TOKEN_PREFIXES } from './secrets.ts';

/** Longest `state` accepted; clients use ~43 characters, this only stops absurd inputs from being stored. */
const MAX_STATE_LENGTH = 1024;

function renderPage(
  c: Context,
  page: Child,
  status: ContentfulStatusCode = 200,
): Response | Promise<Response> {
  return c.html(html`<!DOCTYPE html>${page}`, status, PAGE_HEADERS);
}

function renderError(
  c: Context,
  title: string,
  message: string,
  detail?: string,
): Response | Promise<Response> {
  return renderPage(c, <ErrorPage title={title} message={message} detail={detail} />, 400);
}

/**
 * Sends the browser back to a redirect URI that was already verified for the client, with the response parameters
 * plus `iss` (RFC 9207, which protects clients against mix-up attacks). Existing query parameters are kept.
 */
function redirectToClient(
  c: Context,
  issuer: string,
  redirectUri: string,
  params: Record<string, string | undefined>,
): Response {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  url.searchParams.set('iss', issuer);
  return c.body(null, 302, {
    Location: url.href,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
  });
}

type AuthorizeValidation =
  | { ok: true; request: PendingRequest }
  | { ok: false; error: string; description: string; state: string | undefined };

/** Everything past client and redirect URI checks: failures here are reported to the client by redirect. */
function validateAuthorizeParameters(
  params: URLSearchParams,
  clientId: string,
  redirectUri: string,
): AuthorizeValidation {
  const stateValues = params.getAll('state');
  const state = stateValues.length === 1 ? stateValues[0] : undefined;
  const fail = (error: string, description: string): AuthorizeValidation => ({
    ok: false,
    error,
    description,
    state,
  });

  const repeated = findRepeatedParameter(params);
  if (repeated !== undefined)
    return fail('invalid_request', `The ${repeated} parameter was sent more than once.`);
  const responseType = params.get('response_type');
  if (responseType === null) return fail('invalid_request', 'response_type is required.');
  if (responseType !== 'code')
    return fail('unsupported_response_type', 'Only response_type=code is supported.');
  // The sandbox requires state (RFC 6749 only recommends it) so that clients are taught to always use it.
  if (state === undefined || state === '') return fail('invalid_request', 'state is required.');
  if (state.length > MAX_STATE_LENGTH) return fail('invalid_request', 'state is too long.');

  let scopes: SandboxScope[] = [...SCOPES_WHEN_OMITTED];
  const rawScope = params.get('scope');
  if (rawScope !== null) {
    const parsed = parseScopes(rawScope);
    if (!parsed.ok) return fail('invalid_scope', 'The requested scope is unknown or empty.');
    scopes = parsed.scopes;
  }

  const challenge = params.get('code_challenge');
  if (challenge === null) return fail('invalid_request', 'code_challenge is required (PKCE).');
  if (params.get('code_challenge_method') !== 'S256') {
    return fail('invalid_request', 'code_challenge_method must be S256.');
  }
  if (!isValidS256Challenge(challenge)) return fail('invalid_request', 'code_challenge is malformed.');

  return { ok: true, request: { clientId, redirectUri, state, scopes, codeChallenge: challenge } };
}

export function createAuthorizeRoutes(ctx: SandboxContext): Hono {
  const app = new Hono();
  const decisionUrl = `${ctx.issuer}/oauth/authorize/decision`;

  app.get('/oauth/authorize', async (c) => {
    const params = new URL(c.req.url).searchParams;
    // Until the client and its redirect URI are verified, errors are shown here and never redirected.
    const clientIds = params.getAll('client_id');
    const redirectUris = params.getAll('redirect_uri');
    const clientId = clientIds[0];
    const redirectUri = redirectUris[0];
    if (clientIds.length !== 1 || clientId === undefined || clientId === '') {
      return renderError(c, 'Invalid request', 'Exactly one client_id is required.');
    }
    if (redirectUris.length !== 1 || redirectUri === undefined || redirectUri === '') {
      return renderError(c, 'Invalid request', 'Exactly one redirect_uri is required.');
    }
    const check = ctx.clients.checkAuthorizeRequest(clientId, redirectUri);
    if (!check.ok) return renderError(c, check.title, check.message, `client_id: ${clientId}`);

    const validation = validateAuthorizeParameters(params, clientId, redirectUri);
    if (!validation.ok) {
      return redirectToClient(c, ctx.issuer, redirectUri, {
        error: validation.error,
        error_description: validation.description,
        state: validation.state,
      });
    }

    // The id is the only thing the form carries. It is unguessable and single-use, so a cross-site POST cannot
    // approve anything: an attacker would need an id from a consent page rendered for the victim.
    const requestId = generateSecret(TOKEN_PREFIXES.consentRequest);
    await ctx.records.savePending(requestId, validation.request);
    return renderPage(
      c,
      <ConsentPage
        decisionUrl={decisionUrl}
        requestId={requestId}
        clientId={clientId}
        redirectUri={redirectUri}
        scopes={validation.request.scopes}
        accounts={SANDBOX_ACCOUNTS}
      />,
    );
  });

  app.post('/oauth/authorize/decision', async (c) => {
    const form = await readFormBody(c);
    const requestId = form?.get('request_id');
    const pending = requestId ? await ctx.records.takePending(requestId) : undefined;
    if (form === undefined || pending === undefined) {
      return renderError(
        c,
        'Request expired',
        'This authorization request is unknown, expired, or was already answered.',
      );
    }
    const reply = (params: Record<string, string>) =>
      redirectToClient(c, ctx.issuer, pending.redirectUri, { ...params, state: pending.state });

    const decision = form.get('decision');
    if (decision === 'deny') {
      return reply({ error: 'access_denied', error_description: 'The user denied the request.' });
    }
    if (decision !== 'allow')
      return reply({ error: 'invalid_request', error_description: 'Unknown decision.' });
    const account = findAccount(form.get('account') ?? '');
    if (account === undefined) {
      return reply({ error: 'invalid_request', error_description: 'No valid test account was selected.' });
    }

    const code = generateSecret(TOKEN_PREFIXES.authorizationCode);
    await ctx.records.saveCode(code, {
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      scopes: pending.scopes,
      codeChallenge: pending.codeChallenge,
      login: account.login,
      generation: await ctx.records.accountGeneration(account.login),
    });
    return reply({ code });
  });

  return app;
}
