import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import type { ApiEnv } from './env.ts';
import { handleError, handleNotFound } from './error-handler.ts';
import { authenticateApiKey } from './middleware/authenticate.ts';
import { rateLimitPerKey } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { apiKeyRoutes } from './routes/api-keys/index.ts';
import { healthRoutes } from './routes/health.ts';

/** Paths served without an API key: health checks. Browser legs, the dashboard and the sandbox join later. */
const PUBLIC_PATHS = new Set(['/health', '/ready']);

/**
 * Builds the HTTP application. The WorkOS-compatible API lives at the root (the WorkOS SDK cannot add a path
 * prefix); Pipes' own additions live under `/pipes/`.
 */
export function createApp(ctx: AppContext): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.onError(handleError(ctx.log));
  app.notFound(handleNotFound);

  app.use('*', requestId());
  app.use(
    '*',
    bodyLimit({
      maxSize: ctx.config.maxBodyBytes,
      onError: () => {
        throw new PipesError(
          'request_too_large',
          `The request body is larger than ${ctx.config.maxBodyBytes} bytes.`,
          { status: 413 },
        );
      },
    }),
  );

  app.route('/', healthRoutes(ctx));

  const authenticate = authenticateApiKey(ctx);
  const rateLimit = rateLimitPerKey(ctx);
  app.use('*', async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return next();
    await authenticate(c, async () => {
      await rateLimit(c, next);
    });
  });

  app.route('/pipes/api-keys', apiKeyRoutes(ctx));
  return app;
}
