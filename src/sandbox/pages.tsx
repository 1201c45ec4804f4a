import { createHash } from 'node:crypto';
import type { Child } from 'hono/jsx';
import type { SandboxAccount } from './accounts.ts';
import { SANDBOX_SCOPES, type SandboxScope } from './scopes.ts';

/**
 * Server-rendered pages of the sandbox authorization server. hono/jsx escapes every text node and attribute, which
 * is what keeps client-supplied strings (client_id, redirect_uri, error details) inert. No script runs on these pages.
 */

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f5f5f7; color: #1d1d1f; }
main { max-width: 32rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 12px; }
h1 { font-size: 1.4rem; margin-top: 0; }
h2 { font-size: 1.05rem; }
fieldset { border: 1px solid #d2d2d7; border-radius: 8px; padding: 0.75rem 1rem; }
.account { display: block; padding: 0.25rem 0; }
.actions { display: flex; gap: 0.75rem; margin-top: 1.5rem; }
button { font: inherit; padding: 0.5rem 1.25rem; border-radius: 8px; border: 1px solid #1d1d1f; cursor: pointer; }
button.allow { background: #1d1d1f; color: #fff; }
button.deny { background: #fff; color: #1d1d1f; }
code { overflow-wrap: anywhere; }
.note { color: #6e6e73; font-size: 0.9rem; }
`;

const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/**
 * Headers for every HTML page: no script at all, no framing (clickjacking on the Allow button), no caching of a
 * page that carries a consent request id, no Referer leaking the authorize query string. `form-action` is left out
 * on purpose: browsers apply it to the redirect that follows the form POST, which goes to the client.
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
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export interface ConsentPageProps {
  decisionUrl: string;
  requestId: string;
  clientId: string;
  redirectUri: string;
  scopes: readonly SandboxScope[];
  accounts: readonly SandboxAccount[];
}

export function ConsentPage(props: ConsentPageProps) {
  return (
    <Layout title="Authorize access · Pipes sandbox">
      <h1>Authorize access to your sandbox account</h1>
      <p>
        The application <strong>{props.clientId}</strong> is asking for access. Afterwards you will be sent
        back to <code>{props.redirectUri}</code>.
      </p>
      <form method="post" action={props.decisionUrl}>
        <input type="hidden" name="request_id" value={props.requestId} />
        <fieldset>
          <legend>Sign in as a test account</legend>
          {props.accounts.map((account, index) => (
            <label class="account" for={`account-${account.login}`}>
              <input
                type="radio"
                id={`account-${account.login}`}
                name="account"
                value={account.login}
                checked={index === 0}
                required
              />{' '}
              {account.name} ({account.login})
            </label>
          ))}
        </fieldset>
        <h2 id="scopes-heading">Requested permissions</h2>
        <ul aria-labelledby="scopes-heading">
          {props.scopes.map((scope) => (
            <li>
              <code>{scope}</code>: {SANDBOX_SCOPES[scope]}
            </li>
          ))}
        </ul>
        <div class="actions">
          <button type="submit" class="allow" name="decision" value="allow">
            Allow
          </button>
          <button type="submit" class="deny" name="decision" value="deny">
            Deny
          </button>
        </div>
      </form>
      <p class="note">This is the Pipes sandbox: the accounts and their data are fake.</p>
    </Layout>
  );
}

export function ErrorPage(props: { title: string; message: string; detail?: string | undefined }) {
  return (
    <Layout title={`${props.title} · Pipes sandbox`}>
      <h1>{props.title}</h1>
      <p role="alert">{props.message}</p>
      {props.detail === undefined ? null : (
        <p>
          <code>{props.detail}</code>
        </p>
      )}
      <p class="note">Close this page and start again from the application.</p>
    </Layout>
  );
}
