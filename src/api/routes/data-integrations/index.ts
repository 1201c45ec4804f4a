import { Hono } from 'hono';
import type { AppContext } from '../../../context.ts';
import type { ApiEnv } from '../../env.ts';
import { authorizeDataIntegrationRoute } from './authorize.ts';
import { finishAuthorizationRoute } from './authorize-finish.ts';
import { createDataIntegrationRoute } from './create.ts';
import { deleteDataIntegrationRoute } from './delete.ts';
import { getDataIntegrationRoute } from './get.ts';
import { listDataIntegrationsRoute } from './list.ts';
import { updateDataIntegrationRoute } from './update.ts';

/**
 * The `/data-integrations` API sub-app (API key required). Built here and mounted once in src/api/app.ts; other
 * features add their routes with `extend` (token vending adds `/:slug/token`, `/:slug/credentials`, …), so the
 * whole `/data-integrations` surface lives in one sub-app.
 */
export function dataIntegrationRoutes(ctx: AppContext, extend: (app: Hono<ApiEnv>) => void = () => {}) {
  const app = new Hono<ApiEnv>();
  app.get('/', listDataIntegrationsRoute(ctx));
  app.post('/', createDataIntegrationRoute(ctx));
  app.get('/:slug', getDataIntegrationRoute(ctx, 'user'));
  app.put('/:slug', updateDataIntegrationRoute(ctx, 'user'));
  app.delete('/:slug', deleteDataIntegrationRoute(ctx, 'user'));
  app.get('/:slug/organization', getDataIntegrationRoute(ctx, 'organization'));
  app.put('/:slug/organization', updateDataIntegrationRoute(ctx, 'organization'));
  app.delete('/:slug/organization', deleteDataIntegrationRoute(ctx, 'organization'));
  app.post('/:slug/authorize', authorizeDataIntegrationRoute(ctx));
  app.post('/:slug/authorize/finish', finishAuthorizationRoute(ctx));
  extend(app);
  return app;
}
