/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

/**
 * The HTML document around every page Pipes serves itself (dashboard, connect flow, widget): UTF-8, mobile viewport,
 * kept out of search engines. `head` adds the page's stylesheet or scripts after the title.
 */
export function HtmlDocument(props: { title: string; head: Child; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
        {props.head}
      </head>
      <body>{props.children}</body>
    </html>
  );
}
