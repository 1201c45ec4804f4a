import { type RawBuilder, sql } from 'kysely';
import type { Clock } from '../lib/clock.ts';
import type { StoreEngine } from './engine.ts';

/** A moment of lease time, in milliseconds since the epoch: a value, or SQL the database evaluates. */
export type LeaseInstant = number | RawBuilder<number>;

/** The PostgreSQL server's clock as the statement runs (`clock_timestamp()`, not its transaction's start). */
export const SERVER_NOW = sql<number>`(round(extract(epoch from clock_timestamp()) * 1000))::bigint`;

/**
 * The time leases are written and judged in: refresh leases (`connected_accounts.lease_until`) and webhook delivery
 * claims (`webhook_deliveries.lease_until`).
 *
 * Instances sharing a PostgreSQL database run on different machines, and their clocks disagree. Judged by its own
 * clock, an instance whose clock is behind takes a lease that has, for the others, already run out: another instance
 * then takes it too and sends the same rotating refresh token (or the same webhook attempt). So on PostgreSQL a lease
 * is taken, checked and timed in the statement itself, on the database server's clock, which every instance shares:
 * no instance's clock, skew, suspend or NTP step enters into it. Hand-written because no library does this for both
 * engines.
 *
 * On SQLite every instance runs on this machine, so its clock is the shared one, passed as a value. So is a test's
 * manual clock (`StartOptions.leaseTime: 'local'`): its leases must move when the test moves the clock.
 *
 * Only these leases are on the server's clock. Expiry, refresh schedules, cool-downs and webhook retry times stay on
 * each instance's clock, where a skew only shifts them; `warnOnClockSkew` names a large one. So does the retention
 * lease (`leases.ts`, one instance purging old events): with a skew of its ten minutes or more two instances may purge
 * at once, which deletes nothing twice.
 */
export class LeaseTime {
  readonly onServer: boolean;

  constructor(
    engine: StoreEngine,
    private readonly clock: Clock,
    source: 'database' | 'local' = 'database',
  ) {
    this.onServer = engine.kind === 'postgres' && source === 'database';
  }

  /** Now, for a `WHERE` or `SET`: read by the statement that uses it. */
  now(): LeaseInstant {
    return this.onServer ? SERVER_NOW : this.clock.now();
  }

  /** `ms` milliseconds after now (a lease's end). */
  after(ms: number): LeaseInstant {
    // Whole milliseconds, like every stored time; on the server inlined as a literal (it comes from configuration).
    const whole = Math.trunc(ms);
    return this.onServer ? sql<number>`(${SERVER_NOW} + ${sql.lit(whole)})` : this.clock.now() + whole;
  }

  /** Now as a selected column, for reading how much of a lease is left in the same statement that checks it. */
  column(): RawBuilder<number> {
    return this.onServer ? SERVER_NOW : sql<number>`cast(${this.clock.now()} as bigint)`;
  }
}
