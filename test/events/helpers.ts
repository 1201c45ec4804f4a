import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkOS } from '@workos-inc/node';
import { Webhook } from 'standardwebhooks';
import type { WebhookWorkerOptions } from '../../src/events/delivery/index.ts';
import {
  connectedAccountEventData,
  type PipesEventName,
  recordEvent,
} from '../../src/events/record-event.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { newId } from '../../src/lib/ids.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { api, startTestPipes, type TestPipes } from '../helpers/pipes.ts';

/** The official SDK, pointed at a Pipes test server by changing only its host options. */
export function sdk(pipes: { port: number }, key: string): WorkOS {
  return new WorkOS(key, { apiHostname: '127.0.0.1', port: pipes.port, https: false, maxRetries: 0 });
}

/** One POST a receiver got. */
export interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
  eventId: string;
  attempt: number;
}

/** What a scripted receiver answers: a status (with headers and body), or never answering, or an endless body. */
export type Reply =
  | { status: number; headers?: Record<string, string>; body?: string }
  | { hang: true }
  | { endless: true };

/**
 * A webhook receiver on 127.0.0.1: records every POST and answers as `script` says (200 by default). Tests wait on
 * hits with `waitForHits`, never on time.
 */
export class Receiver {
  readonly hits: Hit[] = [];
  url = '';
  #server: Server;
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(public script: (hit: Hit, index: number) => Reply = () => ({ status: 200 })) {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const hit: Hit = {
          headers: req.headers,
          body,
          eventId: String(req.headers['webhook-id'] ?? ''),
          attempt: Number(req.headers['pipes-delivery-attempt'] ?? 0),
        };
        this.hits.push(hit);
        this.#answer(res, this.script(hit, this.hits.length - 1));
        for (const waiter of this.#waiters.filter((w) => this.hits.length >= w.count)) waiter.resolve();
        this.#waiters = this.#waiters.filter((w) => this.hits.length < w.count);
      });
    });
  }

  #answer(res: ServerResponse, reply: Reply) {
    if ('hang' in reply) return;
    if ('endless' in reply) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const pump = () => {
        while (res.write(chunk)) {
          if (res.destroyed) return;
        }
        res.once('drain', pump);
      };
      res.on('error', () => {});
      pump();
      return;
    }
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body ?? '');
  }

  static async start(script?: (hit: Hit, index: number) => Reply, path = '/hooks'): Promise<Receiver> {
    const receiver = new Receiver(script);
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.#server.address() as AddressInfo;
    receiver.url = `http://127.0.0.1:${port}${path}`;
    return receiver;
  }

  /** Resolves once `count` hits have arrived. */
  waitForHits(count: number): Promise<void> {
    if (this.hits.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Registers an endpoint over HTTP and returns its id and one-time secret. */
export async function createEndpoint(
  pipes: TestPipes,
  url: string,
  events: string[] = ['pipes.connected_account.connected'],
  key: string = pipes.sandboxKey,
): Promise<{ id: string; secret: string }> {
  const res = await api(pipes, 'POST', '/webhook_endpoints', { key, body: { endpoint_url: url, events } });
  assert.equal(res.status, 201, res.text);
  return { id: res.json.id, secret: res.json.secret };
}

/** Records an event the way production code does: inside a transaction, with the exact §5.1 payload. */
export async function recordTestEvent(
  pipes: TestPipes,
  options: {
    event?: PipesEventName;
    environment?: 'sandbox' | 'production';
    connectedAccountId?: string;
    organizationId?: string | null;
    state?: 'connected' | 'needs_reauthorization' | 'disconnected';
  } = {},
): Promise<string> {
  const ctx = pipes.server.ctx;
  const env = await requireEnvironment(ctx.store.db, options.environment ?? 'sandbox');
  const now = ctx.clock.now();
  const accountId = options.connectedAccountId ?? newId('connectedAccount', now);
  const organizationId = options.organizationId ?? null;
  const { id } = await ctx.store.db.transaction().execute((trx) =>
    recordEvent(trx, {
      environmentId: env.id,
      event: options.event ?? 'pipes.connected_account.connected',
      data: connectedAccountEventData({
        id: accountId,
        dataIntegrationId: 'data_integration_01HZY3K2J5Q8W9E7R6T5Y4U3I2',
        providerSlug: 'github',
        userId: 'user_123',
        organizationId,
        scopes: ['repo'],
        state: options.state ?? 'connected',
        createdAt: now,
        updatedAt: now,
      }),
      organizationId,
      connectedAccountId: accountId,
      now,
    }),
  );
  return id;
}

/**
 * Verifies a delivery with both reference verifiers: the WorkOS SDK's `constructEvent` and the Standard Webhooks
 * library. With `realTime` the libraries' own timestamp checks apply; otherwise (a test clock far from the wall
 * clock) the Standard Webhooks signature is recomputed by the library for the header's timestamp, and the WorkOS
 * tolerance is lifted.
 */
export async function verifyHit(hit: Hit, secret: string, options: { realTime?: boolean } = {}) {
  const workos = new WorkOS('sk_test_verifier', { apiHostname: '127.0.0.1', https: false, maxRetries: 0 });
  const event = await workos.webhooks.constructEvent({
    payload: hit.body,
    sigHeader: String(hit.headers['workos-signature']),
    secret,
    ...(options.realTime ? {} : { tolerance: Number.MAX_SAFE_INTEGER }),
  });
  verifyStandard(hit, secret, options);
  return event;
}

/** Standard Webhooks verification only (a secret may be valid for this header and not for the WorkOS one). */
export function verifyStandard(hit: Hit, secret: string, options: { realTime?: boolean } = {}): void {
  const headers = {
    'webhook-id': String(hit.headers['webhook-id']),
    'webhook-timestamp': String(hit.headers['webhook-timestamp']),
    'webhook-signature': String(hit.headers['webhook-signature']),
  };
  const webhook = new Webhook(secret);
  if (options.realTime) {
    webhook.verify(hit.body, headers);
    return;
  }
  const expected = webhook.sign(
    headers['webhook-id'],
    new Date(Number(headers['webhook-timestamp']) * 1000),
    hit.body,
  );
  assert.ok(
    headers['webhook-signature'].split(' ').includes(expected),
    'no Standard Webhooks signature matches',
  );
}

export interface DeliveryHarness {
  pipes: TestPipes;
  clock: ManualClock;
  /** One round of the instance's worker (claims and sends what is due at the clock's time). */
  runOnce(): Promise<number>;
  close(): Promise<void>;
}

/** A Pipes instance whose worker only sends when the test calls `runOnce()`, on a clock the test moves. */
export async function startDeliveryPipes(
  options: {
    env?: Record<string, string>;
    worker?: WebhookWorkerOptions;
    db?: TestDatabase;
    clock?: ManualClock;
  } = {},
): Promise<DeliveryHarness> {
  const clock = options.clock ?? new ManualClock(Date.now());
  const pipes = await startTestPipes({
    clock,
    webhookWorker: { background: false, attemptTimeoutMs: 5000, ...options.worker },
    ...(options.env ? { env: options.env } : {}),
    ...(options.db ? { db: options.db } : {}),
  });
  return {
    pipes,
    clock,
    runOnce: () => pipes.server.webhookWorker.runOnce(),
    close: () => pipes.close(),
  };
}

/** The endpoint's deliveries with their attempt logs, through the API. */
export async function listDeliveries(pipes: TestPipes, endpointId: string, key: string = pipes.sandboxKey) {
  const res = await api(pipes, 'GET', `/webhook_endpoints/${endpointId}/deliveries?limit=100`, { key });
  assert.equal(res.status, 200, res.text);
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  return res.json.data as any[];
}
