import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted token-endpoint answer. */
export interface ScriptedResponse {
  status?: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Never answer (O17): the connection stays open until the client gives up. */
  hang?: boolean;
  /** Destroy the socket without an answer. */
  reset?: boolean;
}

export interface RecordedTokenRequest {
  params: URLSearchParams;
  json: Record<string, unknown> | null;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A scriptable OAuth provider on loopback for connect-flow tests. `/authorize` answers at once (no login page):
 * it redirects to the `redirect_uri` with a code and the state (and `iss` when `issuer` is set), or with a scripted
 * error. `/token` records every request and answers from `tokenScript`, else with a standard JSON token response.
 * `/userinfo` answers the identity of a bearer token it issued.
 */
export class FakeOAuthProvider {
  readonly authorizeRequests: URLSearchParams[] = [];
  readonly tokenRequests: RecordedTokenRequest[] = [];
  readonly issuedAccessTokens: string[] = [];
  readonly issuedRefreshTokens: string[] = [];
  /** Answers for the next token requests, in order. */
  tokenScript: ScriptedResponse[] = [];
  /** When set, `/authorize` redirects back with this error instead of a code. */
  authorizeError: { error: string; error_description?: string } | null = null;
  /** Sent as `iss` on authorization responses when set. */
  issuer: string | null = null;
  /** Extra parameters on authorization responses (e.g. a tampered `iss`, or QuickBooks' `realmId`). */
  extraCallbackParams: Record<string, string> = {};
  private server!: Server;
  private readonly hung = new Set<ServerResponse>();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  tokenCount(): number {
    return this.tokenRequests.length;
  }

  /** A standard successful token response body, remembering the tokens so tests can grep logs for them. */
  mintTokens(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const access = `fp_at_${randomBytes(16).toString('hex')}`;
    const refresh = `fp_rt_${randomBytes(16).toString('hex')}`;
    this.issuedAccessTokens.push(access);
    this.issuedRefreshTokens.push(refresh);
    return { access_token: access, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh, ...extra };
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname === '/authorize') return this.authorize(url, res);
    if (url.pathname === '/token' && req.method === 'POST') return this.token(req, res);
    if (url.pathname === '/userinfo') {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const index = this.issuedAccessTokens.indexOf(token);
      res.writeHead(index < 0 ? 401 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          index < 0 ? { error: 'invalid_token' } : { sub: `fp-user-${index}`, name: 'Fake User' },
        ),
      );
      return;
    }
    res.writeHead(404).end();
  }

  private authorize(url: URL, res: ServerResponse) {
    this.authorizeRequests.push(url.searchParams);
    const back = new URL(url.searchParams.get('redirect_uri') ?? '');
    const state = url.searchParams.get('state');
    if (state !== null) back.searchParams.set('state', state);
    if (this.authorizeError !== null) {
      back.searchParams.set('error', this.authorizeError.error);
      if (this.authorizeError.error_description !== undefined) {
        back.searchParams.set('error_description', this.authorizeError.error_description);
      }
    } else {
      back.searchParams.set('code', `fp_code_${randomBytes(12).toString('hex')}`);
    }
    if (this.issuer !== null) back.searchParams.set('iss', this.issuer);
    for (const [name, value] of Object.entries(this.extraCallbackParams)) back.searchParams.set(name, value);
    res.writeHead(302, { location: back.href }).end();
  }

  private async token(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    this.tokenRequests.push({
      params: isJson ? new URLSearchParams() : new URLSearchParams(text),
      json: isJson ? (JSON.parse(text) as Record<string, unknown>) : null,
      headers: { ...req.headers },
    });
    const scripted = this.tokenScript.shift();
    if (scripted?.hang === true) {
      this.hung.add(res);
      return;
    }
    if (scripted?.reset === true) {
      req.socket.destroy();
      return;
    }
    const status = scripted?.status ?? 200;
    const body = scripted?.body ?? JSON.stringify(this.mintTokens());
    res.writeHead(status, {
      'content-type': scripted?.contentType ?? 'application/json',
      'cache-control': 'no-store',
      ...scripted?.headers,
    });
    res.end(body);
  }
}
