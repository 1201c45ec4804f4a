import type { AppContext } from '../context.ts';
import { StampedReadCache } from '../store/stamped-cache.ts';
import {
  DEFAULT_REFRESH_OPTIONS,
  type RefreshDeps,
  type RefreshGrant,
  type RefreshOptions,
  SingleFlightRefresher,
} from './refresh/single-flight.ts';
import { RevokedGrantCheck } from './revoked-grant.ts';
import { SecretCache } from './secret-cache.ts';

export interface TokenService {
  refresher: SingleFlightRefresher;
  /** Confirms with the provider's identity endpoint that a refused token nothing can renew was revoked. */
  revocations: RevokedGrantCheck;
  /** Decrypted secrets of connections, reused while their sealed blob is unchanged (see secret-cache.ts). */
  secrets: SecretCache;
  /** The lookups behind vending (integration, connection), reused while the database is unchanged (SQLite only). */
  reads: StampedReadCache;
}

/** Built once per process, after the rest of the context: the refresher's in-flight map lives here. */
export function createTokenService(
  deps: RefreshDeps & Pick<AppContext, 'providerHttp'>,
  grant: RefreshGrant,
  options: RefreshOptions = DEFAULT_REFRESH_OPTIONS,
): TokenService {
  const secrets = new SecretCache();
  const refresher = new SingleFlightRefresher(deps, grant, options, secrets);
  return {
    refresher,
    revocations: new RevokedGrantCheck(deps, refresher),
    secrets,
    reads: new StampedReadCache(deps.store.changes),
  };
}
