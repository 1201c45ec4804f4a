import { sql } from 'kysely';
import type { AppContext } from '../../context.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Store } from '../../store/open.ts';

/**
 * Refresh leases (`lease_until`) are written and judged by each instance with its own clock. Instances sharing a
 * PostgreSQL database run on different machines: one whose clock is behind believes a lease is still its own after
 * another instance, ahead, has taken it over. Up to this much skew the lease's slack absorbs it.
 */
export const MAX_CLOCK_SKEW_MS = 2_000;

/**
 * How far `clock` is ahead of (positive) or behind (negative) the PostgreSQL server's clock, in milliseconds; null on
 * SQLite (every instance on one file shares the machine's clock). The server's time is compared with the midpoint of
 * the local times before and after the query, so the round trip is not counted as skew.
 */
export async function measureClockSkew(
  store: Pick<Store, 'db' | 'engine'>,
  clock: Clock,
): Promise<number | null> {
  if (store.engine.kind !== 'postgres') return null;
  const before = clock.now();
  const result = await sql<{ server_ms: number | string }>`
    select round(extract(epoch from clock_timestamp()) * 1000)::bigint as server_ms`.execute(store.db);
  const after = clock.now();
  const serverMs = Number(result.rows[0]?.server_ms);
  return Math.round((before + after) / 2 - serverMs);
}

/** "3.2 s ahead of" / "3.2 s behind": a skew in words. */
export function describeClockSkew(skewMs: number): string {
  return `${(Math.abs(skewMs) / 1000).toFixed(1)} s ${skewMs >= 0 ? 'ahead of' : 'behind'}`;
}

/**
 * At start-up on PostgreSQL: a warning naming the skew when this instance's clock is more than `MAX_CLOCK_SKEW_MS`
 * off the database's. Only a warning: the instance still works, and a failed comparison never stops a start.
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
      `this instance's clock is ${describeClockSkew(skewMs)} the database server's (more than ${MAX_CLOCK_SKEW_MS / 1000} s): ` +
        'instances judge token refresh leases by their own clocks, so two of them may refresh one token at once. ' +
        'Synchronise the clocks (NTP).',
    );
  }
  return skewMs;
}
