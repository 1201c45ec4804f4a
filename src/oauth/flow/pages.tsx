import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HtmlDocument } from '../../lib/html-document.tsx';

/**
 * The connect flow's browser pages: server-rendered, no script, plain HTML forms. hono/jsx escapes every text node
 * and attribute, which is what keeps provider-supplied text (an `error_description` carrying `<script>`, O12) inert.
 */

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f5f5f7; color: #1d1d1f; }
main { max-width: 32rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 12px; }
h1 { font-size: 1.4rem; margin-top: 0; }
button { font: inherit; padding: 0.5rem 1.25rem; border-radius: 8px; border: 1px solid #1d1d1f; cursor: pointer;
  background: #1d1d1f; color: #fff; }
button:focus-visible, a:focus-visible { outline: 3px solid #0a66c2; outline-offset: 2px; }
code { overflow-wrap: anywhere; }
.note { color: #555; font-size: 0.9rem; }
`;

const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/**
 * No script, no framing (clickjacking on the Continue button), no caching, and no Referer: the page URL carries the
 * connect link, which must not leak to the provider. `form-action` is left out on purpose: browsers apply it to
 * the redirect that follows the form POST, and that redirect goes to the provider.
 */
export const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

function Layout(props: { title: string; children: Child }) {
  return (
    <HtmlDocument title={props.title} head={<style dangerouslySetInnerHTML={{ __html: STYLE }} />}>
      <main>{props.children}</main>
    </HtmlDocument>
  );
}

export function renderPage(c: Context, page: Child, status: ContentfulStatusCode = 200) {
  return c.html(html`<!DOCTYPE html>${page}`, status, PAGE_HEADERS);
}

export interface ConfirmPageProps {
  action: string;
  providerName: string;
  appName: string;
  userId: string | null;
  organizationId: string | null;
  organizationOwned: boolean;
}

/** §7.4's confirmation screen: says whose account the provider account will be attached to, before leaving. */
export function ConfirmPage(props: ConfirmPageProps) {
  const who = props.organizationOwned ? (
    <>
      the organization <strong>{props.organizationId}</strong>
      {props.userId === null ? null : (
        <>
          {' '}
          (on behalf of <strong>{props.userId}</strong>)
        </>
      )}
    </>
  ) : (
    <>
      <strong>{props.userId}</strong>
      {props.organizationId === null ? null : (
        <>
          {' '}
          in the organization <strong>{props.organizationId}</strong>
        </>
      )}
    </>
  );
  return (
    <Layout title={`Connect ${props.providerName}`}>
      <h1>
        Connect your {props.providerName} account to {props.appName} as {who}
      </h1>
      <p>
        {capitalize(props.appName)} will be able to use your {props.providerName} account on behalf of {who}.
        If this is not you, or you did not start this from {props.appName}, close this page.
      </p>
      <form method="post" action={props.action}>
        <button type="submit">Continue to {props.providerName}</button>
      </form>
      <p class="note">You will sign in at {props.providerName} and choose what to share.</p>
    </Layout>
  );
}

export function ErrorPage(props: { title: string; message: string; code: string; detail?: string | null }) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <p role="alert">{props.message}</p>
      {props.detail === undefined || props.detail === null ? null : (
        <p>
          <code>{props.detail}</code>
        </p>
      )}
      <p class="note">
        Error code: <code>{props.code}</code>
      </p>
    </Layout>
  );
}

export function DonePage(props: { providerName: string; appName: string }) {
  return (
    <Layout title={`${props.providerName} connected`}>
      <h1>{props.providerName} is connected</h1>
      <p role="status">
        Your {props.providerName} account is now connected to {props.appName}. You can close this page.
      </p>
    </Layout>
  );
}

/** "this application" starts a sentence on the confirmation page. */
const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
