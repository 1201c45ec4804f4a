import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { type FieldError, validationFailed } from '../../../errors.ts';
import { buildEnvelope } from '../../../events/envelope.ts';
import { queryEvents } from '../../../events/list-events.ts';
import {
  canonicalNamesFor,
  isSubscribableEventName,
  SUBSCRIBABLE_EVENT_NAMES,
} from '../../../events/names.ts';
import { readQuery } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { paginate, paginationQuerySchema } from '../../pagination.ts';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;
const isoTime = z
  .string()
  .refine((value) => ISO_DATE.test(value) && !Number.isNaN(Date.parse(value)), {
    message: 'expected an ISO-8601 date-time such as 2026-01-15T12:00:00.000Z',
  })
  .transform((value) => Date.parse(value));

const listEventsQuerySchema = paginationQuerySchema.extend({
  range_start: isoTime.optional(),
  range_end: isoTime.optional(),
  organization_id: z.string().min(1).max(200).optional(),
});

/**
 * The `events` filter. The WorkOS SDK sends an array as one comma-joined value (`events=a,b`); repeated keys are
 * accepted too. Unknown names are a 422 rather than an empty list, so a typo does not look like "no events".
 * Aliases select the events they stand for (which are listed under their canonical names).
 */
function readEventFilter(c: Context<ApiEnv>): string[] | undefined {
  const raw = c.req.queries('events');
  if (raw === undefined) return undefined;
  const names = raw.flatMap((value) => value.split(',')).map((name) => name.trim());
  const errors: FieldError[] = [];
  for (const name of names) {
    if (!isSubscribableEventName(name)) {
      errors.push({
        field: 'events',
        code: 'unknown_event',
        message: `"${name.slice(0, 100)}" is not a Pipes event. Use one of: ${SUBSCRIBABLE_EVENT_NAMES.join(', ')}.`,
      });
    }
  }
  if (errors.length > 0) throw validationFailed(errors);
  return [...new Set(names.flatMap((name) => canonicalNamesFor(name)))];
}

/**
 * `GET /events` (§5.3): this environment's events, filtered by name, time range (`range_start` inclusive,
 * `range_end` exclusive) and organization, cursor-paginated (newest first unless `order=asc`).
 */
export function listEventsRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const query = readQuery(c, listEventsQuerySchema);
    const names = readEventFilter(c);
    if (
      query.range_start !== undefined &&
      query.range_end !== undefined &&
      query.range_start > query.range_end
    ) {
      throw validationFailed([
        { field: 'range_end', code: 'invalid_range', message: 'range_end must not be before range_start.' },
      ]);
    }
    const environmentId = c.get('auth').environment.id;
    const list = await paginate(
      query,
      (page) =>
        queryEvents(
          ctx.store.db,
          environmentId,
          {
            names,
            rangeStart: query.range_start,
            rangeEnd: query.range_end,
            organizationId: query.organization_id,
          },
          page,
        ),
      (row) => buildEnvelope(row),
    );
    return c.json(list);
  };
}
