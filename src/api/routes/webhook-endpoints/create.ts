import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { checkEndpointUrl } from '../../../events/endpoint-url.ts';
import { createWebhookEndpoint } from '../../../events/webhook-endpoints.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { checkEvents, endpointDeps, endpointUrlField, eventsField } from './fields.ts';
import { presentWebhookEndpoint } from './present.ts';

const createSchema = z.object({ endpoint_url: endpointUrlField, events: eventsField }).strict();

/**
 * `POST /webhook_endpoints`: registers a receiver. 201 with the `whsec_…` secret, shown in this response only; 409
 * when this environment already has an endpoint with the URL; 422 for an unknown event or a refused URL.
 */
export function createWebhookEndpointRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, createSchema);
    const events = checkEvents(body.events);
    const endpointUrl = await checkEndpointUrl(ctx.config, body.endpoint_url);
    const { record, secret } = await createWebhookEndpoint(endpointDeps(ctx), {
      environmentId: c.get('auth').environment.id,
      endpointUrl,
      events,
      now: ctx.clock.now(),
    });
    c.header('Cache-Control', 'no-store');
    return c.json(presentWebhookEndpoint(record, secret), 201);
  };
}
