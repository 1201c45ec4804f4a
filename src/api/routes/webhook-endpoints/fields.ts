import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { type FieldError, validationFailed } from '../../../errors.ts';
import { isSubscribableEventName, SUBSCRIBABLE_EVENT_NAMES } from '../../../events/names.ts';

/** Shared field rules of `POST` and `PATCH /webhook_endpoints`. */
export const endpointUrlField = z.string().trim().min(1).max(2048);
export const eventsField = z.array(z.string().max(200)).min(1).max(50);

/** Every name must be a Pipes event or alias; the list is de-duplicated, order kept. */
export function checkEvents(events: readonly string[]): string[] {
  const errors: FieldError[] = [];
  events.forEach((name, index) => {
    if (!isSubscribableEventName(name)) {
      errors.push({
        field: `events.${index}`,
        code: 'unknown_event',
        message: `"${name.slice(0, 100)}" is not an event Pipes sends. Use one of: ${SUBSCRIBABLE_EVENT_NAMES.join(', ')}.`,
      });
    }
  });
  if (errors.length > 0) throw validationFailed(errors);
  return [...new Set(events)];
}

/** What the endpoint store needs from the context. */
export const endpointDeps = (ctx: AppContext) => ({
  db: ctx.store.db,
  engine: ctx.store.engine,
  vault: ctx.vault,
});
