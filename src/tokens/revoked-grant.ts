import type { AppContext } from '../context.ts';
import { probeAccountIdentity } from '../oauth/account-identity.ts';
import type { ProviderEntry } from '../providers/catalog-schema.ts';
import type { ConnectedAccountTable } from '../store/schema.ts';
import type { FreshAccount, SingleFlightRefresher } from './refresh/single-flight.ts';

/**
 * Tells a revoked grant from a 401 that is not about the grant, for tokens nothing can renew.
 *
 * A provider's 401 on a token with a refresh token is settled by refreshing: a dead grant answers `invalid_grant`.
 * A token with no refresh token (GitHub OAuth apps, Shopify, Intercom, Mailchimp, Google without offline access)
 * has nothing to try, and a single 401 does not prove the user revoked it: some providers answer 401 for a missing
 * scope or a wrong instance, and marking a good connection broken would send its user through the connect flow for
 * nothing. So the token is shown to the provider's identity endpoint (the catalog's `account` block), which accepted
 * it at connect time: only a 401 there too marks the connection `needs_reauthorization` (reason `token_revoked`,
 * with its event).
 *
 * Asked only for tokens whose identity was read with that very token: obtained by Pipes' own connect flow
 * (`token_issued_at` set; tokens put through the API or imported have none) with the identity read then
 * (`account_identifier` set). An endpoint that never accepted the token (a scope it lacks) proves nothing by
 * refusing it now. The identity call gets the connection's own config, as at connect time. One probe at a time per
 * token, shared by concurrent callers; after a probe that did not confirm the revocation, none for that token for a
 * minute, so a provider that keeps answering 401 to some call costs one identity call a minute, not one per call.
 */
export class RevokedGrantCheck {
  static readonly QUIET_MS = 60_000;
  /** Tokens remembered as recently probed; past it the oldest are forgotten (worst case: one more probe each). */
  static readonly LIMIT = 10_000;

  readonly #inFlight = new Map<string, Promise<FreshAccount | null>>();
  readonly #quietUntil = new Map<string, number>();

  constructor(
    private readonly ctx: Pick<AppContext, 'providerHttp' | 'log' | 'clock'>,
    private readonly refresher: SingleFlightRefresher,
  ) {}

  /**
   * After the provider refused `accessToken` and a refresh had nothing new to give: the connection as it now is when
   * the revocation was confirmed (`needs_reauthorization`, or `fresh` with other tokens when it was reconnected
   * meanwhile), or null when it was not (not eligible, probed a moment ago, or the identity endpoint accepted the
   * token or could not tell).
   */
  async confirm(
    row: ConnectedAccountTable,
    provider: ProviderEntry,
    config: Readonly<Record<string, string>>,
    accessToken: string,
  ): Promise<FreshAccount | null> {
    if (!this.#eligible(row, provider)) return null;
    // Per token, not per connection: a reconnected connection's new token is judged on its own.
    const key = `${row.id}:${row.generation}:${row.token_version}`;
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    if ((this.#quietUntil.get(key) ?? 0) > this.ctx.clock.now()) return null;
    const probe = this.#probe(key, row, provider, config, accessToken).finally(() =>
      this.#inFlight.delete(key),
    );
    this.#inFlight.set(key, probe);
    return probe;
  }

  #eligible(row: ConnectedAccountTable, provider: ProviderEntry): boolean {
    return (
      row.state === 'connected' &&
      row.auth_method === 'oauth' &&
      !this.refresher.canRenew(row) &&
      row.token_issued_at !== null &&
      row.account_identifier !== null &&
      provider.account?.source === 'userinfo'
    );
  }

  async #probe(
    key: string,
    row: ConnectedAccountTable,
    provider: ProviderEntry,
    config: Readonly<Record<string, string>>,
    accessToken: string,
  ): Promise<FreshAccount | null> {
    const verdict = await probeAccountIdentity(this.ctx, { provider, config, accessToken });
    // Deleted first so that a key set again goes to the end: a Map keeps insertion order, and its first key is then
    // the one probed longest ago, the one forgotten when the memory is full.
    this.#quietUntil.delete(key);
    if (verdict === 'refused') return this.refresher.markRevoked(row);
    if (this.#quietUntil.size >= RevokedGrantCheck.LIMIT) {
      const oldest = this.#quietUntil.keys().next();
      if (oldest.done !== true) this.#quietUntil.delete(oldest.value);
    }
    this.#quietUntil.set(key, this.ctx.clock.now() + RevokedGrantCheck.QUIET_MS);
    return null;
  }
}
