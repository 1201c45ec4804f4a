import { type SelectQueryBuilder, sql } from 'kysely';

/**
 * One page of rows as a cursor list asks for it (`paginate` in src/api/pagination.ts, and the dashboard's lists).
 * Ids are monotonic ULIDs, so the id alone orders rows by creation and serves as the cursor.
 */
export interface PageRequest {
  /** Sort direction of the query to run. */
  direction: 'asc' | 'desc';
  /** Only rows strictly beyond this id in `direction`. */
  cursor: string | undefined;
  /** How many rows to fetch: one more than the page, to know whether more remain. */
  fetch: number;
}

/**
 * Narrows a select to one page: ordered by `id` in the page's direction, strictly beyond the cursor, at most `fetch`
 * rows. Every paged table has a ULID `id` column; a raw reference lets this serve any of them.
 */
export function selectPage<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  page: PageRequest,
): SelectQueryBuilder<DB, TB, O> {
  const id = sql.ref<string>('id');
  const ordered = query.orderBy(id, page.direction).limit(page.fetch);
  if (page.cursor === undefined) return ordered;
  return ordered.where(id, page.direction === 'asc' ? '>' : '<', page.cursor);
}
