/**
 * Splits what a newest-first dashboard list fetched (`size + 1` rows, the extra one only to learn whether more
 * remain) into the rows to show and the link to the next page, built from the last shown id; null on the last page.
 */
export function splitPage<Row extends { id: string }>(
  rows: readonly Row[],
  size: number,
  linkAfter: (lastId: string) => string,
): { page: Row[]; next: string | null } {
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return { page, next: rows.length > size && last !== undefined ? linkAfter(last.id) : null };
}
