import type { Kysely } from 'kysely';
import { PipesError } from '../errors.ts';
import { isId } from '../lib/ids.ts';
import type { Database, WebhookDeliveryTable } from '../store/schema.ts';
import type { PipesEventName } from './names.ts';
import { enqueueDeliveries } from './record-event.ts';
import { findWebhookEndpoint } from './webhook-endpoints.ts';

const eventNotFound = () => new PipesError('event_not_found', 'Event not found.', { status: 404 });

/**
 * Queues a new delivery of a stored event to every enabled endpoint subscribed to it, or to one endpoint. It
 * carries the same event id (`webhook-id`), so a receiver that already processed the event can tell. Used by
 * `POST /events/{id}/redeliver` and the dashboard.
 */
export async function redeliverEvent(
  db: Kysely<Database>,
  input: { environmentId: string; eventId: string; endpointId?: string | undefined; now: number },
): Promise<WebhookDeliveryTable[]> {
  if (!isId('event', input.eventId)) throw eventNotFound();
  const event = await db
    .selectFrom('events')
    .select(['id', 'event'])
    .where('id', '=', input.eventId)
    .where('environment_id', '=', input.environmentId)
    .executeTakeFirst();
  if (!event) throw eventNotFound();
  if (input.endpointId !== undefined) await findWebhookEndpoint(db, input.environmentId, input.endpointId);
  const rows = await enqueueDeliveries(db, {
    id: event.id,
    environmentId: input.environmentId,
    event: event.event as PipesEventName,
    now: input.now,
    manual: true,
    ...(input.endpointId !== undefined ? { endpointId: input.endpointId } : {}),
  });
  if (rows.length === 0) {
    throw new PipesError(
      'no_webhook_endpoint',
      'No enabled webhook endpoint is subscribed to this event: enable or subscribe one, then redeliver.',
      { status: 422 },
    );
  }
  return rows;
}
