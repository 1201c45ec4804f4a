import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scriptable OAuth provider on loopback that plays refresh-token quirks. It is a real HTTP server; it records
 * every token request and fails the test's expectations through its counters.
 *
 * Rotation modes:
 * - `none`: refresh responses carry no new refresh token; the old one keeps working.
 * - `rotate`: every refresh returns a new refresh token; the old one keeps working for `graceSeconds`, after which
 *   reusing it revokes the whole family (Atlassian without leeway when graceSeconds is 0; Xero-like with a grace).
 */
export interface FakeProviderOptions {
  rotation: 'none' | 'rotate';
  graceSeconds?: number;
  accessTokenTtlSeconds?: number;
  /** Delay before answering a refresh, so concurrent callers pile up. */
  refreshDelayMs?: number;
  /**
   * Whether reusing a rotated refresh token outside the grace revokes the whole family (default, like oidc-provider
   * and Atlassian) or is only refused with `invalid_grant` (single-use tokens without replay detection).
   */
  reuseRevokesFamily?: boolean;
  /** Answers `grant_type=client_credentials` for this client (body or Basic authentication). */
  clientCredentials?: { clientId: string; clientSecret: string; metadata?: Record<string, string> };
}

interface RefreshRecord {
  family: string;
  retiredAt: number | null;
  revoked: boolean;
}

export class FakeProvider {
  readonly tokenRequests: { grantType: string; refreshToken?: string }[] = [];
  readonly revocations: string[] = [];
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  private readonly revokedFamilies = new Set<string>();
  readonly accessTokens = new Set<string>();
  /** Runs before `/api/me` answers (and before it checks the token): something else happening meanwhile. */
  beforeApiAnswer: (() => Promise<void>) | undefined;
  /**
   * When set, the next token requests answer with this status and body; `drop` processes nothing and destroys the
   * socket instead (an answer that never arrives).
   */
  scripted: ({ status: number; body: string; headers?: Record<string, string> } | { drop: true })[] = [];
  private server!: Server;
  url = '';
  /** Token requests being handled right now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** The next N refresh grants are processed (and rotated) but their answer is lost: the socket is destroyed. */
  dropNext = 0;
  /** Access tokens minted by the client-credentials grant. */
  readonly clientCredentialTokens = new Set<string>();
  private holds = 0;
  private readonly held: (() => void)[] = [];
  private readonly heldWaiters: { count: number; resolve: () => void }[] = [];

  constructor(readonly options: FakeProviderOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Mints a fresh grant (as if a user had just consented) and returns its tokens. */
  issueGrant(): { accessToken: string; refreshToken: string } {
    const family = randomBytes(8).toString('hex');
    const refreshToken = `rt_${randomBytes(16).toString('hex')}`;
    this.refreshTokens.set(refreshToken, { family, retiredAt: null, revoked: false });
    const accessToken = `at_${randomBytes(16).toString('hex')}`;
    this.accessTokens.add(accessToken);
    return { accessToken, refreshToken };
  }

  refreshCount(): number {
    return this.tokenRequests.filter((r) => r.grantType === 'refresh_token').length;
  }

  /** The next `count` refresh requests are recorded, then wait (unprocessed) until `releaseHeld()`. */
  holdNext(count = 1): void {
    this.holds += count;
  }

  /** Resolves once `count` refresh requests are waiting. */
  waitForHeld(count = 1): Promise<void> {
    if (this.held.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.heldWaiters.push({ count, resolve }));
  }

  /** Lets the oldest held request go on. */
  releaseOne(): void {
    this.held.shift()?.();
  }

  /** Lets every held request go on, in arrival order. */
  releaseHeld(): void {
    for (const release of this.held.splice(0)) release();
  }

  /** Every refresh token this provider ever issued (initial grants and rotations). */
  issuedRefreshTokens(): string[] {
    return [...this.refreshTokens.keys()];
  }

  /** Whether this refresh token would be accepted now (known, not revoked, not retired past its grace). */
  isLive(refreshToken: string): boolean {
    const record = this.refreshTokens.get(refreshToken);
    if (!record || record.revoked || this.revokedFamilies.has(record.family)) return false;
    return (
      record.retiredAt === null || Date.now() - record.retiredAt <= (this.options.graceSeconds ?? 0) * 1000
    );
  }

  private async hold(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.held.push(resolve);
      for (const waiter of [...this.heldWaiters]) {
        if (this.held.length >= waiter.count) {
          this.heldWaiters.splice(this.heldWaiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  }

  private clientCredentialsGrant(
    req: IncomingMessage,
    body: URLSearchParams,
    json: (status: number, value: unknown) => void,
  ) {
    const expected = this.options.clientCredentials!;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [id, secret] = basic
      ? Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent)
      : [body.get('client_id'), body.get('client_secret')];
    if (id !== expected.clientId || secret !== expected.clientSecret) {
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
    }
    const accessToken = `cc_at_${randomBytes(16).toString('hex')}`;
    this.clientCredentialTokens.add(accessToken);
    this.accessTokens.add(accessToken);
    json(200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.options.accessTokenTtlSeconds ?? 3600,
      scope: 'api',
      ...expected.metadata,
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(value));
    };
    if (req.url === '/revoke') {
      this.revocations.push(body.get('token') ?? '');
      const record = this.refreshTokens.get(body.get('token') ?? '');
      if (record) this.revokedFamilies.add(record.family);
      res.writeHead(200).end();
      return;
    }
    if (req.url !== '/token') {
      if (req.url === '/api/me') {
        await this.beforeApiAnswer?.();
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        return this.accessTokens.has(token)
          ? json(200, { id: 'u1', login: 'ada' })
          : json(401, { error: 'invalid_token' });
      }
      res.writeHead(404).end();
      return;
    }
    const grantType = body.get('grant_type') ?? '';
    const refreshToken = body.get('refresh_token') ?? undefined;
    this.tokenRequests.push({ grantType, ...(refreshToken ? { refreshToken } : {}) });
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => {
      this.inFlight -= 1;
    });
    if (this.holds > 0 && grantType === 'refresh_token') {
      this.holds -= 1;
      await this.hold();
    }
    const scripted = this.scripted.shift();
    if (scripted && 'drop' in scripted) {
      req.socket.destroy();
      return;
    }
    if (scripted) {
      res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
      res.end(scripted.body);
      return;
    }
    if (grantType === 'client_credentials' && this.options.clientCredentials) {
      return this.clientCredentialsGrant(req, body, json);
    }
    if (grantType !== 'refresh_token' || !refreshToken) return json(400, { error: 'unsupported_grant_type' });
    if (this.options.refreshDelayMs) await new Promise((r) => setTimeout(r, this.options.refreshDelayMs));
    const record = this.refreshTokens.get(refreshToken);
    const now = Date.now();
    if (!record || record.revoked || this.revokedFamilies.has(record.family)) {
      return json(400, { error: 'invalid_grant', error_description: 'The refresh token is invalid.' });
    }
    if (record.retiredAt !== null && now - record.retiredAt > (this.options.graceSeconds ?? 0) * 1000) {
      // Reuse of a rotated token outside the grace: revoke the whole family (strict rotation).
      if (this.options.reuseRevokesFamily !== false) this.revokedFamilies.add(record.family);
      return json(400, { error: 'invalid_grant', error_description: 'Refresh token reuse detected.' });
    }
    const accessToken = `at_${randomBytes(16).toString('hex')}`;
    this.accessTokens.add(accessToken);
    const response: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.options.accessTokenTtlSeconds ?? 3600,
      scope: 'read write',
    };
    if (this.options.rotation === 'rotate') {
      const next = `rt_${randomBytes(16).toString('hex')}`;
      this.refreshTokens.set(next, { family: record.family, retiredAt: null, revoked: false });
      if (record.retiredAt === null) record.retiredAt = now;
      response.refresh_token = next;
    }
    if (this.dropNext > 0) {
      // Processed (and rotated) here, but the answer never reaches the caller: an ambiguous outcome.
      this.dropNext -= 1;
      req.socket.destroy();
      return;
    }
    json(200, response);
  }
}
