import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from './api/app.ts';
import type { ApiEnv } from './api/env.ts';
import type { Config } from './config/load.ts';
import type { AppContext } from './context.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import { createFailpoints } from './lib/failpoints.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { seedBootstrapKey } from './store/api-keys.ts';
import { ensureDefaultEnvironments, requireEnvironment } from './store/environments.ts';
import { migrateToLatest } from './store/migrate.ts';
import { openStore } from './store/open.ts';
import { openVault } from './vault/open-vault.ts';
import type { Vault } from './vault/vault.ts';

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
}

/**
 * Builds the context: opens the store, runs migrations, creates the default environments and seeds the bootstrap
 * key. Used by `pipes serve` and by every CLI command that needs the database.
 */
export async function createContext(config: Config, options: StartOptions = {}): Promise<AppContext> {
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const store = openStore(config.database);
  let vault: Vault;
  try {
    const applied = await migrateToLatest(store.db, store.engine);
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
    await ensureDefaultEnvironments(store.db, clock.now());
    if (config.bootstrapApiKey) {
      const sandbox = await requireEnvironment(store.db, 'sandbox');
      await seedBootstrapKey(store.db, sandbox, config.bootstrapApiKey, clock.now());
    }
    vault = await openVault(config, store, log, clock.now());
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    config,
    store,
    log,
    clock,
    vault,
    failpoints: createFailpoints(config.failpoints, config.production),
  };
}

export interface RunningServer {
  ctx: AppContext;
  app: Hono<ApiEnv>;
  /** Where the server actually listens (useful with port 0). */
  url: string;
  close(): Promise<void>;
}

/** Starts the HTTP server on the configured host and port. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const ctx = await createContext(config, options);
  const app = createApp(ctx);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  // Slow clients must not hold connections forever (slowloris): bound header and request time.
  const http = server as unknown as import('node:http').Server;
  http.headersTimeout = 20_000;
  http.requestTimeout = 60_000;
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  let closed = false;
  return {
    ctx,
    app,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await ctx.store.close();
    },
  };
}
