import type { ApiKeyCache } from './api/api-key-cache.ts';
import type { Config } from './config/load.ts';
import type { Clock } from './lib/clock.ts';
import type { Failpoints } from './lib/failpoints.ts';
import type { Logger } from './lib/logger.ts';
import type { ProviderHttp } from './oauth/http.ts';
import type { Catalog } from './providers/load-catalog.ts';
import type { SandboxHost } from './sandbox/host.ts';
import type { LeaseTime } from './store/lease-time.ts';
import type { Store } from './store/open.ts';
import type { TokenService } from './tokens/service.ts';
import type { Vault } from './vault/vault.ts';

/**
 * The one context built at start-up and passed down. Everything stateful hangs off it; there are no module
 * singletons, so a test can run several independent Pipes instances in one process.
 */
export interface AppContext {
  config: Config;
  store: Store;
  log: Logger;
  clock: Clock;
  /** The time leases are written and judged in: the database server's clock on PostgreSQL (lease-time.ts). */
  leaseTime: LeaseTime;
  /** Seals and opens every secret at rest. */
  vault: Vault;
  /** Crash points for fault tests; inert in production. */
  failpoints: Failpoints;
  /** The provider catalog: `providers/*.json` plus the built-in sandbox provider when it is served. */
  catalog: Catalog;
  /** The built-in sandbox provider (mounted at `/sandbox`) when `PIPES_SANDBOX_PROVIDER` is on, else null. */
  sandbox: SandboxHost | null;
  /** Egress-checked HTTP for token endpoints and identity calls; the sandbox is answered in process. */
  providerHttp: ProviderHttp;
  /** Fresh tokens: single-flight refresh and the background refresher. */
  tokens: TokenService;
  /** Successful API-key lookups, reused for a second (see `api-key-cache.ts` for the revocation bound). */
  apiKeyCache: ApiKeyCache;
}
