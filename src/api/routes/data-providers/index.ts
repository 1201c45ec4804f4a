import { Hono } from 'hono';
import type { AppContext } from '../../../context.ts';
import type { ApiEnv } from '../../env.ts';
import { connectedAccountRoutes } from '../connected-accounts/index.ts';
import { listDataProvidersRoute } from './list.ts';

/** `/user_management/…` routes of Pipes: a user's connected accounts and data providers. */
export function userManagementRoutes(ctx: AppContext) {
  const app = new Hono<ApiEnv>();
  app.get('/users/:user_id/data_providers', listDataProvidersRoute(ctx, 'user'));
  app.route('/', connectedAccountRoutes(ctx, 'user'));
  return app;
}

/** `/organizations/…` routes of Pipes: an organization's shared connections and data providers. */
export function organizationRoutes(ctx: AppContext) {
  const app = new Hono<ApiEnv>();
  app.get('/:organization_id/data_providers', listDataProvidersRoute(ctx, 'organization'));
  app.route('/', connectedAccountRoutes(ctx, 'organization'));
  return app;
}
