import { type Clock, systemClock } from '../../lib/clock.ts';
import type { Store } from '../../store/open.ts';
import { describeClockSkew, MAX_CLOCK_SKEW_MS, measureClockSkew } from '../../tokens/refresh/clock-skew.ts';
import { type CheckResult, check } from './report.ts';

/**
 * This machine's clock against the PostgreSQL server's. Leases are timed on the server's clock
 * (lease-time.ts), but token expiry, refresh schedules and webhook retries follow each instance's own clock. The
 * doctor measures the machine it runs on: run it on each instance's machine (every instance also warns at start).
 */
export async function checkClock(store: Store, clock: Clock = systemClock): Promise<CheckResult> {
  const skewMs = await measureClockSkew(store, clock).catch(() => undefined);
  if (skewMs === null) {
    return check(
      'clock',
      'Clock',
      'skip',
      "Not needed on SQLite: every instance runs on this machine's clock.",
    );
  }
  if (skewMs === undefined) {
    return check(
      'clock',
      'Clock',
      'warn',
      "Could not read the database server's time.",
      'Run the doctor again.',
    );
  }
  const where = `This machine's clock is ${describeClockSkew(skewMs)} the database server's`;
  return Math.abs(skewMs) <= MAX_CLOCK_SKEW_MS
    ? check('clock', 'Clock', 'pass', `${where}.`)
    : check(
        'clock',
        'Clock',
        'warn',
        `${where}: more than ${MAX_CLOCK_SKEW_MS / 1000} s. Token expiry, refresh schedules and webhook retries follow each machine's own clock.`,
        'Synchronise the clocks of every Pipes machine and the database server (NTP).',
      );
}
