import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { rotateWebhookSecret } from '../../../events/webhook-endpoints.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { endpointDeps } from './fields.ts';
import { presentWebhookEndpoint } from './present.ts';

const WEEK_SECONDS = 7 * 24 * 60 * 60;

const rotateSchema = z
  .object({ overlap_seconds: z.number().int().min(0).max(WEEK_SECONDS).default(86_400) })
  .strict();

/**
 * `POST /webhook_endpoints/{id}/rotate_secret` (a Pipes addition): a new secret, shown in this response only. For
 * `overlap_seconds` (default one day) deliveries carry a Standard Webhooks signature for the old secret too.
 */
export function rotateWebhookSecretRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, rotateSchema);
    const { record, secret } = await rotateWebhookSecret(
      endpointDeps(ctx),
      c.get('auth').environment.id,
      c.req.param('id') ?? '',
      body.overlap_seconds * 1000,
      ctx.clock.now(),
    );
    c.header('Cache-Control', 'no-store');
    return c.json(presentWebhookEndpoint(record, secret));
  };
}
