import { StampedReadCache } from '../store/stamped-cache.ts';
import {
  DEFAULT_REFRESH_OPTIONS,
  type RefreshDeps,
  type RefreshGrant,
  type RefreshOptions,
  SingleFlightRefresher,
} from './refresh/single-flight.ts';
import { SecretCache } from './secret-cache.ts';

export interface TokenService {
  refresher: SingleFlightRefresher;
  /** Decrypted secrets of connections, reused while their sealed blob is unchanged (see secret-cache.ts). */
  secrets: SecretCache;
  /** The lookups behind vending (integration, connection), reused while the database is unchanged (SQLite only). */
  reads: StampedReadCache;
}

/** Built once per process, after the rest of the context: the refresher's in-flight map lives here. */
export function createTokenService(
  deps: RefreshDeps,
  grant: RefreshGrant,
  options: RefreshOptions = DEFAULT_REFRESH_OPTIONS,
): TokenService {
  const secrets = new SecretCache();
  return {
    refresher: new SingleFlightRefresher(deps, grant, options, secrets),
    secrets,
    reads: new StampedReadCache(deps.store.changes),
  };
}
