import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { selectPage } from '../../../lib/row-page.ts';
import { readQuery } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { paginate, paginationQuerySchema } from '../../pagination.ts';
import { presentDataIntegration } from './present.ts';

const listQuerySchema = paginationQuerySchema.extend({
  ownership: z.enum(['user', 'organization']).optional(),
});

/** `GET /data-integrations`: the caller's environment's integrations, paginated, optionally by `ownership`. */
export function listDataIntegrationsRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const query = readQuery(c, listQuerySchema);
    const env = c.get('auth').environment;
    const list = await paginate(
      query,
      async (page) => {
        let q = ctx.store.db.selectFrom('data_integrations').selectAll().where('environment_id', '=', env.id);
        if (query.ownership !== undefined) q = q.where('ownership', '=', query.ownership);
        return selectPage(q, page).execute();
      },
      (row) => presentDataIntegration(ctx, row, env),
    );
    return c.json(list);
  };
}
