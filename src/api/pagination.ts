import { z } from 'zod';
import type { PageRequest } from '../lib/row-page.ts';

/**
 * WorkOS cursor pagination: `limit` 1–100 (default 10), `before`/`after` object ids, `order` asc|desc|normal
 * (normal = desc). Ids are monotonic ULIDs, so the id alone orders objects by creation and serves as the cursor.
 */
export const paginationQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  before: z.string().min(1).max(200).optional(),
  after: z.string().min(1).max(200).optional(),
  order: z.enum(['asc', 'desc', 'normal']).default('desc'),
});

export type PaginationQuery = z.infer<typeof paginationQuerySchema>;

export interface ListResponse<T> {
  object: 'list';
  data: T[];
  list_metadata: { before: string | null; after: string | null };
}

/**
 * Runs a page fetch and builds the list envelope. `fetchRows` must return rows ordered by id in the requested
 * direction, strictly beyond the cursor (`selectPage` in src/lib/row-page.ts narrows a query so). A `before` page is
 * fetched backwards and reversed.
 */
export async function paginate<Row extends { id: string }, Out>(
  query: PaginationQuery,
  fetchRows: (page: PageRequest) => Promise<Row[]>,
  present: (row: Row) => Out,
): Promise<ListResponse<Out>> {
  const direction = query.order === 'asc' ? 'asc' : 'desc';
  const reverse = direction === 'asc' ? 'desc' : 'asc';
  if (query.before !== undefined && query.after === undefined) {
    const rows = await fetchRows({ direction: reverse, cursor: query.before, fetch: query.limit + 1 });
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit).reverse();
    return {
      object: 'list',
      data: page.map(present),
      list_metadata: {
        before: more && page.length > 0 ? page[0]!.id : null,
        after: page.length > 0 ? page[page.length - 1]!.id : null,
      },
    };
  }
  const rows = await fetchRows({ direction, cursor: query.after, fetch: query.limit + 1 });
  const more = rows.length > query.limit;
  const page = rows.slice(0, query.limit);
  return {
    object: 'list',
    data: page.map(present),
    list_metadata: {
      before: query.after !== undefined && page.length > 0 ? page[0]!.id : null,
      after: more && page.length > 0 ? page[page.length - 1]!.id : null,
    },
  };
}
