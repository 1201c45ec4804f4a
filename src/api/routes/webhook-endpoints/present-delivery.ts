import { toIso, toIsoOrNull } from '../../../lib/time.ts';
import type { WebhookAttemptTable, WebhookDeliveryTable } from '../../../store/schema.ts';

/** A delivery and its attempt log, as `GET /webhook_endpoints/{id}/deliveries` and redelivery show them. */
export function presentDelivery(row: WebhookDeliveryTable, attempts: readonly WebhookAttemptTable[]) {
  return {
    object: 'webhook_delivery' as const,
    id: row.id,
    webhook_endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    event: row.event_name,
    status: row.status,
    attempt_count: Number(row.attempts),
    next_attempt_at: row.status === 'pending' ? toIso(row.next_attempt_at) : null,
    delivered_at: toIsoOrNull(row.delivered_at),
    manual: row.manual === 1,
    attempts: attempts.map((attempt) => ({
      attempt: attempt.attempt,
      started_at: toIso(attempt.started_at),
      latency_ms: attempt.latency_ms,
      status_code: attempt.status_code,
      response_body: attempt.response_body,
      error: attempt.error,
      outcome: attempt.outcome,
    })),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}
