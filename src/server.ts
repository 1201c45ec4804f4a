import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApiKeyCache } from './api/api-key-cache.ts';
import { createApp } from './api/app.ts';
import type { ApiEnv } from './api/env.ts';
import { type ApiGuards, createApiGuards } from './api/guards.ts';
import { createVendingListener } from './api/routes/vending/raw-listener.ts';
import type { Config } from './config/load.ts';
import type { AppContext } from './context.ts';
import {
  startWebhookWorker,
  type WebhookWorker,
  type WebhookWorkerOptions,
} from './events/delivery/index.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import { createFailpoints } from './lib/failpoints.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { keepPageRenderingOffAsyncHooks } from './lib/page-rendering.ts';
import { createProviderHttp } from './oauth/http.ts';
import { loadRuntimeCatalog } from './providers/runtime-catalog.ts';
import { createRelayDeps } from './relay/deps.ts';
import type { RelayOptionsInput } from './relay/options.ts';
import { createRelay, type Relay } from './relay/relay.ts';
import type { RelayDeps } from './relay/types.ts';
import { createSandboxHost, type SandboxHost } from './sandbox/host.ts';
import { seedBootstrapKey } from './store/api-keys.ts';
import { ensureDefaultEnvironments, requireEnvironment } from './store/environments.ts';
import { LeaseTime } from './store/lease-time.ts';
import { migrateToLatest } from './store/migrate.ts';
import { openStore } from './store/open.ts';
import { createProviderRefreshGrant } from './tokens/provider-grant.ts';
import {
  type BackgroundRefresher,
  type BackgroundRefresherOptions,
  startBackgroundRefresher,
} from './tokens/refresh/background.ts';
import { warnOnClockSkew } from './tokens/refresh/clock-skew.ts';
import { DEFAULT_REFRESH_OPTIONS } from './tokens/refresh/single-flight.ts';
import { createTokenService } from './tokens/service.ts';
import { openVault } from './vault/open-vault.ts';
import type { Vault } from './vault/vault.ts';

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
  /** Webhook delivery worker settings (tests use `{ background: false }` and drive it with `runOnce()`). */
  webhookWorker?: WebhookWorkerOptions;
  /** Background token refresher settings (tests use `{ background: false }` and drive it with `runOnce()`). */
  refresher?: BackgroundRefresherOptions;
  /** The relay's seam to the token service; `createRelayDeps(ctx)` when absent. Tests pass an in-memory one. */
  relayDeps?: RelayDeps;
  /** Relay limits and timeouts (tests use small ones). */
  relay?: RelayOptionsInput;
  /**
   * The time leases are judged in: `'database'` (the default) is the database server's clock on PostgreSQL
   * (lease-time.ts); `'local'` is `clock`, for tests whose manual clock must move leases too.
   */
  leaseTime?: 'database' | 'local';
  /** HTTP server timeouts against slow clients. Defaults: headers 20 s, request 60 s, checked every 30 s. */
  serverTimeouts?: { headersTimeoutMs?: number; requestTimeoutMs?: number; checkIntervalMs?: number };
}

/**
 * Builds the context: opens the store, runs migrations, creates the default environments and seeds the bootstrap
 * key. Used by `pipes serve` and by every CLI command that needs the database.
 */
export async function createContext(config: Config, options: StartOptions = {}): Promise<AppContext> {
  // Before any page renders: otherwise the first page would slow every request that follows (see the function).
  keepPageRenderingOffAsyncHooks();
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  // The catalog first: a broken provider file stops the start (naming the file and field) before anything opens.
  const sandboxIssuer = config.sandboxProvider ? `${config.publicUrl}/sandbox` : null;
  const catalog = loadRuntimeCatalog({ sandboxIssuer });
  const store = openStore(config.database);
  let vault: Vault;
  let sandboxHost: SandboxHost | null = null;
  try {
    const applied = await migrateToLatest(store.db, store.engine);
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
    await ensureDefaultEnvironments(store.db, clock.now());
    if (config.bootstrapApiKey) {
      const sandbox = await requireEnvironment(store.db, 'sandbox');
      await seedBootstrapKey(store.db, sandbox, config.bootstrapApiKey, clock.now());
    }
    vault = await openVault(config, store, log, clock.now());
    if (config.sandboxProvider) sandboxHost = await createSandboxHost(config, store.db, vault, clock);
  } catch (error) {
    await store.close();
    throw error;
  }
  const base = {
    config,
    store,
    log,
    clock,
    leaseTime: new LeaseTime(store.engine, clock, options.leaseTime),
    vault,
    failpoints: createFailpoints(config.failpoints, config.production),
    catalog,
    sandbox: sandboxHost,
    providerHttp: createProviderHttp(config, sandboxHost === null ? [] : [sandboxHost.route]),
    apiKeyCache: createApiKeyCache(),
  };
  const refreshOptions = {
    ...DEFAULT_REFRESH_OPTIONS,
    leaseTtlMs: config.refreshLeaseMs,
    maxWaitMs: config.refreshLeaseMs + 5_000,
  };
  return { ...base, tokens: createTokenService(base, createProviderRefreshGrant(base), refreshOptions) };
}

export interface RunningServer {
  ctx: AppContext;
  app: Hono<ApiEnv>;
  /** Where the server actually listens (useful with port 0). */
  url: string;
  /** This instance's webhook delivery worker. */
  webhookWorker: WebhookWorker;
  /** This instance's background token refresher. */
  refresher: BackgroundRefresher;
  /** The relay (`/relay/…`), served by a raw `node:http` handler next to the API app. */
  relay: Relay;
  close(): Promise<void>;
}

/** Builds the relay with its seam to the token service (`createRelayDeps` until a test injects its own). */
export function buildRelay(ctx: AppContext, options: StartOptions = {}, guards?: ApiGuards): Relay {
  const deps = options.relayDeps ?? createRelayDeps(ctx, guards?.authenticate);
  return createRelay(ctx, deps, options.relay ?? {});
}

/** Starts the HTTP server on the configured host and port. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const ctx = await createContext(config, options);
  // Leases are on the database server's clock, but expiry and schedules are on this one: name a large skew at once.
  await warnOnClockSkew(ctx);
  const guards = createApiGuards(ctx);
  const app = createApp(ctx, guards);
  const relay = buildRelay(ctx, options, guards);
  const vending = createVendingListener(ctx, guards);
  // One server, three listeners: the hot paths (the relay, token vending) skip the Web Request/Response layer the
  // API app needs.
  const api = getRequestListener(app.fetch, { hostname: config.host });
  const timeouts = options.serverTimeouts ?? {};
  const http: Server = createServer(
    { connectionsCheckingInterval: timeouts.checkIntervalMs ?? 30_000 },
    (req, res) => {
      if (relay.matches(req.url)) relay.handle(req, res);
      else if (vending.matches(req)) vending.handle(req, res);
      else void api(req, res);
    },
  );
  // Slow clients must not hold connections forever (slowloris): bound header and request time.
  http.headersTimeout = timeouts.headersTimeoutMs ?? 20_000;
  http.requestTimeout = timeouts.requestTimeoutMs ?? 60_000;
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.port, config.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // The port is taken, or the host cannot be bound: nothing may be left running behind the error.
    await relay.close();
    await ctx.providerHttp.close();
    await ctx.store.close();
    throw error;
  }
  const address = http.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const webhookWorker = startWebhookWorker(ctx, options.webhookWorker);
  const refresher = startBackgroundRefresher(ctx, { ...config.backgroundRefresh, ...options.refresher });
  let closed = false;
  return {
    ctx,
    app,
    url,
    webhookWorker,
    refresher,
    relay,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await relay.close();
      // Attempts in flight finish (bounded by the attempt timeout) before the store they write to closes.
      await refresher.stop();
      await webhookWorker.stop();
      await ctx.providerHttp.close();
      await ctx.store.close();
    },
  };
}
