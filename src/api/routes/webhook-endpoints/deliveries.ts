import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { queryDeliveries } from '../../../events/list-events.ts';
import { findWebhookEndpoint } from '../../../events/webhook-endpoints.ts';
import type { WebhookAttemptTable } from '../../../store/schema.ts';
import { readQuery } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { paginate, paginationQuerySchema } from '../../pagination.ts';
import { presentDelivery } from './present-delivery.ts';

const deliveriesQuerySchema = paginationQuerySchema.extend({
  status: z.enum(['pending', 'delivered', 'failed', 'cancelled']).optional(),
  event_id: z.string().min(1).max(200).optional(),
});

/**
 * `GET /webhook_endpoints/{id}/deliveries` (a Pipes addition): the endpoint's deliveries, newest first, each with
 * its attempts (time, status code, latency, the first 1 KB of the answer, or the error).
 */
export function listDeliveriesRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const query = readQuery(c, deliveriesQuerySchema);
    const db = ctx.store.db;
    const endpoint = await findWebhookEndpoint(db, c.get('auth').environment.id, c.req.param('id') ?? '');
    let attemptsByDelivery = new Map<string, WebhookAttemptTable[]>();
    const list = await paginate(
      query,
      async (page) => {
        const found = await queryDeliveries(
          db,
          endpoint.id,
          { status: query.status, eventId: query.event_id },
          page,
        );
        attemptsByDelivery = found.attempts;
        return found.rows;
      },
      (row) => presentDelivery(row, attemptsByDelivery.get(row.id) ?? []),
    );
    return c.json(list);
  };
}
