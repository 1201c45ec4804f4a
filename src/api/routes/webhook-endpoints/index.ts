import { Hono } from 'hono';
import type { AppContext } from '../../../context.ts';
import type { ApiEnv } from '../../env.ts';
import { createWebhookEndpointRoute } from './create.ts';
import { deleteWebhookEndpointRoute } from './delete.ts';
import { listDeliveriesRoute } from './deliveries.ts';
import { getWebhookEndpointRoute } from './get.ts';
import { listWebhookEndpointsRoute } from './list.ts';
import { rotateWebhookSecretRoute } from './rotate-secret.ts';
import { updateWebhookEndpointRoute } from './update.ts';

/**
 * Webhook endpoints (§5.4), under `/webhook_endpoints`. The WorkOS routes plus Pipes' additions: get one, rotate its
 * secret, and its delivery log.
 */
export function webhookEndpointRoutes(ctx: AppContext) {
  const app = new Hono<ApiEnv>();
  app.get('/', listWebhookEndpointsRoute(ctx));
  app.post('/', createWebhookEndpointRoute(ctx));
  app.get('/:id', getWebhookEndpointRoute(ctx));
  app.patch('/:id', updateWebhookEndpointRoute(ctx));
  app.delete('/:id', deleteWebhookEndpointRoute(ctx));
  app.post('/:id/rotate_secret', rotateWebhookSecretRoute(ctx));
  app.get('/:id/deliveries', listDeliveriesRoute(ctx));
  return app;
}
