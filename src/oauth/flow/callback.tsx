import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import type { ProviderEntry } from '../../providers/catalog-schema.ts';
import { loadIntegrationClient } from '../../providers/resolve.ts';
import { type DataIntegrationRow, findDataIntegrationById } from '../../store/data-integrations.ts';
import { findEnvironmentById } from '../../store/environments.ts';
import { readAccountIdentity } from '../account-identity.ts';
import { exchangeAuthorizationCode } from '../grants.ts';
import { completeGrant, type GrantResult } from './complete.tsx';
import { explainAuthorizationError, explainExchangeError } from './explain.ts';
import { burnState, codeVerifierBinding, type FlowRow, findFlowByState } from './flow-store.ts';
import { browserCookieName } from './leave.tsx';
import { errorPage, type FlowFailure, failFlow } from './respond.tsx';
import { digest, digestsEqual, looksLikeToken } from './secrets.ts';
import { requireUsable } from './start.ts';

/** Longest callback query we read; real ones are well under 4 KB. */
const MAX_QUERY_LENGTH = 8192;

const invalid = (
  errorCode: string,
  title: string,
  message: string,
  providerError: string | null = null,
): FlowFailure => ({
  errorCode,
  title,
  message,
  providerError,
  providerErrorDescription: null,
});

const BAD_STATE = invalid(
  'invalid_state',
  'This sign-in cannot be completed',
  'This response does not belong to a sign-in in progress (it is unknown, was already used, or has expired). Go back to the application and start again.',
);

/**
 * `GET /data-integrations/{slug}/{dik}/callback`: the provider's redirect back. Checks, in order, before the code is
 * sent anywhere: no repeated parameter (O7); a known `state` (O1); this browser started the flow (O2, the flow is
 * left untouched otherwise); the state is burnt (single use, O3); the flow has not expired (O4); the response
 * arrived on the redirect URI of the integration the flow started with (O8); `iss` equals the provider's declared
 * issuer (O5, O6); the provider's `error` (O12). Then the code exchange (O11, O14–O17), the account identity, and
 * the grant is saved with its `connected` event — or, with session binding, held for the app's finish call.
 */
export function handleCallback(ctx: AppContext) {
  return async (c: Context) => {
    const rawQuery = new URL(c.req.url).search;
    if (rawQuery.length > MAX_QUERY_LENGTH)
      return errorPage(c, invalid('invalid_request', 'Invalid response', 'The response is too long.'));
    const params = new URLSearchParams(rawQuery);
    const repeated = [...new Set(params.keys())].find((name) => params.getAll(name).length > 1);
    if (repeated !== undefined) {
      return errorPage(
        c,
        invalid(
          'invalid_request',
          'Invalid response',
          `The ${repeated.slice(0, 40)} parameter was sent more than once. Start again.`,
        ),
      );
    }
    const state = params.get('state') ?? '';
    const flow = looksLikeToken(state) ? await findFlowByState(ctx.store.db, digest(state)) : undefined;
    if (flow === undefined || flow.status !== 'redirected') return errorPage(c, BAD_STATE);

    const browser = getCookie(c, browserCookieName(ctx.config.publicUrl));
    if (
      browser === undefined ||
      flow.browser_hash === null ||
      !digestsEqual(digest(browser), flow.browser_hash)
    ) {
      return errorPage(
        c,
        invalid(
          'browser_mismatch',
          'This sign-in was started in another browser',
          'For your safety, a connection must be finished in the browser that started it. Go back to the application in this browser and start again.',
        ),
      );
    }
    if (!(await burnState(ctx.store.db, flow, ctx.clock.now()))) return errorPage(c, BAD_STATE);

    if (flow.expires_at <= ctx.clock.now()) {
      return failFlow(
        ctx,
        c,
        flow,
        invalid(
          'authorization_expired',
          'This sign-in has expired',
          'Sign-ins must be finished within 10 minutes. Go back to the application and start again.',
        ),
      );
    }
    const integration = await findDataIntegrationById(ctx.store.db, flow.data_integration_id);
    const env = await findEnvironmentById(ctx.store.db, flow.environment_id);
    if (integration === undefined || env === undefined) return errorPage(c, BAD_STATE);
    const mixUp = checkRedirectUri(ctx, c, flow, integration);
    if (mixUp !== null) return failFlow(ctx, c, flow, mixUp);
    const issuerProblem = checkIssuer(flow, params.get('iss'));
    if (issuerProblem !== null) return failFlow(ctx, c, flow, issuerProblem);

    let provider: ProviderEntry;
    try {
      provider = requireUsable(ctx, env, integration);
    } catch (error) {
      if (!(error instanceof PipesError)) throw error;
      return failFlow(
        ctx,
        c,
        flow,
        invalid(error.code, 'This provider cannot be connected right now', error.message),
      );
    }
    const named = { name: provider.name, slug: integration.slug };
    const providerError = params.get('error');
    if (providerError !== null) {
      return failFlow(
        ctx,
        c,
        flow,
        explainAuthorizationError(named, flow.redirect_uri, providerError, params.get('error_description')),
      );
    }
    const code = params.get('code');
    if (code === null || code === '' || code.length > 4096) {
      return failFlow(
        ctx,
        c,
        flow,
        invalid(
          'invalid_authorization_response',
          `${provider.name} was not connected`,
          `${provider.name} sent no authorization code. Start again.`,
        ),
      );
    }

    let result: GrantResult;
    try {
      result = await exchangeAndIdentify(ctx, flow, integration, provider, code, params);
    } catch (error) {
      ctx.log.info(
        { flowId: flow.id, provider: integration.slug, err: describeForLog(error) },
        'code exchange failed',
      );
      return failFlow(ctx, c, flow, explainExchangeError(named, flow.redirect_uri, error));
    }
    return completeGrant(ctx, c, flow, integration, provider, result);
  };
}

/** O8: the response must arrive on the redirect URI of the integration this flow started with. */
function checkRedirectUri(
  ctx: AppContext,
  c: Context,
  flow: FlowRow,
  integration: DataIntegrationRow,
): FlowFailure | null {
  const expected = `${ctx.config.publicUrl}/data-integrations/${integration.slug}/${integration.integration_key}/callback`;
  const arrived =
    c.req.param('slug') === integration.slug && c.req.param('dik') === integration.integration_key;
  if (arrived && expected === flow.redirect_uri) return null;
  return invalid(
    'invalid_authorization_response',
    'This sign-in cannot be completed',
    'The response arrived at the redirect URI of another integration (a possible mix-up attack); nothing was sent to any provider. Start again.',
  );
}

/** O5/O6 (RFC 9207): where the provider declares an issuer, `iss` must be present and equal it, compared as strings. */
function checkIssuer(flow: FlowRow, iss: string | null): FlowFailure | null {
  // Providers that do not declare an issuer are protected by their distinct redirect URI (R-M3); their `iss`, if
  // any, is not relied on.
  if (flow.issuer === null) return null;
  if (iss === null) {
    return invalid(
      'invalid_authorization_response',
      'This sign-in cannot be completed',
      'The provider identifies itself on every response (RFC 9207), but this response carries no issuer. Start again.',
    );
  }
  if (iss !== flow.issuer) {
    return invalid(
      'invalid_authorization_response',
      'This sign-in cannot be completed',
      'The response came from another authorization server than the one the sign-in started with (a possible mix-up attack); nothing was sent to any provider. Start again.',
    );
  }
  return null;
}

async function exchangeAndIdentify(
  ctx: AppContext,
  flow: FlowRow,
  integration: DataIntegrationRow,
  provider: ProviderEntry,
  code: string,
  params: URLSearchParams,
): Promise<GrantResult> {
  const client = loadIntegrationClient(ctx, integration);
  if (client === null) throw new PipesError('credentials_missing', 'The integration has no OAuth client.');
  const config = JSON.parse(flow.config) as Record<string, string>;
  const codeVerifier =
    flow.code_verifier === null ? null : ctx.vault.open(flow.code_verifier, codeVerifierBinding(flow));
  const tokens = await exchangeAuthorizationCode(ctx, {
    provider,
    config,
    client,
    code,
    redirectUri: flow.redirect_uri,
    codeVerifier,
  });
  const identity = await readAccountIdentity(ctx, { provider, config, tokens });
  const callbackMetadata: Record<string, string> = {};
  for (const name of provider.oauth?.callback_metadata_fields ?? []) {
    const value = params.get(name);
    if (value !== null && value.length <= 256) callbackMetadata[name] = value;
  }
  return { tokens, identity, callbackMetadata };
}

/** What may be logged about a failed exchange: its code and kind, never a request or response body. */
function describeForLog(error: unknown): Record<string, unknown> {
  if (error instanceof PipesError) {
    return {
      code: error.code,
      kind: (error as { kind?: string }).kind,
      providerError: (error as { providerError?: string | null }).providerError,
    };
  }
  return { type: error instanceof Error ? error.name : typeof error };
}
