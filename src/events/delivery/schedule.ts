/**
 * The retry schedule: `schedule[i]` is the wait before attempt `i + 1`, counted from the previous attempt (the first
 * entry, 0, means the first attempt goes out as soon as a worker sees the event). Twelve attempts over about three
 * days, close to what WorkOS documents ("up to 12 times with exponential backoff over 3 days") and to the Standard
 * Webhooks / Svix example schedule.
 */
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  1 * HOUR,
  2 * HOUR,
  4 * HOUR,
  6 * HOUR,
  8 * HOUR,
  10 * HOUR,
  14 * HOUR,
  24 * HOUR,
];

/** The longest `Retry-After` honoured: a receiver must not be able to park a delivery for weeks. */
export const MAX_RETRY_AFTER_MS = 24 * HOUR;

/**
 * The wait before the attempt after `attempt` (1-based), or null when the schedule is exhausted. Jitter only adds
 * (up to `jitter` × the delay), so a retry never comes earlier than the schedule says and receivers that recover at
 * the same moment are not hit by every queued delivery at once.
 */
export function retryDelayMs(
  schedule: readonly number[],
  attempt: number,
  jitter: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attempt];
  if (base === undefined) return null;
  return Math.round(base * (1 + jitter * random()));
}

/**
 * Parses `Retry-After` (delay-seconds or an HTTP date) into milliseconds from `now`, capped. Null when absent or
 * unparseable.
 */
export function parseRetryAfterMs(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return null;
    ms = date - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
