import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { readQuery } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { beyond, paginate, paginationQuerySchema } from '../../pagination.ts';
import { presentWebhookEndpoint } from './present.ts';

/** `GET /webhook_endpoints`: this environment's endpoints, paginated. */
export function listWebhookEndpointsRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const query = readQuery(c, paginationQuerySchema);
    const environmentId = c.get('auth').environment.id;
    const list = await paginate(
      query,
      async (page) => {
        let q = ctx.store.db
          .selectFrom('webhook_endpoints')
          .selectAll()
          .where('environment_id', '=', environmentId)
          .orderBy('id', page.direction)
          .limit(page.fetch);
        if (page.cursor !== undefined) q = q.where('id', beyond(page.direction), page.cursor);
        return q.execute();
      },
      (row) => presentWebhookEndpoint(row),
    );
    return c.json(list);
  };
}
