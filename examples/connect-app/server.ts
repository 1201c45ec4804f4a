/**
 * A small web app that uses Pipes through the official WorkOS SDK: a Connect button, the connected account after
 * coming back, a fresh token used against the provider's API, and the embedded connect widget.
 *
 *   PIPES_URL=http://localhost:8080 WORKOS_API_KEY=sk_test_… node --import tsx examples/connect-app/server.ts
 *
 * It works offline against Pipes' built-in sandbox provider, with its shared credentials. See README.md next to it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { type CreateTokenOptions, NotFoundException, WorkOS } from '@workos-inc/node';

export interface ConnectAppOptions {
  /** Where Pipes is, e.g. `http://localhost:8080` (its PIPES_PUBLIC_URL). */
  pipesUrl: string;
  /** An API key of a sandbox environment (`sk_test_…`). */
  apiKey: string;
  port?: number;
  host?: string;
  /** This app's own URL as browsers see it; `http://localhost:<port>` by default. */
  appUrl?: string;
  /** The signed-in user of this demo (a real app takes it from its session). */
  userId?: string;
}

export interface ConnectApp {
  url: string;
  close(): Promise<void>;
}

const PROVIDER = 'sandbox';

/** The only change from WorkOS: the SDK's host options point at Pipes. */
export function workosFor(pipesUrl: string, apiKey: string): WorkOS {
  const url = new URL(pipesUrl);
  const https = url.protocol === 'https:';
  return new WorkOS(apiKey, {
    apiHostname: url.hostname,
    port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
    https,
  });
}

const escapeHtml = (value: unknown): string =>
  String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

const STYLE = `
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f6f7fb; color: #1d1d1f; }
header { background: #1e2a4a; color: #fff; padding: 0.9rem 2rem; display: flex; justify-content: space-between; }
header strong { font-size: 1.1rem; }
main { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
section { background: #fff; border-radius: 12px; padding: 1.5rem 1.75rem; margin-bottom: 1.5rem;
  box-shadow: 0 1px 2px rgba(0,0,0,.06); }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.5rem; }
.button { display: inline-block; background: #1e2a4a; color: #fff; border-radius: 8px; padding: 0.5rem 1.1rem;
  text-decoration: none; border: 0; font: inherit; cursor: pointer; }
.button.secondary { background: #fff; color: #1e2a4a; border: 1px solid #1e2a4a; }
.button + .button { margin-left: 0.5rem; }
.note { color: #555; font-size: 0.92rem; }
.flash { border-radius: 8px; padding: 0.7rem 1rem; margin-bottom: 1.5rem; }
.flash.ok { background: #e8f5ec; color: #155724; }
.flash.bad { background: #fdecea; color: #8a1c12; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0.75rem 0 1rem; }
dt { color: #555; }
dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
pre { background: #f2f3f7; padding: 0.85rem; border-radius: 8px; overflow-x: auto; }
`;

function page(
  title: string,
  body: string,
  options: { userId: string; pipesUrl: string; widget: boolean },
): { html: string; headers: Record<string, string> } {
  const pipesOrigin = new URL(options.pipesUrl).origin;
  return {
    html: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Acme Notes</title><link rel="stylesheet" href="/style.css">
${options.widget ? `<script src="${escapeHtml(options.pipesUrl)}/widget/pipes-connect.js" defer></script>` : ''}
</head><body><header><strong>Acme Notes</strong><span>Signed in as ${escapeHtml(options.userId)}</span></header>
<main>${body}</main></body></html>`,
    // The app's own strict CSP: the widget needs only its script and its API on the Pipes origin.
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        `default-src 'self'; script-src ${pipesOrigin}; connect-src ${pipesOrigin}; img-src 'self' https: data:; ` +
        "style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      'cache-control': 'no-store',
    },
  };
}

/** Makes sure the sandbox provider is set up with the built-in shared credentials (sandbox environments only). */
export async function ensureSandboxIntegration(workos: WorkOS): Promise<void> {
  try {
    const integration = await workos.pipes.getDataIntegration({ slug: PROVIDER });
    if (!integration.enabled) await workos.pipes.updateDataIntegration({ slug: PROVIDER, enabled: true });
  } catch (error) {
    if (!(error instanceof NotFoundException)) throw error;
    await workos.pipes.createDataIntegration({
      provider: PROVIDER,
      enabled: true,
      description: 'Try the whole flow with fake accounts (ada, grace, alan).',
      // `shared` is a Pipes credentials type; the SDK's TypeScript type lists only `custom` and `organization`.
      credentials: { type: 'shared' } as never,
    });
  }
}

export async function startConnectApp(options: ConnectAppOptions): Promise<ConnectApp> {
  const pipesUrl = options.pipesUrl.replace(/\/+$/, '');
  const userId = options.userId ?? 'user_demo';
  const workos = workosFor(pipesUrl, options.apiKey);
  await ensureSandboxIntegration(workos);
  let appUrl = options.appUrl ?? '';
  const view = { userId, pipesUrl };

  async function home(): Promise<{ html: string; headers: Record<string, string> }> {
    const { data } = await workos.pipes.listUserDataProviders({ userId });
    const account = data.find((p) => p.slug === PROVIDER)?.connectedAccount ?? null;
    // SDK 11 types organizationId as required; Pipes treats it as optional, and the SDK sends it only when given.
    const { token } = await workos.widgets.createToken({ userId } as CreateTokenOptions);
    const connection =
      account === null
        ? `<p>Connect your Pipes Sandbox account so Acme Notes can import your items.</p>
           <p><a class="button" href="/connect">Connect Pipes Sandbox</a></p>`
        : `<p>Your Pipes Sandbox account is <strong>${escapeHtml(account.state)}</strong>.</p>
           <dl><dt>Account</dt><dd id="account-name">${escapeHtml(account.accountDisplayName ?? account.accountIdentifier)}</dd>
           <dt>Connection</dt><dd>${escapeHtml(account.id)}</dd></dl>
           <p><a class="button" href="/call">Fetch a token and call the sandbox API</a>
           <a class="button secondary" href="/connect">Reconnect</a></p>`;
    return page(
      'Integrations',
      `<h1>Integrations</h1>
      <section><h2>Your own Connect button</h2>${connection}
        <p class="note">The button asks Pipes for a connect link (<code>workos.pipes.authorizeDataIntegration</code>) and
        redirects you there; Pipes brings you back to <code>/connected</code>.</p></section>
      <section><h2>Or the Pipes connect widget</h2>
        <p class="note">One script tag and one element; the widget token comes from <code>workos.widgets.createToken</code>.</p>
        <pipes-connect token="${escapeHtml(token)}" mode="redirect" return-to="${escapeHtml(appUrl)}/"></pipes-connect>
      </section>`,
      { ...view, widget: true },
    );
  }

  async function connected(query: URLSearchParams) {
    if (query.get('status') !== 'connected') {
      return page(
        'Not connected',
        `<p class="flash bad" role="alert">Not connected: ${escapeHtml(query.get('error_description') ?? query.get('error') ?? 'unknown error')}</p>
        <p><a class="button" href="/connect">Try again</a> <a class="button secondary" href="/">Back</a></p>`,
        { ...view, widget: false },
      );
    }
    const account = await workos.pipes.getUserConnectedAccount({ userId, slug: PROVIDER });
    return page(
      'Connected',
      `<p class="flash ok" role="status">Your Pipes Sandbox account is connected.</p>
      <section><h1>Connected</h1>
      <dl><dt>Account</dt><dd id="account-name">${escapeHtml(account.accountDisplayName ?? account.accountIdentifier)}</dd>
      <dt>Account id</dt><dd>${escapeHtml(account.accountIdentifier)}</dd>
      <dt>Connection</dt><dd>${escapeHtml(account.id)}</dd>
      <dt>Scopes</dt><dd>${escapeHtml(account.scopes.join(' '))}</dd></dl>
      <p><a class="button" href="/call">Fetch a token and call the sandbox API</a>
      <a class="button secondary" href="/">Back to integrations</a></p></section>`,
      { ...view, widget: false },
    );
  }

  async function call() {
    const result = await workos.pipes.getAccessToken({ provider: PROVIDER, userId });
    if (!result.active) {
      return page(
        'Not connected',
        `<p class="flash bad" role="alert">No usable token (${escapeHtml(result.error)}): connect the account again.</p>
        <p><a class="button" href="/connect">Connect Pipes Sandbox</a></p>`,
        { ...view, widget: false },
      );
    }
    // The token is used here, on the server, and never sent to the browser.
    const response = await fetch(`${pipesUrl}/sandbox/api/user`, {
      headers: { authorization: `Bearer ${result.accessToken.accessToken}` },
    });
    const body = await response.text();
    let pretty = body;
    try {
      pretty = JSON.stringify(JSON.parse(body), null, 2);
    } catch {}
    const expires = result.accessToken.expiresAt;
    return page(
      'Sandbox API',
      `<section><h1>GET /sandbox/api/user → ${response.status}</h1>
      <p class="note">Called with a fresh access token from <code>workos.pipes.getAccessToken</code>
      (expires ${escapeHtml(expires === null ? 'never' : expires.toISOString())}; scopes
      ${escapeHtml(result.accessToken.scopes.join(' '))}).</p>
      <pre id="api-response">${escapeHtml(pretty)}</pre>
      <p><a class="button secondary" href="/">Back to integrations</a></p></section>`,
      { ...view, widget: false },
    );
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', appUrl);
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (url.pathname === '/style.css') {
      res.writeHead(200, { 'content-type': 'text/css; charset=utf-8' }).end(STYLE);
      return;
    }
    if (url.pathname === '/connect') {
      // A connect link for this user; Pipes sends the browser back to /connected when done.
      const { url: connectUrl } = await workos.pipes.authorizeDataIntegration({
        slug: PROVIDER,
        userId,
        returnTo: `${appUrl}/connected`,
      });
      res.writeHead(302, { location: connectUrl, 'cache-control': 'no-store' }).end();
      return;
    }
    const handlers: Record<string, () => Promise<{ html: string; headers: Record<string, string> }>> = {
      '/': () => home(),
      '/connected': () => connected(url.searchParams),
      '/call': () => call(),
    };
    const handler = handlers[url.pathname];
    if (handler === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    const { html, headers } = await handler();
    res.writeHead(200, headers).end(html);
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: Error) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`Something went wrong: ${error.message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  appUrl = (options.appUrl ?? `http://localhost:${port}`).replace(/\/+$/, '');
  return {
    url: appUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const apiKey = process.env.WORKOS_API_KEY ?? process.env.PIPES_API_KEY;
  if (!apiKey) {
    console.error(
      'Set WORKOS_API_KEY to a sandbox key of your Pipes (create one with `npx pipes keys create --env sandbox`).',
    );
    process.exit(2);
  }
  const app = await startConnectApp({
    pipesUrl: process.env.PIPES_URL ?? 'http://localhost:8080',
    apiKey,
    port: Number(process.env.PORT ?? 3000),
    ...(process.env.HOST ? { host: process.env.HOST } : {}),
    ...(process.env.APP_URL ? { appUrl: process.env.APP_URL } : {}),
    ...(process.env.DEMO_USER_ID ? { userId: process.env.DEMO_USER_ID } : {}),
  });
  console.log(`Acme Notes (the Pipes example app) is listening on ${app.url}`);
}
