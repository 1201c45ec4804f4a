import type { Config } from './config/load.ts';
import type { Clock } from './lib/clock.ts';
import type { Failpoints } from './lib/failpoints.ts';
import type { Logger } from './lib/logger.ts';
import type { Store } from './store/open.ts';
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
  /** Seals and opens every secret at rest. */
  vault: Vault;
  /** Crash points for fault tests; inert in production. */
  failpoints: Failpoints;
}
