import type { Clock } from '../lib/clock.ts';

/**
 * The sandbox's whole persistent state, as a tiny key-value contract.
 *
 * It is deliberately small so that the real Pipes store (SQLite/Postgres) can back it later with one table
 * `(key text primary key, value text, expires_at bigint)`. Values are opaque strings (the sandbox writes JSON);
 * keys never contain a token, code or secret in plaintext, only their sha256 (see `records.ts`).
 *
 * Expired entries must behave as absent. Implementations may purge them lazily.
 */
export interface SandboxStateStore {
  get(key: string): Promise<string | undefined>;
  /** Creates or replaces. `ttlMs` omitted means "no expiry". */
  put(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Returns the value and deletes it in one atomic step: of two concurrent callers, at most one gets the value.
   * This is what makes authorization codes and consent requests single-use.
   */
  takeOnce(key: string): Promise<string | undefined>;
  /**
   * Adds one to a counter and returns the new value, atomically; a missing or expired counter starts at 0 and gets
   * `ttlMs` (omitted = no expiry) as its lifetime; later increments keep the original expiry. Used for rate-limit windows, where a
   * get-then-put would under-count concurrent requests. (SQL: upsert … returning; Redis: INCR + PEXPIRE NX.)
   */
  increment(key: string, ttlMs?: number): Promise<number>;
}

interface Entry {
  value: string;
  expiresAt: number | undefined;
}

/** How many writes between two sweeps of expired entries, so a long-running dev server does not grow forever. */
const SWEEP_EVERY_WRITES = 1000;

/** An in-process store, for tests and single-instance dev servers. Time comes from `clock`, so tests can expire. */
export function createMemorySandboxState(clock: Clock): SandboxStateStore {
  const entries = new Map<string, Entry>();
  let writes = 0;

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  const noteWrite = (): void => {
    writes += 1;
    if (writes % SWEEP_EVERY_WRITES !== 0) return;
    const now = clock.now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) entries.delete(key);
    }
  };

  const expiryFor = (ttlMs: number | undefined): number | undefined => {
    if (ttlMs === undefined) return undefined;
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive number');
    return clock.now() + ttlMs;
  };

  // Every method body is synchronous up to its return, so each one is atomic on Node's single thread.
  return {
    async get(key) {
      return live(key)?.value;
    },
    async put(key, value, ttlMs) {
      entries.set(key, { value, expiresAt: expiryFor(ttlMs) });
      noteWrite();
    },
    async delete(key) {
      entries.delete(key);
    },
    async takeOnce(key) {
      const entry = live(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      return entry.value;
    },
    async increment(key, ttlMs) {
      const entry = live(key);
      const next = entry === undefined ? 1 : Number(entry.value) + 1;
      entries.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? expiryFor(ttlMs) });
      noteWrite();
      return next;
    },
  };
}
