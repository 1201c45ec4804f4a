/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { findEnvironmentByName } from '../store/environments.ts';
import { createDecoyHash } from './auth/passwords.ts';
import {
  DEFAULT_SESSION_TIMEOUTS,
  deleteSessionByHash,
  findSession,
  setSessionEnvironment,
} from './auth/sessions.ts';
import { clearCookieHeader, dashboardCookies, readCookie } from './cookies.ts';
import { tokensEqual } from './csrf.ts';
import { type Dash, type DashEnv, formValue, readForm, render, stylesheetHref } from './dash.ts';
import { fixFor } from './fixes.ts';
import { SECTIONS } from './layout.tsx';
import { MessagePage } from './pages/auth.tsx';
import { mountApiKeyRoutes } from './routes/api-keys.tsx';
import { mountAuthRoutes } from './routes/auth.tsx';
import { mountConnectionRoutes } from './routes/connections.tsx';
import { mountEventRoutes } from './routes/events.tsx';
import { mountProviderRoutes } from './routes/providers.tsx';
import { mountWebhookRoutes } from './routes/webhooks.tsx';
import { isSameOrigin, securityHeaders } from './security.ts';

/** `/dashboard` and everything under it: served without an API key (operators sign in instead). */
export function isDashboardPath(path: string): boolean {
  return path === '/dashboard' || path.startsWith('/dashboard/');
}

const CSS_FILE = new URL('./assets/dashboard.css', import.meta.url);

/**
 * The operator dashboard, mounted at `/dashboard`. Server-rendered with hono/jsx, no script, forms that work without
 * JavaScript. Every handler calls the same service functions as the HTTP API.
 *
 * Order of the checks on each request: security headers on every answer; for a POST, the origin check first (403
 * before anything else runs); then the session (signed-in routes) and, for a POST, its CSRF token.
 */
export function dashboardRoutes(ctx: AppContext): Hono<DashEnv> {
  const css = readFileSync(CSS_FILE, 'utf8');
  let decoy: Promise<string> | undefined;
  const dash: Dash = {
    ctx,
    cookies: dashboardCookies(ctx.config.publicUrl),
    origin: new URL(ctx.config.publicUrl).origin,
    timeouts: DEFAULT_SESSION_TIMEOUTS,
    stylesheet: stylesheetHref(css),
    css,
    signIn: {
      db: ctx.store.db,
      decoyHash: () => {
        decoy ??= createDecoyHash();
        return decoy;
      },
    },
  };
  const headers = securityHeaders(dash.cookies.secure);
  const app = new Hono<DashEnv>();

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(headers)) {
      if (name === 'Cache-Control' && c.res.headers.has(name)) continue;
      c.res.headers.set(name, value);
    }
  });

  app.onError(async (error, c) => {
    const notFound = error instanceof PipesError && error.status === 404;
    if (!notFound) ctx.log.error({ err: error, requestId: c.get('requestId') }, 'dashboard error');
    const response = await render(
      c,
      <MessagePage
        stylesheet={dash.stylesheet}
        title={notFound ? 'Not found' : 'Something went wrong'}
        message={
          notFound
            ? 'There is nothing here in this environment.'
            : `Pipes could not complete this request. Quote request id ${c.get('requestId') ?? ''} when reporting it.`
        }
        back={{ href: '/dashboard/providers', label: 'Back to the dashboard' }}
      />,
      notFound ? 404 : 500,
    );
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    return response;
  });

  // R-D2: state changes come only from the dashboard's own pages.
  app.use('*', async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    if (method !== 'POST') return c.text('Method not allowed', 405, { Allow: 'GET, POST' });
    const origin = { origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') };
    if (!isSameOrigin(origin, dash.origin)) {
      ctx.log.warn(
        { requestId: c.get('requestId'), path: c.req.path },
        'dashboard: cross-origin POST refused',
      );
      return render(
        c,
        <MessagePage
          stylesheet={dash.stylesheet}
          title="Request refused"
          message="This form was not sent from the dashboard's own origin, so nothing was changed."
          fix={fixFor('origin_mismatch')}
        />,
        403,
      );
    }
    return next();
  });

  app.get('/assets/dashboard.css', (c) =>
    c.body(dash.css, 200, {
      'Content-Type': 'text/css; charset=utf-8',
      'Cache-Control': 'public, max-age=86400, immutable',
    }),
  );

  mountAuthRoutes(dash, app);

  // Everything below needs a live session; a POST also needs the session's CSRF token.
  app.use('*', async (c, next) => {
    const db = ctx.store.db;
    const id = readCookie(c.req.header('cookie'), dash.cookies.session);
    const session = id === undefined ? null : await findSession(db, id, ctx.clock.now(), dash.timeouts);
    if (session === null) {
      if (id === undefined) return c.redirect('/dashboard/sign-in', 303);
      // A cookie that names no live session: signed out, idle or past its absolute timeout.
      c.header('Set-Cookie', clearCookieHeader(dash.cookies, dash.cookies.session), { append: true });
      return c.redirect('/dashboard/sign-in?notice=expired', 303);
    }
    c.set('session', session);
    if (c.req.method === 'POST') {
      const form = await readForm(c);
      if (!tokensEqual(formValue(form, '_csrf'), session.csrfToken)) {
        ctx.log.warn({ requestId: c.get('requestId'), path: c.req.path }, 'dashboard: CSRF token refused');
        return render(
          c,
          <MessagePage
            stylesheet={dash.stylesheet}
            title="Request refused"
            message="The form's security token is missing or belongs to another session, so nothing was changed."
            fix={{ text: 'Open the page again from the dashboard and resubmit the form.' }}
            back={{ href: '/dashboard/providers', label: 'Back to the dashboard' }}
          />,
          403,
        );
      }
    }
    return next();
  });

  app.get('/', (c) => c.redirect('/dashboard/providers', 303));

  app.post('/sign-out', async (c) => {
    await deleteSessionByHash(ctx.store.db, c.get('session').idHash);
    c.header('Set-Cookie', clearCookieHeader(dash.cookies, dash.cookies.session), { append: true });
    return c.redirect('/dashboard/sign-in?notice=signed_out', 303);
  });

  app.post('/environment', async (c) => {
    const form = await readForm(c);
    const environment = await findEnvironmentByName(ctx.store.db, formValue(form, 'environment'));
    const section = SECTIONS.find((s) => s.id === formValue(form, 'section')) ?? SECTIONS[0]!;
    if (environment !== undefined) {
      await setSessionEnvironment(ctx.store.db, c.get('session').idHash, environment.id);
    }
    return c.redirect(`${section.href}?notice=environment`, 303);
  });

  mountProviderRoutes(dash, app);
  mountConnectionRoutes(dash, app);
  mountEventRoutes(dash, app);
  mountWebhookRoutes(dash, app);
  mountApiKeyRoutes(dash, app);

  app.all('*', () => {
    throw new PipesError('not_found', 'Not found.', { status: 404 });
  });
  return app;
}
