import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { createDataIntegration, createIntegrationSchema } from '../../../providers/manage-integrations.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { presentDataIntegration } from './present.ts';

/**
 * `POST /data-integrations`: configures a catalog provider, or defines a custom one (`custom_provider`), in the
 * caller's environment. Never contacts the provider. The client secret is sealed; only its last 4 are kept in clear.
 * The rules live in `src/providers/manage-integrations.ts`, shared with the dashboard.
 */
export function createDataIntegrationRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, createIntegrationSchema);
    const env = c.get('auth').environment;
    const row = await createDataIntegration(ctx, env, body);
    return c.json(presentDataIntegration(ctx, row, env), 201);
  };
}
