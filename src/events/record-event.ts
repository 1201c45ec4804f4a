import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import { toIso } from '../lib/time.ts';
import type { Database, WebhookDeliveryTable } from '../store/schema.ts';
import { deliveredNameFor, PIPES_EVENT_NAMES, type PipesEventName } from './names.ts';

export type { ConnectedAccountEventInput, ConnectionFailedEventInput } from './event-data.ts';
export { connectedAccountEventData, connectionFailedEventData } from './event-data.ts';
export type { PipesEventName } from './names.ts';

export interface RecordEventInput {
  environmentId: string;
  event: PipesEventName;
  /** The §5.1 payload: build it with `connectedAccountEventData` / `connectionFailedEventData`. */
  data: Record<string, unknown>;
  organizationId: string | null;
  /** Set for events about one connected account: gives them a per-account `sequence` (R-W7). */
  connectedAccountId?: string | null;
  now: number;
}

/** Payloads stay thin (R-W7: under about 20 KB); a bigger one is a bug in the caller. */
const MAX_DATA_BYTES = 16 * 1024;
const CANONICAL: ReadonlySet<string> = new Set(PIPES_EVENT_NAMES);

/**
 * Records an event and its outbox rows: one delivery per enabled endpoint of the environment subscribed to the
 * event (or to an alias of it). Call it with the transaction that makes the state change, so that both commit or
 * neither does: no event is lost and none is invented (R-W6). Called outside a transaction, it opens its own so
 * that the event and its deliveries still commit together.
 *
 * Adds to `data`: `occurred_at` (the event's creation time) and, for events about a connected account, `sequence`,
 * which increases by one with every event of that account. Consumers use them to ignore stale events.
 */
export async function recordEvent(db: Kysely<Database>, input: RecordEventInput): Promise<{ id: string }> {
  if (!db.isTransaction) return db.transaction().execute((trx) => recordEvent(trx, input));
  if (!CANONICAL.has(input.event)) {
    throw new PipesError('unknown_event', `"${String(input.event)}" is not a Pipes event name.`, {
      status: 500,
    });
  }
  const id = newId('event', input.now);
  const accountId = input.connectedAccountId ?? null;
  const sequence = accountId === null ? null : await nextSequence(db, accountId);
  const data: Record<string, unknown> = { ...input.data, occurred_at: toIso(input.now) };
  if (sequence !== null) data.sequence = sequence;
  const json = JSON.stringify(data);
  if (Buffer.byteLength(json) > MAX_DATA_BYTES) {
    throw new PipesError('event_too_large', `Event data is larger than ${MAX_DATA_BYTES} bytes.`, {
      status: 500,
    });
  }
  await db
    .insertInto('events')
    .values({
      id,
      environment_id: input.environmentId,
      event: input.event,
      organization_id: input.organizationId,
      connected_account_id: accountId,
      sequence,
      data: json,
      created_at: input.now,
    })
    .execute();
  await enqueueDeliveries(db, { id, environmentId: input.environmentId, event: input.event, now: input.now });
  return { id };
}

/**
 * Inserts one pending delivery per enabled, subscribed endpoint. Also used by manual redelivery (`manual`), which
 * may target one endpoint.
 */
export async function enqueueDeliveries(
  db: Kysely<Database>,
  input: {
    id: string;
    environmentId: string;
    event: PipesEventName;
    now: number;
    endpointId?: string;
    manual?: boolean;
  },
): Promise<WebhookDeliveryTable[]> {
  let query = db
    .selectFrom('webhook_endpoints')
    .select(['id', 'events'])
    .where('environment_id', '=', input.environmentId)
    .where('status', '=', 'enabled');
  if (input.endpointId !== undefined) query = query.where('id', '=', input.endpointId);
  const endpoints = await query.orderBy('id').execute();
  const rows: WebhookDeliveryTable[] = [];
  for (const endpoint of endpoints) {
    const name = deliveredNameFor(JSON.parse(endpoint.events) as string[], input.event);
    if (name === null) continue;
    rows.push({
      id: newId('delivery', input.now),
      environment_id: input.environmentId,
      event_id: input.id,
      endpoint_id: endpoint.id,
      event_name: name,
      status: 'pending',
      attempts: 0,
      next_attempt_at: input.now,
      lease_owner: null,
      lease_until: 0,
      last_attempt_at: null,
      last_status_code: null,
      last_error: null,
      delivered_at: null,
      manual: input.manual ? 1 : 0,
      created_at: input.now,
      updated_at: input.now,
    });
  }
  if (rows.length > 0) await db.insertInto('webhook_deliveries').values(rows).execute();
  return rows;
}

/**
 * The next sequence number of one connected account. An upsert on the account's counter row: on PostgreSQL the row
 * lock makes a concurrent transaction for the same account wait for this one, so numbers follow commit order.
 */
async function nextSequence(db: Kysely<Database>, connectedAccountId: string): Promise<number> {
  const row = await db
    .insertInto('event_sequences')
    .values({ connected_account_id: connectedAccountId, last_sequence: 1 })
    .onConflict((oc) =>
      oc
        .column('connected_account_id')
        .doUpdateSet((eb) => ({ last_sequence: eb('event_sequences.last_sequence', '+', 1) })),
    )
    .returning('last_sequence')
    .executeTakeFirstOrThrow();
  return Number(row.last_sequence);
}

/**
 * For events with no state change of their own to commit with (e.g. `connection_failed`): records the event in its
 * own transaction. The failpoint after the commit lets tests crash the process there (W5).
 */
export async function emitEvent(
  ctx: AppContext,
  input: Omit<RecordEventInput, 'now'>,
): Promise<{ id: string }> {
  const result = await recordEvent(ctx.store.db, { ...input, now: ctx.clock.now() });
  await ctx.failpoints.hit('after_event_commit');
  return result;
}
