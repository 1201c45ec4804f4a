import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Clock } from '../../src/lib/clock.ts';
import { closeServer, listenOnLoopback } from './loopback.ts';

/**
 * An OAuth provider on loopback whose refresh tokens die when left unused (Xero after 60 days, Atlassian after 90,
 * Google after 6 months, Salesforce after its admin-set idle TTL). Time is the clock the test shares with Pipes, so
 * a test steps months in milliseconds. Rotation is strict: a used refresh token is dead at once.
 */
export interface IdleExpiryProviderOptions {
  clock: Clock;
  /** A refresh token unused for longer than this is refused with `invalid_grant`. */
  idleLimitMs: number;
  /** `expires_in` of every access token it issues. */
  accessTokenTtlSeconds: number;
}

/** One refresh request as the provider judged it; `idleMs` is how long its refresh token had been unused. */
export interface IdleRefresh {
  refreshToken: string;
  idleMs: number;
  outcome: 'granted' | 'idle_expired' | 'unknown_token';
}

export class IdleExpiryProvider {
  readonly refreshes: IdleRefresh[] = [];
  /** Live refresh tokens and when each was issued (its idle time starts there). */
  private readonly refreshTokens = new Map<string, number>();
  /** Access tokens and when each expires. */
  private readonly accessTokens = new Map<string, number>();
  private server!: Server;
  url = '';

  constructor(readonly options: IdleExpiryProviderOptions) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
    this.url = await listenOnLoopback(this.server);
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  /** A user consents now: a new access token and a refresh token whose idle time starts now. */
  issueGrant(): { accessToken: string; refreshToken: string } {
    return { accessToken: this.mintAccessToken(), refreshToken: this.mintRefreshToken() };
  }

  /** Refresh requests refused because their token had been idle too long. */
  idleExpired(): IdleRefresh[] {
    return this.refreshes.filter((r) => r.outcome === 'idle_expired');
  }

  private mintAccessToken(): string {
    const token = `at_${randomBytes(16).toString('hex')}`;
    this.accessTokens.set(token, this.options.clock.now() + this.options.accessTokenTtlSeconds * 1000);
    return token;
  }

  private mintRefreshToken(): string {
    const token = `rt_${randomBytes(16).toString('hex')}`;
    this.refreshTokens.set(token, this.options.clock.now());
    return token;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(value));
    };
    const now = this.options.clock.now();
    if (req.url === '/api/me') {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const expiresAt = this.accessTokens.get(token);
      return expiresAt !== undefined && expiresAt > now
        ? json(200, { id: 'u1', login: 'ada' })
        : json(401, { error: 'invalid_token' });
    }
    const body = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const refreshToken = body.get('refresh_token');
    if (req.url !== '/token' || body.get('grant_type') !== 'refresh_token' || !refreshToken) {
      return json(400, { error: 'unsupported_grant_type' });
    }
    const issuedAt = this.refreshTokens.get(refreshToken);
    const idleMs = issuedAt === undefined ? -1 : now - issuedAt;
    const outcome =
      issuedAt === undefined
        ? 'unknown_token'
        : idleMs > this.options.idleLimitMs
          ? 'idle_expired'
          : 'granted';
    this.refreshes.push({ refreshToken, idleMs, outcome });
    if (outcome !== 'granted') {
      this.refreshTokens.delete(refreshToken);
      return json(400, {
        error: 'invalid_grant',
        error_description: 'The refresh token is invalid or expired.',
      });
    }
    this.refreshTokens.delete(refreshToken);
    json(200, {
      access_token: this.mintAccessToken(),
      token_type: 'Bearer',
      expires_in: this.options.accessTokenTtlSeconds,
      refresh_token: this.mintRefreshToken(),
      scope: 'read write',
    });
  }
}
