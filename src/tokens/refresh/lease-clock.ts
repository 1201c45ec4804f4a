import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Store } from '../../store/open.ts';
import { type ServerClockSample, sampleServerClock } from './clock-skew.ts';

/** How often an instance reads the database server's clock again, against the drift of its own monotonic clock. */
export const LEASE_CLOCK_SYNC_INTERVAL_MS = 10 * 60_000;
/** How soon it tries again while it has no reading at all (the database was down at start). */
const RETRY_UNSYNCHRONISED_MS = 10_000;
/** Readings per synchronisation: the one with the shortest round trip is kept. */
const SAMPLES = 3;
/** A round trip short enough to stop sampling early. */
const GOOD_ROUND_TRIP_MS = 20;
/** Past this round trip the reading is still used, with a warning: lease times may be off by half of it. */
const MAX_TRUSTED_ROUND_TRIP_MS = 1_000;

/**
 * The time leases are written and judged in: refresh leases (`connected_accounts.lease_until`), webhook delivery
 * claims (`webhook_deliveries.lease_until`) and the retention lease (`leases.expires_at`).
 *
 * Instances sharing a PostgreSQL database run on different machines, and their clocks disagree. Judged by its own
 * clock, an instance whose clock is behind takes a lease that has, for the others, already run out: another instance
 * then takes it too and sends the same rotating refresh token (or the same webhook attempt). So lease times are on the
 * database server's clock, which every instance shares: each instance reads it at start and every
 * `LEASE_CLOCK_SYNC_INTERVAL_MS` after, and counts from that reading with its monotonic clock (`performance.now()`),
 * which a step of the wall clock (NTP, a resumed VM) does not move. A reading is good to half its query's round trip,
 * far inside a lease's slack.
 *
 * Only leases move to the server's clock. Expiry, refresh schedules, cool-downs and webhook retry times stay on this
 * instance's clock: a skew shifts them by the skew, which the refresh margin absorbs, and `synchroniseClocks` warns of
 * a large one.
 *
 * Until a reading succeeds, and always on SQLite (every instance runs on this machine), it is this instance's clock.
 * A test whose manual clock stands still while real time passes never reads the server (`StartOptions.leaseClock:
 * 'local'`): its leases must move with the manual clock.
 */
export class LeaseClock implements Clock {
  #anchor: Pick<ServerClockSample, 'serverMs' | 'monotonicMs'> | undefined;
  #lastSkewMs: number | null = null;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly store: Pick<Store, 'db' | 'engine'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  now(): number {
    const anchor = this.#anchor;
    if (anchor === undefined) return this.clock.now();
    // Whole milliseconds, like every stored time (`lease_until` is a bigint).
    return Math.round(anchor.serverMs + (performance.now() - anchor.monotonicMs));
  }

  /** How far this instance's clock was ahead of the server's at the last reading; null before one, or on SQLite. */
  get lastSkewMs(): number | null {
    return this.#lastSkewMs;
  }

  /**
   * Reads the server's clock (the best of `SAMPLES` readings) and counts lease time from it. Returns this instance's
   * skew (null on SQLite). Throws when the database cannot answer, keeping the last reading.
   */
  async synchronise(): Promise<number | null> {
    let best: ServerClockSample | null = null;
    for (let sample = 0; sample < SAMPLES; sample++) {
      const reading = await sampleServerClock(this.store, this.clock);
      if (reading === null) return null;
      if (best === null || reading.roundTripMs < best.roundTripMs) best = reading;
      if (best.roundTripMs <= GOOD_ROUND_TRIP_MS) break;
    }
    if (best === null) return null;
    if (best.roundTripMs > MAX_TRUSTED_ROUND_TRIP_MS) {
      this.log.warn(
        { roundTripMs: Math.round(best.roundTripMs) },
        `reading the database clock took ${Math.round(best.roundTripMs)} ms: lease times may be off by half of that`,
      );
    }
    this.#anchor = { serverMs: best.serverMs, monotonicMs: best.monotonicMs };
    this.#lastSkewMs = best.skewMs;
    return best.skewMs;
  }

  /**
   * Reads the server's clock again every `intervalMs` (every 10 s while no reading has succeeded) until `stop()`.
   * The timer never keeps the process alive. Nothing to do on SQLite.
   */
  keepSynchronised(intervalMs = LEASE_CLOCK_SYNC_INTERVAL_MS): void {
    if (this.store.engine.kind !== 'postgres' || this.#timer !== undefined || this.#stopped) return;
    const schedule = () => {
      const delay = this.#anchor === undefined ? Math.min(intervalMs, RETRY_UNSYNCHRONISED_MS) : intervalMs;
      this.#timer = setTimeout(() => {
        this.synchronise()
          .catch((error) =>
            this.log.warn({ err: error }, 'could not read the database clock; leases keep the last reading'),
          )
          .finally(() => {
            if (!this.#stopped) schedule();
          });
      }, delay);
      this.#timer.unref();
    };
    schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
