import type { Kysely } from 'kysely';
import type { Database, WebhookAttemptTable } from '../../store/schema.ts';
import { disableWebhookEndpoint } from '../webhook-endpoints.ts';
import type { ClaimedDelivery } from './claim.ts';
import { parseRetryAfterMs, retryDelayMs } from './schedule.ts';
import type { SendResult } from './send.ts';

/** Statuses that mean "slow down": their `Retry-After` is honoured (R-W3). */
const THROTTLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface OutcomePolicy {
  schedule: readonly number[];
  jitter: number;
  /** An endpoint failing without a single 2xx for this long is disabled (W12). */
  disableAfterMs: number;
  random?: () => number;
}

export interface AttemptReport {
  claimed: ClaimedDelivery;
  owner: string;
  startedAt: number;
  now: number;
  latencyMs: number;
  result: SendResult;
}

export interface RecordedOutcome {
  outcome: WebhookAttemptTable['outcome'];
  /** False when the claim was lost (endpoint disabled or deleted meanwhile): only the attempt log was written. */
  held: boolean;
  /** Set when this attempt disabled the endpoint. */
  disabledReason: 'gone' | 'failing' | null;
}

/**
 * Writes what one attempt did, in one transaction: the attempt log row, the delivery's next state (delivered,
 * retry at …, failed) and the endpoint's health. The delivery is updated only if this worker still holds the claim
 * (same owner and attempt number, still pending).
 */
export async function recordAttemptOutcome(
  db: Kysely<Database>,
  report: AttemptReport,
  policy: OutcomePolicy,
): Promise<RecordedOutcome> {
  const { claimed, owner, now, result } = report;
  const status = result.kind === 'response' ? result.status : null;
  let outcome: WebhookAttemptTable['outcome'];
  let nextAttemptAt = 0;
  if (status !== null && status >= 200 && status < 300) outcome = 'delivered';
  else if (status === 410) outcome = 'gone';
  else {
    const delay = retryDelayMs(policy.schedule, claimed.attempts, policy.jitter, policy.random);
    if (delay === null) outcome = 'failed';
    else {
      outcome = 'retrying';
      const retryAfter =
        status !== null && THROTTLE_STATUSES.has(status) && result.kind === 'response'
          ? parseRetryAfterMs(result.retryAfter, now)
          : null;
      nextAttemptAt = now + Math.max(delay, retryAfter ?? 0);
    }
  }
  const error = result.kind === 'error' ? result.error : null;

  return db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('webhook_deliveries')
      .set({
        status: outcome === 'delivered' ? 'delivered' : outcome === 'retrying' ? 'pending' : 'failed',
        next_attempt_at: outcome === 'retrying' ? nextAttemptAt : now,
        lease_owner: null,
        lease_until: 0,
        last_attempt_at: report.startedAt,
        last_status_code: status,
        last_error: error,
        delivered_at: outcome === 'delivered' ? now : null,
        updated_at: now,
      })
      .where('id', '=', claimed.id)
      .where('attempts', '=', claimed.attempts)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    const held = Number(updated.numUpdatedRows) === 1;
    await trx
      .insertInto('webhook_attempts')
      .values({
        delivery_id: claimed.id,
        attempt: claimed.attempts,
        environment_id: claimed.environment_id,
        endpoint_id: claimed.endpoint_id,
        event_id: claimed.event_id,
        started_at: report.startedAt,
        latency_ms: report.latencyMs,
        status_code: status,
        response_body: result.kind === 'response' ? result.body : null,
        error,
        outcome,
      })
      .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
      .execute();
    if (!held) return { outcome, held, disabledReason: null };
    const disabledReason = await updateEndpointHealth(trx, claimed.endpoint_id, outcome, now, policy);
    return { outcome, held, disabledReason };
  });
}

async function updateEndpointHealth(
  db: Kysely<Database>,
  endpointId: string,
  outcome: WebhookAttemptTable['outcome'],
  now: number,
  policy: OutcomePolicy,
): Promise<'gone' | 'failing' | null> {
  if (outcome === 'delivered') {
    await db
      .updateTable('webhook_endpoints')
      .set({ failing_since: null })
      .where('id', '=', endpointId)
      .where('failing_since', 'is not', null)
      .execute();
    return null;
  }
  // 410 Gone: the receiver says the endpoint no longer exists (R-W3).
  if (outcome === 'gone') return (await disableWebhookEndpoint(db, endpointId, 'gone', now)) ? 'gone' : null;
  const endpoint = await db
    .selectFrom('webhook_endpoints')
    .select('failing_since')
    .where('id', '=', endpointId)
    .executeTakeFirst();
  if (!endpoint) return null;
  if (endpoint.failing_since === null) {
    await db
      .updateTable('webhook_endpoints')
      .set({ failing_since: now })
      .where('id', '=', endpointId)
      .execute();
    return null;
  }
  if (now - Number(endpoint.failing_since) < policy.disableAfterMs) return null;
  return (await disableWebhookEndpoint(db, endpointId, 'failing', now)) ? 'failing' : null;
}
