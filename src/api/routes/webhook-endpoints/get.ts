import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { findWebhookEndpoint } from '../../../events/webhook-endpoints.ts';
import type { ApiEnv } from '../../env.ts';
import { presentWebhookEndpoint } from './present.ts';

/** `GET /webhook_endpoints/{id}` (a Pipes addition): one endpoint, without its secret. */
export function getWebhookEndpointRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const record = await findWebhookEndpoint(
      ctx.store.db,
      c.get('auth').environment.id,
      c.req.param('id') ?? '',
    );
    return c.json(presentWebhookEndpoint(record));
  };
}
