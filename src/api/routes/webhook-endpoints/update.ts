import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { checkEndpointUrl } from '../../../events/endpoint-url.ts';
import { updateWebhookEndpoint, type WebhookEndpointChanges } from '../../../events/webhook-endpoints.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { checkEvents, endpointDeps, endpointUrlField, eventsField } from './fields.ts';
import { presentWebhookEndpoint } from './present.ts';

const updateSchema = z
  .object({
    endpoint_url: endpointUrlField.optional(),
    status: z.enum(['enabled', 'disabled']).optional(),
    events: eventsField.optional(),
  })
  .strict();

/**
 * `PATCH /webhook_endpoints/{id}`: changes the URL (checked again), the events or the status. Disabling cancels the
 * endpoint's pending deliveries; enabling clears a disable by Pipes (410, failing for days).
 */
export function updateWebhookEndpointRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, updateSchema);
    const changes: WebhookEndpointChanges = {};
    if (body.events !== undefined) changes.events = checkEvents(body.events);
    if (body.endpoint_url !== undefined)
      changes.endpointUrl = await checkEndpointUrl(ctx.config, body.endpoint_url);
    if (body.status !== undefined) changes.status = body.status;
    const record = await updateWebhookEndpoint(
      endpointDeps(ctx),
      c.get('auth').environment.id,
      c.req.param('id') ?? '',
      changes,
      ctx.clock.now(),
    );
    return c.json(presentWebhookEndpoint(record));
  };
}
