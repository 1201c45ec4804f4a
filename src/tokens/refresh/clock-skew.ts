import { type Kysely, sql } from 'kysely';
import type { AppContext } from '../../context.ts';
import type { Clock } from '../../lib/clock.ts';
import type { StoreEngine } from '../../store/engine.ts';
import type { Store } from '../../store/open.ts';

/**
 * Past this skew against the database server's clock an instance warns. Refresh leases are corrected for any skew
 * (lease-clock.ts), but token expiry, refresh schedules and webhook retries follow each instance's own clock.
 */
export const MAX_CLOCK_SKEW_MS = 2_000;

/** One reading of the PostgreSQL server's clock. */
export interface ServerClockSample {
  /** The server's time, in milliseconds since the epoch. */
  serverMs: number;
  /** `performance.now()` at the midpoint of the query's round trip, when the server's time is taken to hold. */
  monotonicMs: number;
  /** How long the query took: the reading is good to half of it. */
  roundTripMs: number;
  /** How far `clock` is ahead of (positive) or behind (negative) the server's clock. */
  skewMs: number;
}

/**
 * Reads the PostgreSQL server's clock (`clock_timestamp()`, the time the statement runs, not its transaction's start);
 * null on SQLite (every instance on one file shares the machine's clock). The server's time is taken to hold at the
 * midpoint of the round trip, so the round trip is not counted as skew. `db` should be one connection already in
 * hand (`db.connection()`): a wait for a pooled connection would count as round trip, all of it before the server
 * read its clock.
 */
export async function sampleServerClock<DB>(
  db: Kysely<DB>,
  engine: StoreEngine,
  clock: Clock,
): Promise<ServerClockSample | null> {
  if (engine.kind !== 'postgres') return null;
  const before = clock.now();
  const monotonicBefore = performance.now();
  const result = await sql<{ server_ms: number | string }>`
    select round(extract(epoch from clock_timestamp()) * 1000)::bigint as server_ms`.execute(db);
  const monotonicAfter = performance.now();
  const after = clock.now();
  const serverMs = Number(result.rows[0]?.server_ms);
  return {
    serverMs,
    monotonicMs: (monotonicBefore + monotonicAfter) / 2,
    roundTripMs: monotonicAfter - monotonicBefore,
    skewMs: Math.round((before + after) / 2 - serverMs),
  };
}

/** How far `clock` is ahead of (positive) or behind (negative) the PostgreSQL server's clock; null on SQLite. */
export async function measureClockSkew(
  store: Pick<Store, 'db' | 'engine'>,
  clock: Clock,
): Promise<number | null> {
  if (store.engine.kind !== 'postgres') return null;
  return store.db
    .connection()
    .execute(async (db) => (await sampleServerClock(db, store.engine, clock))?.skewMs ?? null);
}

/** "3.2 s ahead of" / "3.2 s behind": a skew in words. */
export function describeClockSkew(skewMs: number): string {
  return `${(Math.abs(skewMs) / 1000).toFixed(1)} s ${skewMs >= 0 ? 'ahead of' : 'behind'}`;
}

/**
 * At start-up on PostgreSQL: measures this instance's clock against the database server's, corrects the lease clock
 * by it (unless `leaseClock` is `'local'`) and keeps correcting it, and warns, naming the skew, when it is over
 * `MAX_CLOCK_SKEW_MS`. Only a warning: the instance still works, and a failed comparison never stops a start.
 */
export async function synchroniseClocks(
  ctx: Pick<AppContext, 'store' | 'clock' | 'log' | 'leaseClock'>,
  leaseClock: 'database' | 'local' = 'database',
): Promise<number | null> {
  const correct = leaseClock === 'database';
  let skewMs: number | null;
  try {
    skewMs = correct ? await ctx.leaseClock.synchronise() : await measureClockSkew(ctx.store, ctx.clock);
  } catch (error) {
    ctx.log.warn({ err: error }, 'could not compare this instance clock with the database clock');
    skewMs = null;
  }
  if (correct) ctx.leaseClock.keepSynchronised();
  if (skewMs !== null && Math.abs(skewMs) > MAX_CLOCK_SKEW_MS) {
    ctx.log.warn(
      { clockSkewMs: skewMs },
      `this instance's clock is ${describeClockSkew(skewMs)} the database server's (more than ${MAX_CLOCK_SKEW_MS / 1000} s). ` +
        'Refresh leases are timed on the database clock, but token expiry, refresh schedules and webhook retries ' +
        'follow this clock. Synchronise the clocks (NTP).',
    );
  }
  return skewMs;
}
