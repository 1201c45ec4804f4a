import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Store } from '../../store/open.ts';
import { type ServerClockSample, sampleServerClock } from './clock-skew.ts';

/** How often an instance reads the database server's clock again, against the drift of its own monotonic clock. */
export const LEASE_CLOCK_SYNC_INTERVAL_MS = 10 * 60_000;
/** How soon it tries again while it has no reading at all (the database was down at start). */
const RETRY_UNSYNCHRONISED_MS = 10_000;
/** Readings per synchronisation, on one connection after a warm-up query: the shortest round trip is kept. */
const SAMPLES = 3;
/** A round trip short enough to stop sampling early. */
const GOOD_ROUND_TRIP_MS = 20;
/** A reading slower than this replaces an earlier one only if there is none: it is good to half its round trip. */
const MAX_TRUSTED_ROUND_TRIP_MS = 500;
/**
 * How far the wall clock and the monotonic clock may drift apart since a reading before it is read again at once.
 * They part when the machine was suspended (the monotonic clock stops; a resumed VM's wall clock is set right) or the
 * wall clock was stepped (NTP): which of the two is right is not known until the server has been read again.
 */
const MAX_CLOCK_DIVERGENCE_MS = 1_000;

interface Anchor {
  serverMs: number;
  monotonicMs: number;
  /** This instance's clock at the reading. */
  wallMs: number;
}

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
export class LeaseClock {
  #anchor: Anchor | undefined;
  #lastSkewMs: number | null = null;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<number | null> | undefined;
  #stopped = false;

  constructor(
    private readonly store: Pick<Store, 'db' | 'engine'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * Now, in whole milliseconds (every stored time is an integer): the server's clock when a reading is in force,
   * this instance's clock otherwise. When the machine's two clocks have parted since the reading (a suspend, a step),
   * the server is read again first.
   */
  async now(): Promise<number> {
    const anchor = this.#anchor;
    if (anchor === undefined) return this.clock.now();
    const sinceReading = performance.now() - anchor.monotonicMs;
    if (Math.abs(this.clock.now() - anchor.wallMs - sinceReading) <= MAX_CLOCK_DIVERGENCE_MS) {
      return Math.round(anchor.serverMs + sinceReading);
    }
    try {
      await this.synchronise();
    } catch (error) {
      this.log.warn(
        { err: error },
        'could not read the database clock again; leases use this clock meanwhile',
      );
      this.#anchor = undefined;
      return this.clock.now();
    }
    const fresh = this.#anchor;
    return fresh === undefined
      ? this.clock.now()
      : Math.round(fresh.serverMs + (performance.now() - fresh.monotonicMs));
  }

  /** How far this instance's clock was ahead of the server's at the last reading; null before one, or on SQLite. */
  get lastSkewMs(): number | null {
    return this.#lastSkewMs;
  }

  /**
   * Reads the server's clock and counts lease time from it. Returns this instance's skew (null on SQLite). Throws when
   * the database cannot answer, keeping the last reading. Concurrent callers share one reading.
   */
  synchronise(): Promise<number | null> {
    this.#inFlight ??= this.#read().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #read(): Promise<number | null> {
    if (this.store.engine.kind !== 'postgres') return null;
    const best = await this.store.db.connection().execute(async (db) => {
      // The first query on a connection may pay for its set-up: not part of a reading.
      await sampleServerClock(db, this.store.engine, this.clock);
      let best: ServerClockSample | null = null;
      for (let sample = 0; sample < SAMPLES && !this.#stopped; sample++) {
        const reading = await sampleServerClock(db, this.store.engine, this.clock);
        if (reading !== null && (best === null || reading.roundTripMs < best.roundTripMs)) best = reading;
        if (best !== null && best.roundTripMs <= GOOD_ROUND_TRIP_MS) break;
      }
      return best;
    });
    if (best === null) return this.#lastSkewMs;
    if (best.roundTripMs > MAX_TRUSTED_ROUND_TRIP_MS) {
      this.log.warn(
        { roundTripMs: Math.round(best.roundTripMs) },
        `reading the database clock took ${Math.round(best.roundTripMs)} ms` +
          (this.#anchor === undefined
            ? ': lease times may be off by half of that'
            : ': the last reading is kept'),
      );
      if (this.#anchor !== undefined) return best.skewMs;
    }
    this.#anchor = {
      serverMs: best.serverMs,
      monotonicMs: best.monotonicMs,
      wallMs: best.skewMs + best.serverMs,
    };
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

  /** Stops reading the server's clock; resolves once a reading in progress has ended, before the store may close. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight?.catch(() => undefined);
  }
}
