import { Hono } from 'hono';
import type { AppContext } from '../../../context.ts';
import type { ApiEnv } from '../../env.ts';
import { listEventsRoute } from './list.ts';
import { redeliverEventRoute } from './redeliver.ts';

/** Events (§5.3) under `/events`, plus Pipes' manual redelivery. */
export function eventRoutes(ctx: AppContext) {
  const app = new Hono<ApiEnv>();
  app.get('/', listEventsRoute(ctx));
  app.post('/:id/redeliver', redeliverEventRoute(ctx));
  return app;
}
