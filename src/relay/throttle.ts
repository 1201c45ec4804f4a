/**
 * Keeps relayed calls under a provider's known limits, per instance (R-X7).
 *
 * - A token bucket per provider slug (or per connection of that provider), configured in the config file as
 *   `relay_throttle: { "<slug>": { "requests_per_second": n, "burst": m, "scope": "connection" | "provider" } }`.
 *   A request that finds the bucket empty reserves the next token and waits for it (virtual scheduling), so waiting
 *   callers are served in order and never exceed the rate.
 * - A "hold until" per connection, learned from responses whose rate-limit `remaining` header is 0 (unless the
 *   response names which of several quotas it counted against: `exhaustedUntil`): the next calls wait for the
 *   provider's reset instead of earning a 429.
 * A wait longer than the request's retry budget is not waited: the caller gets a Pipes 429 `relay_throttled`.
 */
export interface ThrottleRule {
  requestsPerSecond: number;
  burst: number;
  scope: 'connection' | 'provider';
}

interface Bucket {
  /** When the bucket will next hold a full token, in "virtual time" (GCRA theoretical arrival time). */
  tat: number;
}

/** The answer for a provider without a rule and a connection without a hold: shared, never mutated. */
const GO_NOW: Readonly<{ waitMs: number; granted: boolean }> = Object.freeze({ waitMs: 0, granted: true });

/** Above this many tracked keys, idle entries are dropped so the maps stay bounded. */
const MAX_KEYS = 10_000;

export class RelayThrottle {
  readonly #rules: ReadonlyMap<string, ThrottleRule>;
  readonly #buckets = new Map<string, Bucket>();
  readonly #holds = new Map<string, number>();

  constructor(rules: Readonly<Record<string, ThrottleRule>>) {
    this.#rules = new Map(Object.entries(rules));
  }

  /**
   * Reserves a slot for one call and returns how long to wait for it (0 = go now). When the wait would be longer
   * than `maxWaitMs`, nothing is reserved and `granted` is false.
   */
  reserve(
    slug: string,
    accountId: string,
    now: number,
    maxWaitMs: number,
  ): Readonly<{ waitMs: number; granted: boolean }> {
    // The usual case, without building a key: nothing configured for this provider and no hold learned at all.
    if (this.#holds.size === 0 && !this.#rules.has(slug)) return GO_NOW;
    const holdKey = `${slug}\u0000${accountId}`;
    let wait = 0;
    const holdUntil = this.#holds.get(holdKey);
    if (holdUntil !== undefined) {
      if (holdUntil <= now) this.#holds.delete(holdKey);
      else wait = holdUntil - now;
    }
    const rule = this.#rules.get(slug);
    if (rule === undefined) return { waitMs: wait, granted: wait <= maxWaitMs };
    // GCRA: one token every `interval`; up to `burst` tokens may be taken at once.
    const interval = 1000 / rule.requestsPerSecond;
    const tolerance = interval * Math.max(0, rule.burst - 1);
    const key = rule.scope === 'provider' ? slug : holdKey;
    const bucket = this.#buckets.get(key);
    const start = now + wait;
    const tat = Math.max(bucket?.tat ?? start, start);
    const bucketWait = Math.max(0, tat - tolerance - now);
    const total = Math.max(wait, bucketWait);
    if (total > maxWaitMs) return { waitMs: total, granted: false };
    if (bucket === undefined) {
      if (this.#buckets.size >= MAX_KEYS) this.#prune(this.#buckets, now, (b) => b.tat);
      this.#buckets.set(key, { tat: tat + interval });
    } else {
      bucket.tat = tat + interval;
    }
    return { waitMs: total, granted: true };
  }

  /** Records that the provider said the quota of this connection is spent until `until` (epoch ms). */
  holdUntil(slug: string, accountId: string, until: number, now: number): void {
    const key = `${slug}\u0000${accountId}`;
    if (this.#holds.size >= MAX_KEYS) this.#prune(this.#holds, now, (t) => t);
    const current = this.#holds.get(key) ?? 0;
    if (until > current) this.#holds.set(key, until);
  }

  #prune<T>(map: Map<string, T>, now: number, expiry: (value: T) => number): void {
    for (const [key, value] of map) if (expiry(value) <= now) map.delete(key);
    // Still full of live entries: forget the oldest half rather than grow without bound.
    if (map.size >= MAX_KEYS) {
      let drop = map.size / 2;
      for (const key of map.keys()) {
        if (drop-- <= 0) break;
        map.delete(key);
      }
    }
  }
}
