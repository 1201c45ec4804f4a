import { Writable } from 'node:stream';
import { type Config, loadConfig } from '../../src/config/load.ts';
import type { WebhookWorkerOptions } from '../../src/events/delivery/index.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { type RunningServer, type StartOptions, startServer } from '../../src/server.ts';
import { createApiKey } from '../../src/store/api-keys.ts';
import { requireEnvironment } from '../../src/store/environments.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

/** Every log line a test instance wrote, so tests can prove that no secret was logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.lines.push(chunk.toString('utf8'));
    done();
  }
  text(): string {
    return this.lines.join('');
  }
}

export interface TestPipes {
  server: RunningServer;
  config: Config;
  db: TestDatabase;
  logs: LogCapture;
  url: string;
  port: number;
  sandboxKey: string;
  productionKey: string;
  close(): Promise<void>;
}

export interface TestPipesOptions {
  env?: Record<string, string>;
  clock?: Clock;
  /** Reuse a database (for multi-instance tests); a new one otherwise. */
  db?: TestDatabase;
  /** Webhook worker settings, e.g. `{ background: false }` to drive deliveries with `runOnce()`. */
  webhookWorker?: WebhookWorkerOptions;
  /** Any other start option (relay deps and limits, server timeouts…). */
  startOptions?: Omit<StartOptions, 'log' | 'clock'>;
}

/** Starts a real Pipes server on a random loopback port with a fresh database and one key per environment. */
export async function startTestPipes(options: TestPipesOptions = {}): Promise<TestPipes> {
  const db = options.db ?? (await createTestDatabase());
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...db.env, ...options.env });
  const logs = new LogCapture();
  const server = await startServer(config, {
    log: createLogger(config.logLevel, logs),
    // A test that moves a manual clock expects leases to move with it: on PostgreSQL they would otherwise be on the
    // database server's clock (lease-time.ts). Tests of that pass a moving clock and ask for it.
    ...(options.clock ? { clock: options.clock, leaseTime: 'local' as const } : {}),
    ...(options.webhookWorker ? { webhookWorker: options.webhookWorker } : {}),
    ...options.startOptions,
  });
  const port = Number(new URL(server.url).port);
  const now = server.ctx.clock.now();
  const sandbox = await requireEnvironment(server.ctx.store.db, 'sandbox');
  const production = await requireEnvironment(server.ctx.store.db, 'production');
  const sandboxKey = (await createApiKey(server.ctx.store.db, sandbox, 'test', now)).key;
  const productionKey = (await createApiKey(server.ctx.store.db, production, 'test', now)).key;
  return {
    server,
    config,
    db,
    logs,
    url: server.url,
    port,
    sandboxKey,
    productionKey,
    async close() {
      await server.close();
      if (!options.db) await db.drop();
    },
  };
}

/** fetch with a bearer key and JSON body. */
export async function api(
  pipes: { url: string },
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(pipes.url + path, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  return { status: response.status, headers: response.headers, text, json: json as any };
}
