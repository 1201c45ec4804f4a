import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppContext } from '../context.ts';
import { dashboardRoutes, isDashboardPath } from '../dashboard/app.tsx';
import { connectFlowRoutes, isConnectFlowPath } from '../oauth/flow/routes.ts';
import { createWidgetApps, isWidgetPath } from '../widget/routes.tsx';
import type { ApiEnv } from './env.ts';
import { handleError, handleNotFound } from './error-handler.ts';
import { type ApiGuards, createApiGuards } from './guards.ts';
import { authenticateApiKey } from './middleware/authenticate.ts';
import { rateLimitPerKey } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { requestTooLarge } from './raw-http.ts';
import { apiKeyRoutes } from './routes/api-keys/index.ts';
import { dataIntegrationRoutes } from './routes/data-integrations/index.ts';
import { organizationRoutes, userManagementRoutes } from './routes/data-providers/index.ts';
import { DOCTOR_PROBE_PATH, doctorProbeRoutes } from './routes/doctor-probe.ts';
import { eventRoutes } from './routes/events/index.ts';
import { healthRoutes } from './routes/health.ts';
import { vendingRoutes } from './routes/vending/index.ts';
import { webhookEndpointRoutes } from './routes/webhook-endpoints/index.ts';

/**
 * Paths served without an API key: health checks, the connect flow's browser legs (the connect link and the
 * provider's callback, authorized by their own one-time secrets) and the built-in sandbox provider when mounted.
 */
export function isPublicPath(path: string, sandboxMounted: boolean): boolean {
  if (path === '/health' || path === '/ready') return true;
  if (isConnectFlowPath(path)) return true;
  // The connect widget authenticates with its own short-lived widget token; `pipes doctor`'s probe proves identity.
  if (isWidgetPath(path) || path === DOCTOR_PROBE_PATH) return true;
  // The operator dashboard: operators sign in with a password and a session cookie instead (src/dashboard).
  if (isDashboardPath(path)) return true;
  return sandboxMounted && (path.startsWith('/sandbox/') || path === SANDBOX_WELL_KNOWN_PATH);
}

/** RFC 8414 §3.1 puts the metadata of the issuer `…/sandbox` at the origin root, outside the mount. */
const SANDBOX_WELL_KNOWN_PATH = '/.well-known/oauth-authorization-server/sandbox';

/**
 * Builds the HTTP application. The WorkOS-compatible API lives at the root (the WorkOS SDK cannot add a path
 * prefix); Pipes' own additions live under `/pipes/`.
 */
export function createApp(ctx: AppContext, guards: ApiGuards = createApiGuards(ctx)): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.onError(handleError(ctx.log));
  app.notFound(handleNotFound);

  app.use('*', requestId());
  app.use(
    '*',
    bodyLimit({
      maxSize: ctx.config.maxBodyBytes,
      onError: () => {
        throw requestTooLarge(ctx.config.maxBodyBytes);
      },
    }),
  );

  app.route('/', healthRoutes(ctx));

  const authenticate = authenticateApiKey(guards.authenticate);
  const rateLimit = rateLimitPerKey(guards.rateLimit);
  app.use('*', async (c, next) => {
    if (isPublicPath(c.req.path, ctx.sandbox !== null)) return next();
    await authenticate(c, async () => {
      await rateLimit(c, next);
    });
  });

  app.route('/pipes/api-keys', apiKeyRoutes(ctx));
  app.route('/data-integrations', vendingRoutes(ctx));
  app.route('/data-integrations', dataIntegrationRoutes(ctx));
  app.route('/', connectFlowRoutes(ctx));
  if (ctx.sandbox !== null) {
    const sandbox = ctx.sandbox.provider;
    app.route('/sandbox', sandbox.app);
    app.get(sandbox.wellKnownPath, (c) => c.json(sandbox.metadata()));
  }
  app.route('/user_management', userManagementRoutes(ctx));
  app.route('/organizations', organizationRoutes(ctx));
  app.route('/events', eventRoutes(ctx));
  app.route('/webhook_endpoints', webhookEndpointRoutes(ctx));
  const widget = createWidgetApps(ctx);
  app.route('/widgets', widget.tokenApi);
  app.route('/', widget.pages);
  app.route('/', doctorProbeRoutes(ctx));
  app.route('/dashboard', dashboardRoutes(ctx));
  return app;
}
