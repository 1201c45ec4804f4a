import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import { HtmlDocument } from '../lib/html-document.tsx';

/**
 * The widget's own pages: the hosted widget (`GET /widget`) and the popup's last page (`GET /widget/done`). Each is
 * server-rendered with hono/jsx (every text node and attribute escaped) and runs only Pipes' static scripts: the CSP
 * allows `script-src 'self'` and no inline script at all.
 */

const STYLE = `
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f5f5f7; color: #1d1d1f; }
main { max-width: 40rem; margin: 2.5rem auto; background: #fff; padding: 2rem; border-radius: 12px; }
h1 { font-size: 1.4rem; margin: 0 0 0.25rem; }
.note { color: #555; font-size: 0.9rem; margin-top: 0; }
pipes-connect { display: block; margin-top: 1.5rem; }
`;

const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/**
 * Strict CSP: Pipes' own static scripts only, fetches to Pipes only, provider icons over https (or data:), no
 * framing, no forms, no base. No Cross-Origin-Opener-Policy on purpose: the done page needs its opener.
 */
export const WIDGET_PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    `default-src 'none'; script-src 'self'; connect-src 'self'; img-src https: data:; ` +
    `style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

function Layout(props: { title: string; script: string; children: Child }) {
  return (
    <HtmlDocument
      title={props.title}
      head={
        <>
          <style dangerouslySetInnerHTML={{ __html: STYLE }} />
          <script src={props.script} defer />
        </>
      }
    >
      <main>{props.children}</main>
    </HtmlDocument>
  );
}

export function renderWidgetPage(c: Context, page: Child, status: 200 | 400 = 200) {
  return c.html(html`<!DOCTYPE html>${page}`, status, WIDGET_PAGE_HEADERS);
}

export interface HostedPageProps {
  publicUrl: string;
  title: string;
  appName: string;
  /** The token from the link; null when coming back from a provider (the script then reads it from the tab). */
  token: string | null;
  mode: 'redirect' | 'popup';
  /** Why the link cannot be used, instead of the widget. */
  problem: string | null;
}

/**
 * `GET /widget?token=…`: the hosted widget. The script moves the token from the URL into this tab's sessionStorage
 * and strips it from the address bar (no token in history, bookmarks or a Referer), so that the page the connect
 * flow returns to, `${publicUrl}/widget`, carries no token either.
 */
export function HostedWidgetPage(props: HostedPageProps) {
  return (
    // A same-origin script (and so API): the page works under `'self'` whatever host name reached it.
    <Layout title={props.title} script="/widget/pipes-connect.js">
      <h1>Connected accounts</h1>
      <p class="note">Connect the accounts {props.appName} may use on your behalf, or disconnect them.</p>
      {props.problem === null ? (
        <pipes-connect
          hosted=""
          mode={props.mode}
          return-to={`${props.publicUrl}/widget`}
          {...(props.token === null ? {} : { token: props.token })}
        />
      ) : (
        <p role="alert">{props.problem}</p>
      )}
    </Layout>
  );
}

export interface DoneResult {
  status: 'connected' | 'failed';
  provider: string;
  connectedAccountId: string | null;
  error: string | null;
  errorDescription: string | null;
}

/**
 * `GET /widget/done`: where a popup's connect flow ends. Its script posts the result to the opener, restricted to
 * the embedding origin (`targetOrigin`), then closes the window. When a provider page with COOP has severed the
 * opener there is no one to post to: the page says so, and the widget learns the result by polling.
 */
export function PopupDonePage(props: { origin: string | null; result: DoneResult | null }) {
  const r = props.result;
  const title = r === null ? 'Nothing to report' : r.status === 'connected' ? 'Connected' : 'Not connected';
  return (
    <Layout title={title} script="/widget/done.js">
      <h1>{title}</h1>
      {r === null ? (
        <p role="alert">This page reports the end of a connection. Close this window and start again.</p>
      ) : (
        <>
          <p role="status">
            {r.status === 'connected'
              ? 'Your account is connected.'
              : `The account was not connected: ${r.errorDescription ?? r.error ?? 'unknown error'}`}
          </p>
          <p class="note">You can close this window and go back to the application.</p>
          <div
            id="pipes-result"
            hidden
            data-origin={props.origin ?? ''}
            data-status={r.status}
            data-provider={r.provider}
            data-connected-account-id={r.connectedAccountId ?? ''}
            data-error={r.error ?? ''}
            data-error-description={r.errorDescription ?? ''}
          />
        </>
      )}
    </Layout>
  );
}
