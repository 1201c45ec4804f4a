import { toIso } from '../lib/time.ts';
import type { EventTable } from '../store/schema.ts';

/** The event envelope of §5.2, as `GET /events` lists it and as a webhook body carries it. */
export interface EventEnvelope {
  object: 'event';
  id: string;
  event: string;
  data: Record<string, unknown>;
  created_at: string;
}

/**
 * Builds the envelope of a stored event. `name` is the name the receiver subscribed to (an alias or the canonical
 * name); everything else is the same for every receiver. Key order is fixed, so one event always serialises to the
 * same bytes.
 */
export function buildEnvelope(
  row: Pick<EventTable, 'id' | 'event' | 'data' | 'created_at'>,
  name: string = row.event,
): EventEnvelope {
  return {
    object: 'event',
    id: row.id,
    event: name,
    data: JSON.parse(row.data) as Record<string, unknown>,
    created_at: toIso(row.created_at),
  };
}
