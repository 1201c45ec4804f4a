import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import * as oauth from 'oauth4webapi';
import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import type { ProviderEntry, ProviderOAuth } from '../../providers/catalog-schema.ts';
import { loadIntegrationClient } from '../../providers/resolve.ts';
import { resolveTemplate } from '../../providers/templates.ts';
import { findDataIntegrationById } from '../../store/data-integrations.ts';
import { findEnvironmentById } from '../../store/environments.ts';
import type { OAuthClient } from '../types.ts';
import { claimLink, codeVerifierBinding, type FlowRow, findFlowByLink } from './flow-store.ts';
import { ConfirmPage, renderPage } from './pages.tsx';
import { errorPage, failFlow } from './respond.tsx';
import { digest, looksLikeToken, newFlowSecret, s256 } from './secrets.ts';
import { requireUsable } from './start.ts';

/** How long the browser-binding cookie lives: a few flows' worth. */
const BROWSER_COOKIE_MAX_AGE_S = 3600;

/** `__Host-` pins the cookie to our origin (Secure, Path=/, no Domain); browsers only accept it over https. */
export const browserCookieName = (publicUrl: string): string =>
  publicUrl.startsWith('https://') ? '__Host-pipes_browser' : 'pipes_browser';

const linkUnusable = (c: Context, used: boolean) =>
  errorPage(c, {
    errorCode: used ? 'link_already_used' : 'link_expired',
    title: used ? 'This link was already used' : 'This link has expired',
    message: used
      ? 'This connection link can be used only once. Go back to the application and start again.'
      : 'Connection links are valid for 10 minutes. Go back to the application and start again.',
  });

/** Finds the flow of a connect link that may still be used, or answers why not. */
async function openLink(ctx: AppContext, c: Context): Promise<FlowRow | Response> {
  const link = c.req.param('link') ?? '';
  const flow = looksLikeToken(link) ? await findFlowByLink(ctx.store.db, digest(link)) : undefined;
  if (flow === undefined) return linkUnusable(c, false);
  if (flow.status !== 'created') return linkUnusable(c, true);
  if (flow.expires_at <= ctx.clock.now()) return linkUnusable(c, false);
  return flow;
}

/**
 * `GET /data-integrations/{link}/authorize-redirect`: the confirmation screen (§7.4). It only shows; the link is
 * used by the form's POST, so a link previewer or scanner fetching it consumes nothing. With session binding there
 * is no screen: the app's own session check replaces it, and the browser leaves for the provider at once.
 */
export function showConfirmation(ctx: AppContext) {
  return async (c: Context) => {
    const opened = await openLink(ctx, c);
    if (opened instanceof Response) return opened;
    const flow = opened;
    if (flow.app_code_challenge !== null) return leaveForProvider(ctx, c, flow);
    const integration = await findDataIntegrationById(ctx.store.db, flow.data_integration_id);
    const env = await findEnvironmentById(ctx.store.db, flow.environment_id);
    if (integration === undefined || env === undefined) return linkUnusable(c, false);
    let provider: ProviderEntry;
    try {
      provider = requireUsable(ctx, env, integration);
    } catch (error) {
      if (error instanceof PipesError) return failFlow(ctx, c, flow, unavailable(error));
      throw error;
    }
    return renderPage(
      c,
      <ConfirmPage
        action={`${ctx.config.publicUrl}/data-integrations/${c.req.param('link')}/authorize-redirect`}
        providerName={provider.name}
        appName={ctx.config.appName ?? 'this application'}
        userId={flow.user_id}
        organizationId={flow.organization_id}
        organizationOwned={flow.owner_type === 'organization'}
      />,
    );
  };
}

/** `POST /data-integrations/{link}/authorize-redirect`: the confirmation form; leaves for the provider. */
export function confirmAndLeave(ctx: AppContext) {
  return async (c: Context) => {
    const opened = await openLink(ctx, c);
    if (opened instanceof Response) return opened;
    return leaveForProvider(ctx, c, opened);
  };
}

const unavailable = (error: PipesError) => ({
  errorCode: error.code,
  title: 'This provider cannot be connected right now',
  message: error.message,
  providerError: null,
  providerErrorDescription: null,
});

/**
 * Uses the link and redirects to the provider's authorization endpoint with a one-time `state`, PKCE S256 when the
 * provider supports it (the verifier sealed in the flow, never in a URL), the integration's exact redirect URI and
 * its scopes. Binds the flow to this browser with an HttpOnly, SameSite=Lax cookie (O2).
 */
async function leaveForProvider(ctx: AppContext, c: Context, flow: FlowRow): Promise<Response> {
  const integration = await findDataIntegrationById(ctx.store.db, flow.data_integration_id);
  const env = await findEnvironmentById(ctx.store.db, flow.environment_id);
  if (integration === undefined || env === undefined) return linkUnusable(c, false);
  let provider: ProviderEntry;
  let client: OAuthClient | null;
  try {
    provider = requireUsable(ctx, env, integration);
    client = loadIntegrationClient(ctx, integration);
  } catch (error) {
    if (error instanceof PipesError) return failFlow(ctx, c, flow, unavailable(error));
    throw error;
  }
  if (client === null || provider.oauth === undefined) {
    return failFlow(
      ctx,
      c,
      flow,
      unavailable(new PipesError('credentials_missing', 'The integration has no OAuth client.')),
    );
  }
  const now = ctx.clock.now();
  const state = newFlowSecret();
  const verifier = provider.oauth.pkce ? oauth.generateRandomCodeVerifier() : null;
  const cookieName = browserCookieName(ctx.config.publicUrl);
  const existing = getCookie(c, cookieName);
  // One cookie per browser, shared by its flows: two tabs connecting two providers do not evict each other.
  const browser = existing !== undefined && looksLikeToken(existing) ? existing : newFlowSecret();
  const claimed = await claimLink(ctx.store.db, flow, {
    stateHash: digest(state),
    browserHash: digest(browser),
    codeVerifier: verifier === null ? null : ctx.vault.seal(verifier, codeVerifierBinding(flow)),
    now,
  });
  if (!claimed) return linkUnusable(c, true);
  const config = JSON.parse(flow.config) as Record<string, string>;
  const scopes =
    integration.scopes === null
      ? provider.oauth.default_scopes
      : (JSON.parse(integration.scopes) as string[]);
  const location = buildAuthorizationUrl(provider, provider.oauth, config, {
    clientId: client.clientId,
    redirectUri: flow.redirect_uri,
    state,
    scopes,
    codeChallenge: verifier === null ? null : s256(verifier),
  });
  setCookie(c, cookieName, browser, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: ctx.config.publicUrl.startsWith('https://'),
    path: '/',
    maxAge: BROWSER_COOKIE_MAX_AGE_S,
  });
  ctx.log.info({ flowId: flow.id, provider: flow.provider_slug }, 'connect flow left for the provider');
  c.header('Cache-Control', 'no-store');
  c.header('Referrer-Policy', 'no-referrer');
  return c.redirect(location, 302);
}

/** The provider's authorization URL. Pipes' own parameters are set last: extra parameters cannot override them. */
export function buildAuthorizationUrl(
  provider: ProviderEntry,
  o: ProviderOAuth,
  config: Readonly<Record<string, string>>,
  request: {
    clientId: string;
    redirectUri: string;
    state: string;
    scopes: readonly string[];
    codeChallenge: string | null;
  },
): string {
  const url = new URL(resolveTemplate(o.authorization_url, config, provider.connect_config));
  for (const [name, value] of Object.entries(o.authorization_params)) url.searchParams.set(name, value);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', request.clientId);
  url.searchParams.set('redirect_uri', request.redirectUri);
  url.searchParams.set('state', request.state);
  if (request.scopes.length > 0) url.searchParams.set(o.scope_param, request.scopes.join(o.scope_separator));
  if (request.codeChallenge !== null) {
    url.searchParams.set('code_challenge', request.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return url.href;
}
