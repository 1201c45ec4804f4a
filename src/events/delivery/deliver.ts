import type { Dispatcher } from 'undici';
import type { AppContext } from '../../context.ts';
import type { EgressPolicy } from '../../relay/egress/index.ts';
import { buildEnvelope } from '../envelope.ts';
import { buildDeliveryHeaders } from '../signature.ts';
import { openSecrets } from '../webhook-endpoints.ts';
import type { ClaimedDelivery } from './claim.ts';
import { type OutcomePolicy, type RecordedOutcome, recordAttemptOutcome } from './record-outcome.ts';
import { postWebhook, type SendResult } from './send.ts';

export interface DeliverDeps {
  ctx: AppContext;
  owner: string;
  dispatcher: Dispatcher;
  policy: EgressPolicy;
  attemptTimeoutMs: number;
  outcome: OutcomePolicy;
}

/** Header names of the two Pipes additions: which delivery and which attempt this POST is (for debugging). */
export const DELIVERY_ID_HEADER = 'pipes-delivery-id';
export const DELIVERY_ATTEMPT_HEADER = 'pipes-delivery-attempt';

/**
 * Makes one claimed attempt: builds the envelope under the name the endpoint subscribed to, signs it with the
 * endpoint's current secrets at this attempt's time (so every retry has a fresh timestamp and signature but the same
 * `webhook-id`), POSTs it and records the outcome. Returns null when nothing was sent.
 */
export async function deliverClaimed(
  deps: DeliverDeps,
  claimed: ClaimedDelivery,
): Promise<RecordedOutcome | null> {
  const { ctx } = deps;
  const db = ctx.store.db;
  const [endpoint, event] = await Promise.all([
    db.selectFrom('webhook_endpoints').selectAll().where('id', '=', claimed.endpoint_id).executeTakeFirst(),
    db.selectFrom('events').selectAll().where('id', '=', claimed.event_id).executeTakeFirst(),
  ]);
  if (endpoint?.status !== 'enabled' || !event) {
    // Disabled or deleted after the claim, or the event expired: nothing to send any more.
    await db
      .updateTable('webhook_deliveries')
      .set({ status: 'cancelled', lease_owner: null, lease_until: 0, updated_at: ctx.clock.now() })
      .where('id', '=', claimed.id)
      .where('attempts', '=', claimed.attempts)
      .where('lease_owner', '=', deps.owner)
      .execute();
    return null;
  }

  const startedAt = ctx.clock.now();
  // Latency is physical time, not the injectable clock (a test's manual clock stands still during the request).
  const t0 = performance.now();
  let result: SendResult;
  try {
    const body = JSON.stringify(buildEnvelope(event, claimed.event_name));
    const secrets = openSecrets(ctx.vault, ctx.store.engine, endpoint, startedAt);
    const headers = {
      ...buildDeliveryHeaders({ secrets, eventId: event.id, nowMs: startedAt, body }),
      [DELIVERY_ID_HEADER]: claimed.id,
      [DELIVERY_ATTEMPT_HEADER]: String(claimed.attempts),
    };
    result = await postWebhook({
      url: endpoint.endpoint_url,
      headers,
      body,
      dispatcher: deps.dispatcher,
      policy: deps.policy,
      timeoutMs: deps.attemptTimeoutMs,
    });
  } catch (error) {
    // Only signing can get here (an unreadable secret): the message is the vault's, which names no secret.
    result = { kind: 'error', error: `could not sign the delivery: ${(error as Error).message}` };
  }
  const latencyMs = Math.round(performance.now() - t0);
  if (result.kind === 'response' && result.status >= 200 && result.status < 300) {
    // A crash here is the one duplicate at-least-once delivery allows: the receiver got it, we did not record it.
    await ctx.failpoints.hit('after_webhook_2xx_before_mark');
  }
  const recorded = await recordAttemptOutcome(
    db,
    { claimed, owner: deps.owner, startedAt, now: ctx.clock.now(), latencyMs, result },
    deps.outcome,
  );
  const fields = {
    deliveryId: claimed.id,
    endpointId: claimed.endpoint_id,
    eventId: claimed.event_id,
    attempt: claimed.attempts,
    status: result.kind === 'response' ? result.status : null,
    outcome: recorded.outcome,
  };
  if (recorded.disabledReason !== null) {
    ctx.log.warn({ ...fields, reason: recorded.disabledReason }, 'webhook endpoint disabled');
  } else if (!recorded.held) {
    ctx.log.warn(fields, 'webhook delivery claim lost before its outcome was recorded');
  } else ctx.log.debug(fields, 'webhook attempt');
  return recorded;
}
