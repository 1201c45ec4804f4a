import type { Kysely } from 'kysely';
import { type PageRequest, selectPage } from '../lib/row-page.ts';
import type { Database, EventTable, WebhookAttemptTable, WebhookDeliveryTable } from '../store/schema.ts';

export interface EventFilter {
  /** Canonical event names. */
  names?: readonly string[] | undefined;
  /** Inclusive, epoch ms. */
  rangeStart?: number | undefined;
  /** Exclusive, epoch ms. */
  rangeEnd?: number | undefined;
  organizationId?: string | undefined;
  connectedAccountId?: string | undefined;
  providerSlug?: string | undefined;
}

/** This environment's events matching `filter`, ordered by id (`GET /events` and the dashboard's event log). */
export async function queryEvents(
  db: Kysely<Database>,
  environmentId: string,
  filter: EventFilter,
  page: PageRequest,
): Promise<EventTable[]> {
  let q = db.selectFrom('events').selectAll().where('environment_id', '=', environmentId);
  if (filter.names !== undefined) q = q.where('event', 'in', [...filter.names]);
  if (filter.rangeStart !== undefined) q = q.where('created_at', '>=', filter.rangeStart);
  if (filter.rangeEnd !== undefined) q = q.where('created_at', '<', filter.rangeEnd);
  if (filter.organizationId !== undefined) q = q.where('organization_id', '=', filter.organizationId);
  if (filter.connectedAccountId !== undefined) {
    q = q.where('connected_account_id', '=', filter.connectedAccountId);
  }
  if (filter.providerSlug !== undefined) {
    // The slug is inside the JSON payload; a LIKE on its exact serialisation works on both engines.
    q = q.where('data', 'like', `%"provider_slug":${JSON.stringify(filter.providerSlug)}%`);
  }
  return selectPage(q, page).execute();
}

export interface DeliveryFilter {
  status?: WebhookDeliveryTable['status'] | undefined;
  eventId?: string | undefined;
}

/** An endpoint's deliveries (ordered by id) with each one's attempts in order. */
export async function queryDeliveries(
  db: Kysely<Database>,
  endpointId: string,
  filter: DeliveryFilter,
  page: PageRequest,
): Promise<{ rows: WebhookDeliveryTable[]; attempts: Map<string, WebhookAttemptTable[]> }> {
  let q = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId);
  if (filter.status !== undefined) q = q.where('status', '=', filter.status);
  if (filter.eventId !== undefined) q = q.where('event_id', '=', filter.eventId);
  const rows = await selectPage(q, page).execute();
  const attempts = new Map<string, WebhookAttemptTable[]>();
  if (rows.length > 0) {
    const found = await db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where(
        'delivery_id',
        'in',
        rows.map((row) => row.id),
      )
      .orderBy('attempt')
      .execute();
    for (const attempt of found) {
      const list = attempts.get(attempt.delivery_id) ?? [];
      list.push(attempt);
      attempts.set(attempt.delivery_id, list);
    }
  }
  return { rows, attempts };
}
