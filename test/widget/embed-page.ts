import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreateTokenOptions, WorkOS } from '@workos-inc/node';

export interface EmbedPage {
  origin: string;
  /** The page URL for one user and mode. */
  pageUrl(options: { user: string; mode: 'redirect' | 'popup' }): string;
  close(): Promise<void>;
}

const escapeAttribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A third-party application page embedding the widget, on its own loopback origin, with a strict CSP of its own (no
 * inline script or style): the element must work there with one `<script src>` and nothing else. The widget token is
 * minted per request by the real SDK, as an app's backend would.
 */
export async function startEmbedPage(pipesUrl: string, workos: WorkOS): Promise<EmbedPage> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/app') {
      res.writeHead(404).end();
      return;
    }
    const user = url.searchParams.get('user') ?? 'user_embed';
    const mode = url.searchParams.get('mode') === 'popup' ? 'popup' : 'redirect';
    // SDK 11 types organizationId as required; Pipes treats it as optional, and the SDK sends it only when given.
    workos.widgets
      .createToken({ userId: user } as CreateTokenOptions)
      .then(({ token }) => {
        const returnTo = `${origin}/app?user=${encodeURIComponent(user)}&mode=${mode}`;
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': `default-src 'none'; script-src ${pipesUrl}; connect-src ${pipesUrl}; img-src https: data:; style-src 'none'`,
        });
        res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Example app settings</title>
<script src="${pipesUrl}/widget/pipes-connect.js" defer></script></head>
<body><h1>Integrations</h1>
<pipes-connect token="${escapeAttribute(token)}" mode="${mode}" return-to="${escapeAttribute(returnTo)}"></pipes-connect>
</body></html>`);
      })
      .catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    pageUrl: ({ user, mode }) => `${origin}/app?user=${encodeURIComponent(user)}&mode=${mode}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A provider's consent page that isolates itself with `Cross-Origin-Opener-Policy: same-origin`. Its Allow link goes
 * on to the fake provider's `/authorize` with the same query, which redirects back to Pipes with a code.
 */
export async function startCoopConsentPage(
  providerUrl: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/authorize') {
      res.writeHead(404).end();
      return;
    }
    const next = `${providerUrl}/authorize${url.search}`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cross-origin-opener-policy': 'same-origin',
      'content-security-policy': "default-src 'none'",
    });
    res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Consent</title></head>
<body><h1>Allow access?</h1><p><a href="${escapeAttribute(next)}">Allow</a></p></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
