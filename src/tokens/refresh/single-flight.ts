import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import { TOKEN_ENDPOINT_TIMEOUT_MS } from '../../oauth/http.ts';
import { type ProviderTokenSet, TokenEndpointError } from '../../oauth/types.ts';
import type { ConnectedAccountTable, DataIntegrationTable } from '../../store/schema.ts';
import { openAccountSecret, sealAccountSecret } from '../account-secrets.ts';
import { computeExpiry, type ExpiryPolicy, nextRefreshAt, refreshDueAt } from '../expiry.ts';
import { recordAccountEvent } from '../record-account-event.ts';
import { SecretCache } from '../secret-cache.ts';

/**
 * Single-flight refresh of one connected account, across callers in this process and across processes.
 *
 * - In this process, concurrent callers for one account share one promise.
 * - Across processes, a lease on the account row (lease_owner / lease_until / lease_fence, taken with one
 *   compare-and-set UPDATE) admits one refresher; the others wait and re-read.
 * - After taking the lease the row is read again (the CAS returns it): if someone refreshed meanwhile, no call.
 * - Before calling the provider, the attempt is journaled (`refresh_attempt_version`). If the process dies between
 *   the provider's answer and the commit, the next holder finds the journal open and knows the outcome is unknown.
 * - The commit is a compare-and-set on (token_version, lease_fence, generation): a holder that was fenced out, an
 *   account re-authorized meanwhile (new generation) or deleted, all make the write match zero rows.
 * - Between the provider's answer and that commit there is only parsing, sealing and one UPDATE (R-L5).
 */

/** How a refresh grant is made against the provider; the OAuth client implements it. */
export type RefreshGrant = (input: {
  account: ConnectedAccountTable;
  integration: DataIntegrationTable;
  /** The refresh token read under the lease; null for client-credentials accounts (a new grant is made). */
  refreshToken: string | null;
}) => Promise<{ tokens: ProviderTokenSet; expiry: ExpiryPolicy }>;

export interface RefreshOptions {
  /**
   * Lease time-to-live. Each provider call needs `LEASE_NEEDED_PER_ATTEMPT_MS` of it left, so a lease shorter than
   * that sends nothing (`PIPES_REFRESH_LEASE_MS` has a minimum for this reason).
   */
  leaseTtlMs: number;
  /** How long a caller waits for another process's refresh before giving up with a 503. */
  maxWaitMs: number;
  /** Pause between two looks at a lease held by someone else. */
  pollMs: number;
  /** Immediate retries of a transient failure with the same refresh token, under the same lease. */
  transientRetries: number;
  /** After a failed refresh, callers are not sent to the provider again for this long (no hot loop). */
  cooldownMs: number;
  /**
   * A token Pipes obtained less than this long ago is not refreshed because a provider answered 401 to it. A token
   * that new was not refused for its age (a provider that says 401 for a missing scope or a wrong instance does so
   * on every call), and refreshing on each such 401 would call the token endpoint, and rotate the refresh token, once
   * per relayed call.
   */
  rejectedTokenMinAgeMs: number;
}

export const DEFAULT_REFRESH_OPTIONS: RefreshOptions = {
  leaseTtlMs: 30_000,
  maxWaitMs: 20_000,
  pollMs: 40,
  transientRetries: 2,
  cooldownMs: 30_000,
  rejectedTokenMinAgeMs: 30_000,
};

export type RefreshReason =
  /** The token is expired or within its margin. */
  | { kind: 'expiry' }
  /** The background refresher's keep-alive or ahead-of-expiry run: refresh if `next_refresh_at` is due. */
  | { kind: 'scheduled' }
  /** The background refresher claimed this token version: refresh unless someone already replaced it. */
  | { kind: 'forced'; staleVersion: number }
  /**
   * A provider said 401 to this token version: refresh unless someone already replaced it, or Pipes obtained it
   * less than `rejectedTokenMinAgeMs` ago.
   */
  | { kind: 'rejected'; staleVersion: number };

export type FreshAccount =
  | { kind: 'fresh'; row: ConnectedAccountTable; accessToken: string }
  | { kind: 'needs_reauthorization'; row: ConnectedAccountTable };

/** What the refresher needs from the context. */
export type RefreshDeps = Pick<AppContext, 'store' | 'vault' | 'clock' | 'leaseTime' | 'log' | 'failpoints'>;

/**
 * A provider call is sent only while at least this much of the lease is left: the call may take the whole token
 * request timeout, and its answer must be committed (a few writes; the slack) before the lease ends. A call that
 * outlived the lease could overlap another instance's call with the same refresh token, which a rotating provider
 * answers by revoking the grant.
 */
export const LEASE_SLACK_MS = 2_000;
export const LEASE_NEEDED_PER_ATTEMPT_MS = TOKEN_ENDPOINT_TIMEOUT_MS + LEASE_SLACK_MS;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The longest pause between two immediate retries under one lease. */
const MAX_RETRY_PAUSE_MS = 2_000;

export class SingleFlightRefresher {
  private readonly inFlight = new Map<string, Promise<FreshAccount>>();
  private readonly owner: string;

  constructor(
    private readonly ctx: RefreshDeps,
    private readonly refreshGrant: RefreshGrant,
    private readonly options: RefreshOptions = DEFAULT_REFRESH_OPTIONS,
    private readonly secrets: SecretCache = new SecretCache(),
  ) {
    this.owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Returns a usable access token for the account, refreshing it first when the reason calls for it. */
  async ensureFresh(
    account: ConnectedAccountTable,
    reason: RefreshReason = { kind: 'expiry' },
  ): Promise<FreshAccount> {
    if (account.state === 'needs_reauthorization') return { kind: 'needs_reauthorization', row: account };
    if (expiredForGood(account, this.ctx.clock.now())) return this.markExpired(account, reason);
    if (!this.wantsRefresh(account, reason, this.ctx.clock.now())) return this.present(account);
    const key = account.id;
    const running = this.inFlight.get(key);
    if (running) return running;
    const promise = this.refreshAcrossProcesses(account.id, reason).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }

  /**
   * Until when `ensureFresh(row)` hands out the stored token as it is, with no refresh: the moment the token enters
   * its refresh margin (never, for a token that does not expire; its expiry, for one that cannot be renewed). A
   * client-credentials row without a token is due at once. Vending memoizes its answers up to this moment
   * (src/store/stamped-memo.ts).
   */
  freshUntil(row: ConnectedAccountTable): number {
    // A token nothing can renew is handed out as it is until it expires, and never after (`expiredForGood`).
    if (!canRenew(row)) return row.expires_at ?? Number.POSITIVE_INFINITY;
    // No refresh token for client credentials: a new grant replaces the token when it is missing or due.
    if (row.auth_method === 'client_credentials' && row.access_token === null)
      return Number.NEGATIVE_INFINITY;
    return refreshDueAt(row.expires_at, tokenIssuedAt(row));
  }

  private wantsRefresh(row: ConnectedAccountTable, reason: RefreshReason, now: number): boolean {
    if (row.state !== 'connected') return false;
    if (this.freshUntil(row) <= now) return true;
    switch (reason.kind) {
      case 'expiry':
        return false;
      case 'scheduled':
        // Keep-alive and ahead-of-expiry runs; client-credentials tokens are only renewed when due.
        return (
          row.auth_method === 'oauth' &&
          canRenew(row) &&
          row.next_refresh_at !== null &&
          row.next_refresh_at <= now
        );
      case 'forced':
        return canRenew(row) && row.token_version === reason.staleVersion;
      default:
        return (
          canRenew(row) &&
          row.token_version === reason.staleVersion &&
          (row.token_issued_at === null || now - row.token_issued_at >= this.options.rejectedTokenMinAgeMs)
        );
    }
  }

  private present(row: ConnectedAccountTable): FreshAccount {
    if (row.state !== 'connected' || expiredForGood(row, this.ctx.clock.now()))
      return { kind: 'needs_reauthorization', row };
    const accessToken = this.secrets.open(this.ctx.vault, row, 'access_token', row.access_token);
    if (accessToken === null) return { kind: 'needs_reauthorization', row };
    return { kind: 'fresh', row, accessToken };
  }

  /**
   * A connected token that expired with nothing to renew it (no refresh token: Google without offline access, a
   * sandbox grant without `offline_access`, an import without one) is marked as needing reauthorization, with its
   * event, once: a compare-and-set on the version the caller read, like an `invalid_grant`.
   */
  private async markExpired(row: ConnectedAccountTable, reason: RefreshReason): Promise<FreshAccount> {
    return this.markDead(row, 'token_expired', reason);
  }

  /**
   * A token nothing can renew, which the provider has refused and whose identity endpoint refused too
   * (src/tokens/revoked-grant.ts): the user revoked the grant. Marked like an expired one, with reason
   * `token_revoked`; a connection whose tokens changed meanwhile (reconnected) is served as it now is.
   */
  async markRevoked(row: ConnectedAccountTable): Promise<FreshAccount> {
    return this.markDead(row, 'token_revoked', { kind: 'expiry' });
  }

  /** Whether anything can renew this connection's token: a refresh token, or a client-credentials grant. */
  canRenew(row: ConnectedAccountTable): boolean {
    return canRenew(row);
  }

  private async markDead(
    row: ConnectedAccountTable,
    why: 'token_expired' | 'token_revoked',
    reason: RefreshReason,
  ): Promise<FreshAccount> {
    const marked = await this.markNeedsReauthorization(row, why, null, {});
    if (marked) return { kind: 'needs_reauthorization', row: marked };
    // Changed meanwhile (new tokens, marked by another caller, deleted): decide again on the row as it now is.
    const current = await this.readRow(row.id);
    if (!current)
      throw new PipesError('connected_account_not_found', 'Connected account not found.', { status: 404 });
    return this.ensureFresh(current, reason);
  }

  private async readRow(id: string): Promise<ConnectedAccountTable | undefined> {
    return this.ctx.store.db
      .selectFrom('connected_accounts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
  }

  private async refreshAcrossProcesses(id: string, reason: RefreshReason): Promise<FreshAccount> {
    const { db } = this.ctx.store;
    const started = this.ctx.clock.now();
    for (;;) {
      const now = this.ctx.clock.now();
      const current = await this.readRow(id);
      if (!current)
        throw new PipesError('connected_account_not_found', 'Connected account not found.', { status: 404 });
      if (!this.wantsRefresh(current, reason, now)) return this.present(current);
      if (current.refresh_cooldown_until !== null && current.refresh_cooldown_until > now) {
        return this.unavailable(current, current.refresh_cooldown_until - now);
      }
      // Take the lease: one compare-and-set, atomic on both engines. It returns the row as it is now. Lease times are
      // on the database server's clock, which every instance shares (lease-time.ts).
      const { leaseTime } = this.ctx;
      const leased = await db
        .updateTable('connected_accounts')
        .set((eb) => ({
          lease_owner: this.owner,
          lease_until: leaseTime.after(this.options.leaseTtlMs),
          lease_fence: eb('lease_fence', '+', 1),
        }))
        .where('id', '=', id)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', leaseTime.now())]))
        .returningAll()
        .executeTakeFirst();
      if (leased) return this.refreshUnderLease(leased, reason);
      if (now - started > this.options.maxWaitMs) {
        throw new PipesError(
          'refresh_in_progress',
          'Another instance is refreshing this token; retry shortly.',
          {
            status: 503,
            headers: { 'Retry-After': '1' },
          },
        );
      }
      await sleep(this.options.pollMs + Math.random() * this.options.pollMs);
    }
  }

  private async refreshUnderLease(row: ConnectedAccountTable, reason: RefreshReason): Promise<FreshAccount> {
    const { db } = this.ctx.store;
    const fence = row.lease_fence;
    const release = () => this.releaseLease(row.id, fence);
    try {
      // Double check under the lease: another process may have refreshed between our read and the lease.
      if (!this.wantsRefresh(row, reason, this.ctx.clock.now())) return this.present(row);
      const outcomeUnknown =
        row.refresh_attempt_version !== null && row.refresh_attempt_version === row.token_version;
      const integration = await db
        .selectFrom('data_integrations')
        .selectAll()
        .where('id', '=', row.data_integration_id)
        .executeTakeFirst();
      if (!integration) return this.present(row);
      // Always the refresh token just read under the lease, never a cached one (R-L3).
      const refreshToken = openAccountSecret(this.ctx.vault, row, 'refresh_token', row.refresh_token);
      if (refreshToken === null && row.auth_method === 'oauth') return this.present(row);

      const journaled = await db
        .updateTable('connected_accounts')
        .set({ refresh_attempt_version: row.token_version, refresh_attempt_started_at: this.ctx.clock.now() })
        .where('id', '=', row.id)
        .where('lease_fence', '=', fence)
        .where('lease_until', '>', this.ctx.leaseTime.now())
        .executeTakeFirst();
      if (Number(journaled.numUpdatedRows) !== 1) return this.afterLosingLease(row.id, fence);
      await this.ctx.failpoints.hit('before_provider_call');

      // Undefined after the loop only when no call was sent (too little of the lease was left).
      let lastError: TokenEndpointError | undefined;
      // An earlier attempt under this lease may have reached the provider: a later invalid_grant is then ambiguous.
      let sawAmbiguous = false;
      for (let attempt = 0; attempt <= this.options.transientRetries; attempt++) {
        // The lease is re-checked right before every call, the first included: a holder that stalled past its lease
        // (a GC pause, SIGSTOP) must not send a refresh token that another instance may have rotated since (R-L4).
        const leaseLeftMs = await this.leaseLeftMs(row.id, fence);
        if (leaseLeftMs === null) return await this.afterLosingLease(row.id, fence);
        // And every call, the first included, must be able to finish inside it (`LEASE_NEEDED_PER_ATTEMPT_MS`).
        // Otherwise nothing is sent: the failure cools down like a transient one.
        if (leaseLeftMs < LEASE_NEEDED_PER_ATTEMPT_MS) {
          this.ctx.log[attempt === 0 ? 'warn' : 'debug'](
            { account: row.id, attempt, leaseLeftMs },
            'refresh call not sent: too little of the lease left',
          );
          break;
        }
        try {
          const result = await this.refreshGrant({ account: row, integration, refreshToken });
          await this.ctx.failpoints.hit('after_provider_response');
          return await this.commitSuccess(row, fence, result.tokens, result.expiry);
        } catch (error) {
          if (!(error instanceof TokenEndpointError)) throw error;
          lastError = error;
          if (error.ambiguous) sawAmbiguous = true;
          if (error.kind !== 'transient' && error.kind !== 'malformed') break;
          // A Retry-After longer than a short pause is honoured by the cool-down, never cut short by a retry (R7).
          if (error.retryAfterMs !== null && error.retryAfterMs > MAX_RETRY_PAUSE_MS) break;
          if (attempt < this.options.transientRetries)
            await sleep(Math.min(error.retryAfterMs ?? 200 * 2 ** attempt, MAX_RETRY_PAUSE_MS));
        }
      }
      // For client credentials the tenant's own client id/secret is the grant: invalid_client means it is dead.
      const grantIsDead =
        lastError?.kind === 'invalid_grant' ||
        (row.auth_method === 'client_credentials' && lastError?.kind === 'invalid_client');
      if (lastError && grantIsDead)
        return await this.commitInvalidGrant(row, fence, outcomeUnknown || sawAmbiguous, lastError);
      return await this.commitFailure(row, fence, lastError, outcomeUnknown || sawAmbiguous);
    } finally {
      await release().catch((error) =>
        this.ctx.log.warn({ err: error, account: row.id }, 'could not release refresh lease'),
      );
    }
  }

  /**
   * How much of this holder's lease is left, by the lease clock, read in the same statement that checks the lease is
   * still held; null when it is not. Nothing renews a lease: it ends where the compare-and-set that took it put it.
   */
  private async leaseLeftMs(id: string, fence: number): Promise<number | null> {
    const { leaseTime } = this.ctx;
    const held = await this.ctx.store.db
      .selectFrom('connected_accounts')
      .select(['lease_until', leaseTime.column().as('lease_now')])
      .where('id', '=', id)
      .where('lease_fence', '=', fence)
      .where('lease_until', '>', leaseTime.now())
      .executeTakeFirst();
    return held === undefined ? null : Number(held.lease_until) - Number(held.lease_now);
  }

  private async releaseLease(id: string, fence: number): Promise<void> {
    await this.ctx.store.db
      .updateTable('connected_accounts')
      .set({ lease_until: 0 })
      .where('id', '=', id)
      .where('lease_fence', '=', fence)
      .execute();
  }

  /**
   * After losing the lease or the commit's compare-and-set: the row as it now is. If it still needs a refresh, the
   * instance holding the lease now is refreshing it (or failed to): wait for it, or take over, like any other caller —
   * never hand out the token we found due (R9, T5).
   */
  private async afterLosingLease(id: string, fence: number): Promise<FreshAccount> {
    const current = await this.readRow(id);
    if (!current)
      throw new PipesError('connected_account_not_found', 'Connected account not found.', { status: 404 });
    if (!this.wantsRefresh(current, { kind: 'expiry' }, this.ctx.clock.now())) return this.present(current);
    await this.releaseLease(id, fence);
    return this.refreshAcrossProcesses(id, { kind: 'expiry' });
  }

  private async commitSuccess(
    row: ConnectedAccountTable,
    fence: number,
    tokens: ProviderTokenSet,
    policy: ExpiryPolicy,
  ): Promise<FreshAccount> {
    const now = this.ctx.clock.now();
    // A response without a refresh token keeps the old one (RFC 6749 §6); a new one replaces it in this same write.
    const hasRefresh = tokens.refreshToken !== null || row.refresh_token !== null;
    const expiry = computeExpiry(tokens.expiresIn, policy, hasRefresh, now);
    const updated = await this.ctx.store.db
      .updateTable('connected_accounts')
      .set((eb) => ({
        access_token: sealAccountSecret(this.ctx.vault, row, 'access_token', tokens.accessToken),
        ...(tokens.refreshToken !== null
          ? { refresh_token: sealAccountSecret(this.ctx.vault, row, 'refresh_token', tokens.refreshToken) }
          : {}),
        ...(tokens.scopes !== null ? { scopes: JSON.stringify(tokens.scopes) } : {}),
        expires_at: expiry.expiresAt,
        expiry_kind: expiry.kind,
        token_version: eb('token_version', '+', 1),
        refresh_attempt_version: null,
        refresh_attempt_started_at: null,
        last_refresh_at: now,
        token_issued_at: now,
        last_refresh_outcome: 'refreshed',
        last_refresh_error: null,
        refresh_failures: 0,
        refresh_cooldown_until: null,
        next_refresh_at: nextRefreshAt(expiry.expiresAt, now, hasRefresh, now),
        updated_at: now,
      }))
      .where('id', '=', row.id)
      .where('token_version', '=', row.token_version)
      .where('generation', '=', row.generation)
      .where('lease_fence', '=', fence)
      .returningAll()
      .executeTakeFirst();
    if (!updated) {
      // Fenced out, re-authorized or deleted meanwhile: this result is discarded and the row as it is wins.
      this.ctx.log.warn(
        { account: row.id },
        'refresh result discarded: the account changed during the refresh',
      );
      return this.afterLosingLease(row.id, fence);
    }
    return this.present(updated);
  }

  /**
   * `invalid_grant` is final only for the token version we refreshed with: re-read first (R-L8). Marking the account
   * and writing its event is one compare-and-set transaction, so the event is emitted exactly once.
   */
  private async commitInvalidGrant(
    row: ConnectedAccountTable,
    fence: number,
    outcomeUnknown: boolean,
    error: TokenEndpointError,
  ): Promise<FreshAccount> {
    const now = this.ctx.clock.now();
    const reason = outcomeUnknown ? 'refresh_outcome_unknown' : 'invalid_grant';
    const marked = await this.markNeedsReauthorization(row, reason, fence, {
      refresh_attempt_version: null,
      refresh_attempt_started_at: null,
      last_refresh_at: now,
      last_refresh_outcome: 'invalid_grant',
      last_refresh_error: describeProviderError(error),
    });
    if (!marked) return this.afterLosingLease(row.id, fence);
    return { kind: 'needs_reauthorization', row: marked };
  }

  /**
   * Marks the account as needing reauthorization and writes its event, in one transaction whose compare-and-set
   * matches the token version and generation read (and the lease fence, under a lease), so the event is emitted
   * once. Undefined when the row changed meanwhile.
   */
  private async markNeedsReauthorization(
    row: ConnectedAccountTable,
    reason: string,
    fence: number | null,
    fields: Partial<Omit<ConnectedAccountTable, 'id'>>,
  ): Promise<ConnectedAccountTable | undefined> {
    const now = this.ctx.clock.now();
    const marked = await this.ctx.store.db.transaction().execute(async (trx) => {
      let update = trx
        .updateTable('connected_accounts')
        .set({
          ...fields,
          state: 'needs_reauthorization',
          reauthorization_reason: reason,
          next_refresh_at: null,
          updated_at: now,
        })
        .where('id', '=', row.id)
        .where('token_version', '=', row.token_version)
        .where('generation', '=', row.generation)
        .where('state', '=', 'connected');
      if (fence !== null) update = update.where('lease_fence', '=', fence);
      const updated = await update.returningAll().executeTakeFirst();
      if (!updated) return undefined;
      await recordAccountEvent(trx, updated, 'pipes.connected_account.reauthorization_needed', now);
      return updated;
    });
    if (marked) this.ctx.log.info({ account: row.id, reason }, 'connected account needs reauthorization');
    return marked;
  }

  /**
   * A transient, ambiguous or unexpected failure never marks the account broken. It cools down so callers do not
   * hammer the provider, keeps the journal when the outcome is unknown (a crash-like case for the next holder), and
   * still hands out the current token while it has not expired. `error` is undefined when no call was sent because
   * too little of the lease was left.
   */
  private async commitFailure(
    row: ConnectedAccountTable,
    fence: number,
    error: TokenEndpointError | undefined,
    outcomeUnknown: boolean,
  ): Promise<FreshAccount> {
    const now = this.ctx.clock.now();
    const cooldown = Math.max(this.options.cooldownMs, error?.retryAfterMs ?? 0);
    // Any attempt that may have reached the provider (this holder's or a crashed one's) leaves the outcome unknown,
    // whatever the last attempt said.
    const keepJournal = outcomeUnknown || error?.ambiguous === true;
    await this.ctx.store.db
      .updateTable('connected_accounts')
      .set((eb) => ({
        ...(keepJournal ? {} : { refresh_attempt_version: null, refresh_attempt_started_at: null }),
        last_refresh_at: now,
        last_refresh_outcome: error?.kind ?? 'not_sent',
        last_refresh_error: error
          ? describeProviderError(error)
          : 'not sent: too little of the refresh lease was left for a provider call',
        refresh_failures: eb('refresh_failures', '+', 1),
        refresh_cooldown_until: now + cooldown,
        next_refresh_at: now + cooldown,
        updated_at: now,
      }))
      .where('id', '=', row.id)
      // Only the grant this holder refreshed: one re-authorized or replaced meanwhile keeps its clean state.
      .where('token_version', '=', row.token_version)
      .where('generation', '=', row.generation)
      .where('lease_fence', '=', fence)
      .execute();
    const current = (await this.readRow(row.id)) ?? row;
    return this.unavailable(current, cooldown, error);
  }

  private unavailable(
    row: ConnectedAccountTable,
    retryInMs: number,
    error?: TokenEndpointError,
  ): FreshAccount {
    const now = this.ctx.clock.now();
    if (row.state !== 'connected') return { kind: 'needs_reauthorization', row };
    if (row.expires_at === null || row.expires_at > now) return this.present(row);
    const seconds = Math.max(1, Math.ceil(retryInMs / 1000));
    if (error?.kind === 'invalid_client') {
      throw new PipesError(
        'provider_rejected_client',
        `The provider rejected this integration's client credentials while refreshing (${error.providerError ?? 'invalid_client'}). ` +
          'Check the client id and secret configured for the integration.',
        { status: 502, headers: { 'Retry-After': String(seconds) } },
      );
    }
    throw new PipesError(
      'refresh_temporarily_unavailable',
      `The provider could not refresh this token just now; retry in ${seconds} s. The connection is kept.`,
      { status: 503, headers: { 'Retry-After': String(seconds) } },
    );
  }
}

/** A short, secret-free description of a provider error for the account's refresh log. */
function describeProviderError(error: TokenEndpointError): string {
  const parts = [error.kind, error.providerError, error.providerErrorDescription].filter(
    (p): p is string => !!p,
  );
  return parts.join(': ').slice(0, 500);
}

/** A connected token past its expiry that Pipes cannot renew: it is never handed out again. */
function expiredForGood(row: ConnectedAccountTable, now: number): boolean {
  return row.state === 'connected' && !canRenew(row) && row.expires_at !== null && row.expires_at <= now;
}

/**
 * When the stored token was issued, as far as the refresh margin is concerned: when Pipes obtained it, or, for a token
 * Pipes did not obtain (an import), the connection's creation. Never `last_refresh_at`: a failed attempt moves it.
 */
function tokenIssuedAt(row: ConnectedAccountTable): number {
  return row.token_issued_at ?? row.created_at;
}

/** Whether Pipes can get a new token for this row by itself: a client-credentials grant, or a refresh token. */
function canRenew(row: ConnectedAccountTable): boolean {
  return (
    row.auth_method === 'client_credentials' || (row.auth_method === 'oauth' && row.refresh_token !== null)
  );
}
