import { Hono } from 'hono';
import type { AppContext } from '../../../context.ts';
import type { ApiEnv } from '../../env.ts';
import { createApiKeyRoute } from './create.ts';
import { listApiKeysRoute } from './list.ts';
import { revokeApiKeyRoute } from './revoke.ts';

/** Pipes' own key-management routes (not part of the WorkOS API), under `/pipes/api-keys`. */
export function apiKeyRoutes(ctx: AppContext) {
  const app = new Hono<ApiEnv>();
  app.get('/', listApiKeysRoute(ctx));
  app.post('/', createApiKeyRoute(ctx));
  app.delete('/:id', revokeApiKeyRoute(ctx));
  return app;
}
