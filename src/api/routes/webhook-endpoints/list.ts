import type { AppContext } from '../../../context.ts';
import { environmentListRoute } from '../../environment-list-route.ts';
import { presentWebhookEndpoint } from './present.ts';

/** `GET /webhook_endpoints`: this environment's endpoints, paginated. */
export function listWebhookEndpointsRoute(ctx: AppContext) {
  return environmentListRoute(
    (environmentId) =>
      ctx.store.db.selectFrom('webhook_endpoints').selectAll().where('environment_id', '=', environmentId),
    (row) => presentWebhookEndpoint(row),
  );
}
