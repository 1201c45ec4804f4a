import { Hono } from 'hono';
import type { AppContext } from '../../../context.ts';
import type { ApiEnv } from '../../env.ts';
import { credentialsRoute } from './credentials.ts';
import { staticCredentialRoute } from './static-credential-routes.ts';
import { tokenRoute } from './token.ts';

/** Token and credential vending, and API-key / client-credentials installs, under `/data-integrations/{slug}/…`. */
export function vendingRoutes(ctx: AppContext) {
  const app = new Hono<ApiEnv>();
  app.post('/:slug/token', tokenRoute(ctx));
  app.post('/:slug/credentials', credentialsRoute(ctx));
  app.put('/:slug/api-key', staticCredentialRoute(ctx, 'api_key', 'upsert'));
  app.post('/:slug/api-key', staticCredentialRoute(ctx, 'api_key', 'add'));
  app.put('/:slug/client-credentials', staticCredentialRoute(ctx, 'client_credentials', 'upsert'));
  app.post('/:slug/client-credentials', staticCredentialRoute(ctx, 'client_credentials', 'add'));
  return app;
}
