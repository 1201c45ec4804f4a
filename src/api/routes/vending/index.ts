import { Hono } from 'hono';
import type { AppContext } from '../../../context.ts';
import type { ApiEnv } from '../../env.ts';
import { staticCredentialRoute } from './static-credential-routes.ts';

/**
 * API-key / client-credentials installs under `/data-integrations/{slug}/…`. Token and credential vending
 * (`…/token`, `…/credentials`) are served next to the app by the raw listener (raw-listener.ts).
 */
export function vendingRoutes(ctx: AppContext) {
  const app = new Hono<ApiEnv>();
  app.put('/:slug/api-key', staticCredentialRoute(ctx, 'api_key', 'upsert'));
  app.post('/:slug/api-key', staticCredentialRoute(ctx, 'api_key', 'add'));
  app.put('/:slug/client-credentials', staticCredentialRoute(ctx, 'client_credentials', 'upsert'));
  app.post('/:slug/client-credentials', staticCredentialRoute(ctx, 'client_credentials', 'add'));
  return app;
}
