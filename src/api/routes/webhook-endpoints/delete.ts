import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { deleteWebhookEndpoint } from '../../../events/webhook-endpoints.ts';
import type { ApiEnv } from '../../env.ts';

/** `DELETE /webhook_endpoints/{id}`: 204; its pending deliveries and attempt log go with it. */
export function deleteWebhookEndpointRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    await deleteWebhookEndpoint(ctx.store.db, c.get('auth').environment.id, c.req.param('id') ?? '');
    return c.body(null, 204);
  };
}
