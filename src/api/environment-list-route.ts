import type { Context } from 'hono';
import type { SelectQueryBuilder } from 'kysely';
import { selectPage } from '../lib/row-page.ts';
import { readQuery } from './body.ts';
import type { ApiEnv } from './env.ts';
import { paginate, paginationQuerySchema } from './pagination.ts';

/**
 * A plain `GET` list of the caller's environment's rows (API keys, webhook endpoints): the WorkOS pagination query,
 * `select` narrowed to the asked page, each row presented, in the list envelope. Lists with filters of their own
 * call `paginate` themselves.
 */
export function environmentListRoute<DB, TB extends keyof DB, Row extends { id: string }, Out>(
  select: (environmentId: string) => SelectQueryBuilder<DB, TB, Row>,
  present: (row: Row) => Out,
) {
  return async (c: Context<ApiEnv>) => {
    const query = readQuery(c, paginationQuerySchema);
    const environmentId = c.get('auth').environment.id;
    const list = await paginate(query, (page) => selectPage(select(environmentId), page).execute(), present);
    return c.json(list);
  };
}
