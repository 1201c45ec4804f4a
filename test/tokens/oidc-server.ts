import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface OidcOptions {
  /** Whether every refresh returns a new refresh token (and a reused one revokes the whole grant). */
  rotateRefreshToken: boolean;
  accessTokenTtlSeconds: number;
}

export interface OidcRefreshServer {
  issuer: string;
  /** Refresh-grant requests that reached the token endpoint (read from the request body). */
  refreshRequests: number;
  configure(client: { clientId: string; clientSecret: string; redirectUri: string }): void;
  /** Calls the token endpoint directly, as a stale copy of the connection elsewhere would. */
  refreshDirectly(refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** RFC 7009 revocation at the provider (the user revoking the app there). */
  revoke(token: string): Promise<number>;
  /** The status of a userinfo call with this access token: 200 while the provider accepts it. */
  userinfo(accessToken: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * oidc-provider as a real refresh-token peer: PKCE required, short access-token lifetimes, refresh-token rotation on
 * or off. With rotation on, presenting an already-used refresh token revokes the whole grant (oidc-provider's
 * replay detection), which is what makes a stray duplicate refresh fatal and therefore visible in tests.
 */
export async function startOidcRefreshServer(options: OidcOptions): Promise<OidcRefreshServer> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  let client = { clientId: '', clientSecret: '' };
  const state = { refreshRequests: 0 };
  const server: Server = createServer((req, res) => {
    if (handler === null) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const form = (body: Record<string, string>) =>
    fetch(`${issuer}${body.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(
        Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'path')),
      ).toString(),
    });
  return {
    issuer,
    get refreshRequests() {
      return state.refreshRequests;
    },
    configure(c) {
      client = { clientId: c.clientId, clientSecret: c.clientSecret };
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: c.clientId,
            client_secret: c.clientSecret,
            redirect_uris: [c.redirectUri],
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_post',
          },
        ],
        pkce: { required: () => true },
        scopes: ['openid', 'offline_access'],
        features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
        findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
        rotateRefreshToken: options.rotateRefreshToken,
        ttl: { AccessToken: options.accessTokenTtlSeconds },
      });
      // Count refresh grants as oidc-provider saw them, answered or refused.
      const events = provider as unknown as {
        on(event: string, listener: (ctx: { oidc?: { params?: { grant_type?: unknown } } }) => void): void;
      };
      for (const event of ['grant.success', 'grant.error']) {
        events.on(event, (ctx) => {
          if (ctx.oidc?.params?.grant_type === 'refresh_token') state.refreshRequests += 1;
        });
      }
      handler = provider.callback();
    },
    async refreshDirectly(refreshToken) {
      const response = await form({
        path: '/token',
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: client.clientId,
        client_secret: client.clientSecret,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async revoke(token) {
      const response = await form({
        path: '/token/revocation',
        token,
        client_id: client.clientId,
        client_secret: client.clientSecret,
      });
      await response.arrayBuffer();
      return response.status;
    },
    async userinfo(accessToken) {
      const response = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      await response.arrayBuffer();
      return response.status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
