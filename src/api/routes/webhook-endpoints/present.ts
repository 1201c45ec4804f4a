import type { WebhookEndpointRecord } from '../../../events/webhook-endpoints.ts';
import { toIso, toIsoOrNull } from '../../../lib/time.ts';

/**
 * The public shape of a webhook endpoint (§5.4). The secret itself appears only in the responses that create or
 * rotate it (`withSecret`); every later read shows its last 4 characters. The WorkOS SDK copies `secret` into its
 * object without looking at it, so its absence does not break `listWebhookEndpoints` (it reads as `undefined`).
 */
export function presentWebhookEndpoint(record: WebhookEndpointRecord, withSecret?: string) {
  return {
    object: 'webhook_endpoint' as const,
    id: record.id,
    endpoint_url: record.endpoint_url,
    ...(withSecret !== undefined ? { secret: withSecret } : {}),
    secret_last_4: record.secret_last4,
    status: record.status,
    events: JSON.parse(record.events) as string[],
    disabled_reason: record.disabled_reason,
    previous_secret_expires_at:
      record.previous_secret === null ? null : toIsoOrNull(record.previous_secret_expires_at),
    created_at: toIso(record.created_at),
    updated_at: toIso(record.updated_at),
  };
}
