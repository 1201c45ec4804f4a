/** @jsxRuntime automatic @jsxImportSource hono/jsx */

/** The link to the next (older) page of a newest-first list; nothing on the last page. */
export function OlderPageLink(props: { href: string | null; label: string }) {
  if (props.href === null) return null;
  return (
    <p class="pager">
      <a href={props.href}>{props.label}</a>
    </p>
  );
}
