/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

/**
 * A list as the dashboard shows it: a horizontally scrolling table with one header row, or, when there is no row,
 * a single muted line saying why the list is empty (and what fills it).
 */
export function DataTable<Row>(props: {
  /** Header cells; a null column is left out (e.g. an action column shown only with a CSRF token). */
  columns: readonly (string | null)[];
  rows: readonly Row[];
  row: (row: Row) => Child;
  empty: Child;
  caption?: string;
}) {
  if (props.rows.length === 0) return <p class="sub">{props.empty}</p>;
  return (
    <div class="table-wrap">
      <table>
        {props.caption === undefined ? null : <caption class="sub">{props.caption}</caption>}
        <thead>
          <tr>{props.columns.map((column) => (column === null ? null : <th scope="col">{column}</th>))}</tr>
        </thead>
        <tbody>{props.rows.map((row) => props.row(row))}</tbody>
      </table>
    </div>
  );
}
