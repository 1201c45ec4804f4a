import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { AppContext } from '../../src/context.ts';
import { PipesError } from '../../src/errors.ts';
import type { ProviderEntry } from '../../src/providers/catalog-schema.ts';
import { createRelayDeps } from '../../src/relay/deps.ts';
import type { RelayConnection, RelayCredential, RelayDeps, RelaySelection } from '../../src/relay/types.ts';

/**
 * Test-only `RelayDeps`: the real API-key authentication (bound once Pipes has started) and an in-memory table of
 * connections in place of the token service. It is a stand-in for the lead's token service, not a mock of the relay:
 * the relay under test is the real one, mounted in a real Pipes.
 */
export interface MemoryAccount {
  environmentId: string;
  slug: string;
  userId?: string;
  organizationId?: string;
  accountId: string;
  provider: ProviderEntry;
  config?: Record<string, string>;
  credential: Omit<RelayCredential, 'accountId'>;
  /** What `forceRefresh` returns (the new secret), or null when it cannot refresh. */
  refreshTo?: string | null;
}

export class MemoryRelayDeps implements RelayDeps {
  readonly accounts: MemoryAccount[] = [];
  readonly refreshCalls: string[] = [];
  #real: RelayDeps | null = null;

  /** Uses the real API-key lookup of this Pipes. */
  bind(ctx: AppContext): void {
    this.#real = createRelayDeps(ctx);
  }

  add(account: MemoryAccount): MemoryAccount {
    this.accounts.push(account);
    return account;
  }

  async authenticate(authorization: string | undefined) {
    if (this.#real === null) throw new Error('MemoryRelayDeps.bind(ctx) first');
    return this.#real.authenticate(authorization);
  }

  async isApiKeyActive(apiKeyId: string) {
    if (this.#real === null) throw new Error('MemoryRelayDeps.bind(ctx) first');
    return this.#real.isApiKeyActive!(apiKeyId);
  }

  async resolveConnection(
    environmentId: string,
    slug: string,
    selection: RelaySelection,
  ): Promise<RelayConnection> {
    const account = this.accounts.find(
      (a) =>
        a.environmentId === environmentId &&
        a.slug === slug &&
        (selection.connectedAccountId === undefined || a.accountId === selection.connectedAccountId) &&
        (selection.userId === undefined || a.userId === selection.userId) &&
        (selection.organizationId === undefined || a.organizationId === selection.organizationId),
    );
    if (account === undefined) {
      throw new PipesError('not_installed', `No connected ${slug} account matches this selection.`, {
        status: 404,
      });
    }
    const credential: RelayCredential = { accountId: account.accountId, ...account.credential };
    return {
      accountId: account.accountId,
      provider: account.provider,
      config: account.config ?? {},
      credential,
      forceRefresh: async () => {
        this.refreshCalls.push(account.accountId);
        if (account.refreshTo === undefined || account.refreshTo === null) return null;
        account.credential = { ...account.credential, value: account.refreshTo };
        return { accountId: account.accountId, ...account.credential };
      },
    };
  }
}

/** A provider entry pointing at a local fake provider (plain http, which the JSON catalog schema refuses). */
export function testProvider(
  slug: string,
  baseUrl: string,
  api: Partial<ProviderEntry['api']> = {},
  extra: Partial<ProviderEntry> = {},
): ProviderEntry {
  return {
    slug,
    name: slug,
    description: 'A fake provider for relay tests.',
    icon_url: 'https://example.com/icon.svg',
    docs_url: 'https://example.com/docs',
    categories: ['developer-tools'],
    auth_methods: ['oauth', 'api_key'],
    api_key: { header: 'X-Api-Key', format: 'Key {api_key}', instructions: 'Paste it.' },
    connect_config: [],
    metadata_to_config: {},
    api: {
      base_url: baseUrl,
      auth_style: 'bearer',
      extra_headers: {},
      allowed_origins: [],
      rate_limit: {},
      ...api,
    },
    ...extra,
  } as ProviderEntry;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
}

export interface FakeProvider {
  server: Server;
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1. `handler` answers; by default the body is read first and recorded. With
 * `streamBody: false`, the handler gets the untouched request (for upload tests) and records itself.
 */
export async function startFakeProvider(
  handler: (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void | Promise<void>,
  options: { readBody?: boolean } = {},
): Promise<FakeProvider> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
    };
    requests.push(recorded);
    if (options.readBody === false) {
      void handler(req, res, recorded);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      recorded.body = Buffer.concat(chunks);
      void handler(req, res, recorded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/** The JSON body of a response, loosely typed for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
export async function bodyOf(response: Response): Promise<any> {
  return response.json();
}

export interface RawResponse {
  status: number;
  headers: import('node:http').IncomingHttpHeaders;
  body: Buffer;
}

/** A request with the exact path given (fetch would normalise `..` and `%2e%2e`). */
export function rawRequest(
  baseUrl: string,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string | string[]>;
    body?: Buffer | string;
  },
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Writes raw bytes on a socket and returns everything the server sent before closing (or after `waitMs`). */
export function rawSocket(port: number, text: string, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(text);
  });
}

export const relayHeaders = (key: string, userId = 'user_1'): Record<string, string> => ({
  authorization: `Bearer ${key}`,
  'pipes-user-id': userId,
});
