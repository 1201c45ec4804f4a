import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Browser } from './browser.ts';

export interface OidcServer {
  issuer: string;
  /** Counts token-endpoint requests (the code must never reach it in the rejection cases). */
  tokenRequests: number;
  /** Registers the one client (its redirect URI is only known once the integration exists) and starts serving. */
  configure(client: {
    clientId: string;
    clientSecret: string;
    redirectUri: string;
    auth: 'client_secret_post' | 'client_secret_basic';
  }): void;
  close(): Promise<void>;
}

/**
 * A real, spec-following authorization server (oidc-provider) on loopback, with PKCE required and RFC 9207 `iss`
 * on every authorization response. The port is bound first so the issuer is known before the Pipes integration
 * (and so its redirect URI) exists; the provider itself is created when the client is configured.
 */
export async function startOidcServer(): Promise<OidcServer> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const state = { tokenRequests: 0 };
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/token')) state.tokenRequests += 1;
    if (handler === null) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    get tokenRequests() {
      return state.tokenRequests;
    },
    configure(client) {
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: client.clientId,
            client_secret: client.clientSecret,
            redirect_uris: [client.redirectUri],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: client.auth,
          },
        ],
        pkce: { required: () => true },
        scopes: ['openid', 'offline_access'],
        features: { devInteractions: { enabled: true } },
        findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
        rotateRefreshToken: true,
        ttl: { AccessToken: 600 },
      });
      handler = provider.callback();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Logs in as `account` and consents at oidc-provider's dev interactions; returns the callback URL to Pipes. */
export async function oidcConsent(browser: Browser, authorizeUrl: string, account: string): Promise<string> {
  let response = await browser.get(authorizeUrl);
  for (let step = 0; step < 8; step++) {
    const location = response.headers.get('location');
    assert.ok(
      response.status >= 300 && response.status < 400 && location !== null,
      `step ${step}: a redirect`,
    );
    const next = new URL(location, authorizeUrl);
    if (!next.pathname.startsWith('/interaction/') && !next.pathname.startsWith('/auth')) return next.href;
    if (next.pathname.startsWith('/interaction/')) {
      const page = await browser.get(next.href);
      const html = await page.text();
      const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
      assert.ok(prompt === 'login' || prompt === 'consent', `an interaction page (${prompt})`);
      response = await browser.post(
        next.href,
        prompt === 'login' ? { prompt, login: account, password: 'x' } : { prompt },
      );
    } else {
      response = await browser.get(next.href);
    }
  }
  assert.fail('oidc-provider interactions did not end');
}
