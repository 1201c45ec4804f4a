import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Store } from '../../store/open.ts';
import { measureClockSkew } from './clock-skew.ts';

/** How often an instance measures its clock against the database server's again (a step of NTP, a resumed VM). */
export const LEASE_CLOCK_SYNC_INTERVAL_MS = 10 * 60_000;
/** A measurement whose query took longer than this is not trusted: the skew is only known to half the round trip. */
const MAX_TRUSTED_ROUND_TRIP_MS = 500;

/**
 * The time leases are written and judged in: refresh leases (`connected_accounts.lease_until`) and webhook delivery
 * claims (`webhook_deliveries.lease_until`).
 *
 * Instances sharing a PostgreSQL database run on different machines, and their clocks disagree. Judged by its own
 * clock, an instance whose clock is behind takes a lease that has, for the others, already run out: another instance
 * then takes it too and sends the same rotating refresh token (or the same webhook attempt). So lease times are on the database server's clock,
 * which every instance shares: each one measures how far its clock is off the server's at start and every
 * `LEASE_CLOCK_SYNC_INTERVAL_MS` after, and corrects by that. The correction is good to half a query's round trip,
 * far inside the lease's slack.
 *
 * Only leases move to the server's clock. Expiry, refresh schedules, cool-downs and webhook retry times stay on this
 * instance's clock: a skew shifts them by the skew, which the refresh margin absorbs, and `synchroniseClocks` warns of a large one.
 *
 * On SQLite every instance runs on this machine: there is nothing to correct. A test whose manual clock stands still
 * while real time passes keeps the correction off (`StartOptions.leaseClock: 'local'`): measured against a moving
 * server clock, a frozen clock would seem to drift.
 */
export class LeaseClock implements Clock {
  #offsetMs = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Pick<Store, 'db' | 'engine'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  now(): number {
    return this.clock.now() - this.#offsetMs;
  }

  /** How far this instance's clock is ahead of the database server's, as last measured (0 before, or on SQLite). */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /**
   * Measures the skew (null on SQLite) and corrects by it. A failed measurement (it throws) or a slow one keeps the
   * last correction: a database that cannot answer a `select` cannot grant a lease either.
   */
  async synchronise(): Promise<number | null> {
    const started = performance.now();
    const skewMs = await measureClockSkew(this.store, this.clock);
    if (performance.now() - started <= MAX_TRUSTED_ROUND_TRIP_MS) this.#offsetMs = skewMs ?? 0;
    return skewMs;
  }

  /** Measures again every `intervalMs` until `stop()`; the timer never keeps the process alive. */
  keepSynchronised(intervalMs = LEASE_CLOCK_SYNC_INTERVAL_MS): void {
    if (this.store.engine.kind !== 'postgres' || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.synchronise().catch((error) =>
        this.log.warn({ err: error }, 'could not compare this instance clock with the database clock'),
      );
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
