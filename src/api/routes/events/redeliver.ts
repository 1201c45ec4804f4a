import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { redeliverEvent } from '../../../events/redeliver.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { presentDelivery } from '../webhook-endpoints/present-delivery.ts';

const redeliverSchema = z.object({ webhook_endpoint_id: z.string().min(1).max(200).optional() }).strict();

/**
 * `POST /events/{id}/redeliver` (a Pipes addition): queues a new delivery of a stored event to every enabled
 * endpoint subscribed to it, or to one (`webhook_endpoint_id`). 202 with the new deliveries. It carries the same
 * event id (`webhook-id`), so a receiver that already processed the event can tell.
 */
export function redeliverEventRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, redeliverSchema);
    const rows = await redeliverEvent(ctx.store.db, {
      environmentId: c.get('auth').environment.id,
      eventId: c.req.param('id') ?? '',
      endpointId: body.webhook_endpoint_id,
      now: ctx.clock.now(),
    });
    return c.json({ object: 'list', data: rows.map((row) => presentDelivery(row, [])) }, 202);
  };
}
