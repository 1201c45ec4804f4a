import { Hono } from 'hono';
import type { ApiEnv } from '../api/env.ts';
import type { AppContext } from '../context.ts';
import { SLUG_PATTERN } from '../providers/catalog-schema.ts';
import { widgetApiRoutes } from './api.ts';
import { isAllowedEmbeddingOrigin } from './origins.ts';
import { type DoneResult, HostedWidgetPage, PopupDonePage, renderWidgetPage } from './pages.tsx';
import { resolveWidgetSession } from './session.ts';
import { loadStaticScript, serveScript } from './static-files.ts';
import { WidgetTokens } from './token.ts';
import { createWidgetTokenRoute } from './token-route.ts';

/** Paths of the widget, which carry no API key (the public-path check in src/api/app.ts uses this). */
export function isWidgetPath(path: string): boolean {
  return path === '/widget' || path.startsWith('/widget/');
}

export interface WidgetApps {
  /** `/widget`, `/widget/done`, `/widget/*.js`, `/widget/api/*`: mounted at the root, public (own authentication). */
  pages: Hono;
  /** `POST /widgets/token`: mounted at `/widgets`, behind the API key. */
  tokenApi: Hono<ApiEnv>;
}

/** The popup's result, from the query string the connect flow appended; only well-formed values are kept. */
function readDoneResult(query: Record<string, string>): DoneResult | null {
  const status = query.status;
  const provider = query.provider ?? '';
  if ((status !== 'connected' && status !== 'failed') || !SLUG_PATTERN.test(provider) || provider.length > 64)
    return null;
  const account = query.connected_account_id ?? '';
  const error = query.error ?? '';
  return {
    status,
    provider,
    connectedAccountId: /^data_installation_[0-9A-Za-z]{1,40}$/.test(account) ? account : null,
    error: /^[a-z0-9_]{1,64}$/.test(error) ? error : null,
    errorDescription: query.error_description ? query.error_description.slice(0, 500) : null,
  };
}

/**
 * The end-user connect widget: a hosted page, an embeddable `<pipes-connect>` element (one static script), the small
 * JSON API both use, and the token endpoint an app's backend calls to mint a widget token. See docs/widget.md.
 */
export function createWidgetApps(ctx: AppContext): WidgetApps {
  const tokens = new WidgetTokens(ctx.vault);
  const element = loadStaticScript('pipes-connect.js');
  const done = loadStaticScript('done.js');
  const { publicUrl } = ctx.config;
  const appName = ctx.config.appName ?? 'this application';
  const title =
    ctx.config.appName === undefined ? 'Connected accounts' : `Connected accounts · ${ctx.config.appName}`;

  const pages = new Hono();
  pages.get('/widget/pipes-connect.js', (c) => serveScript(c, element));
  pages.get('/widget/done.js', (c) => serveScript(c, done));
  pages.route('/widget/api', widgetApiRoutes(ctx, tokens));

  pages.get('/widget', async (c) => {
    const token = c.req.query('token') ?? null;
    const mode = c.req.query('mode') === 'popup' ? 'popup' : 'redirect';
    let problem: string | null = null;
    if (token !== null && (await resolveWidgetSession(ctx, tokens, token)) === null) {
      problem = `This link has expired or is not valid. Go back to ${appName} and open it again.`;
    }
    return renderWidgetPage(
      c,
      <HostedWidgetPage
        publicUrl={publicUrl}
        title={title}
        appName={appName}
        token={token}
        mode={mode}
        problem={problem}
      />,
      problem === null ? 200 : 400,
    );
  });

  pages.get('/widget/done', async (c) => {
    const query = c.req.query();
    const result = readDoneResult(query);
    // The environment is unknown here, so the origin is checked against every environment's registered origins; it
    // was checked against the flow's own environment when the flow started, and return_to matched exactly.
    const origin = query.origin ?? '';
    const envNames = Object.keys(ctx.config.redirectUrls);
    const allowed = ['', ...envNames].some((name) => isAllowedEmbeddingOrigin(ctx.config, { name }, origin));
    return renderWidgetPage(
      c,
      <PopupDonePage origin={allowed ? origin : null} result={result} />,
      result === null ? 400 : 200,
    );
  });

  const tokenApi = new Hono<ApiEnv>();
  tokenApi.post('/token', createWidgetTokenRoute(ctx, tokens));
  return { pages, tokenApi };
}
