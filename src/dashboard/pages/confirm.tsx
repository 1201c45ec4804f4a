/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import { CsrfField, type Frame, Page } from '../layout.tsx';

/** "Are you sure?" for a destructive action: a POST form, and a way back that changes nothing. */
export function ConfirmPage(props: {
  frame: Frame;
  title: string;
  action: string;
  button: string;
  cancel: string;
  hidden?: Record<string, string>;
  children: Child;
}) {
  return (
    <Page {...props.frame} title={props.title}>
      <section class="card">
        {props.children}
        <form method="post" action={props.action} class="actions">
          <CsrfField token={props.frame.session.csrfToken} />
          {Object.entries(props.hidden ?? {}).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <button type="submit" class="danger">
            {props.button}
          </button>
          <a href={props.cancel}>Cancel</a>
        </form>
      </section>
    </Page>
  );
}
