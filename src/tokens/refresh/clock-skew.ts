import { sql } from 'kysely';
import type { AppContext } from '../../context.ts';
import type { Clock } from '../../lib/clock.ts';
import { SERVER_NOW } from '../../store/lease-time.ts';
import type { Store } from '../../store/open.ts';

/**
 * Past this skew against the database server's clock an instance warns. Leases are on the database clock whatever the skew
 * (lease-time.ts), but token expiry, refresh schedules and webhook retries follow each instance's own clock.
 */
export const MAX_CLOCK_SKEW_MS = 2_000;

/**
 * How far `clock` is ahead of (positive) or behind (negative) the PostgreSQL server's clock (`clock_timestamp()`), in
 * milliseconds; null on SQLite (every instance on one file shares the machine's clock). The server's time is compared
 * with the midpoint of the local times before and after the query, so the round trip is not counted as skew; the query
 * runs on a connection already in hand, after a warm-up, so that no wait for a pooled connection counts either.
 */
export async function measureClockSkew(
  store: Pick<Store, 'db' | 'engine'>,
  clock: Clock,
): Promise<number | null> {
  if (store.engine.kind !== 'postgres') return null;
  const serverTime = sql<{ server_ms: number | string }>`select ${SERVER_NOW} as server_ms`;
  return store.db.connection().execute(async (db) => {
    await serverTime.execute(db);
    const before = clock.now();
    const result = await serverTime.execute(db);
    const after = clock.now();
    return Math.round((before + after) / 2 - Number(result.rows[0]?.server_ms));
  });
}

/** "3.2 s ahead of" / "3.2 s behind": a skew in words. */
export function describeClockSkew(skewMs: number): string {
  return `${(Math.abs(skewMs) / 1000).toFixed(1)} s ${skewMs >= 0 ? 'ahead of' : 'behind'}`;
}

/**
 * At start-up on PostgreSQL: a warning naming the skew when this instance's clock is more than `MAX_CLOCK_SKEW_MS`
 * off the database server's. Only a warning: the instance still works, and a failed comparison never stops a start.
 */
export async function warnOnClockSkew(
  ctx: Pick<AppContext, 'store' | 'clock' | 'log'>,
): Promise<number | null> {
  let skewMs: number | null;
  try {
    skewMs = await measureClockSkew(ctx.store, ctx.clock);
  } catch (error) {
    ctx.log.warn({ err: error }, 'could not compare this instance clock with the database clock');
    return null;
  }
  if (skewMs !== null && Math.abs(skewMs) > MAX_CLOCK_SKEW_MS) {
    ctx.log.warn(
      { clockSkewMs: skewMs },
      `this instance's clock is ${describeClockSkew(skewMs)} the database server's (more than ${MAX_CLOCK_SKEW_MS / 1000} s). ` +
        'Leases are timed on the database clock, but token expiry, refresh schedules and webhook retries follow this ' +
        'clock. Synchronise the clocks (NTP).',
    );
  }
  return skewMs;
}
