import type { ChangeStamp } from './change-stamp.ts';
import { SharedStamp } from './shared-stamp.ts';
import { StampedMemo } from './stamped-memo.ts';

/**
 * Query results reused for as long as the database has not changed at all (see change-stamp.ts), so they are never
 * stale: a deleted, disconnected or re-authorized connection, a disabled integration, a refreshed token — any commit,
 * by this process or another — makes every entry miss. On PostgreSQL the stamp is always unknown and every read goes
 * to the database.
 *
 * The stamp is taken before the query runs: a write that lands between the two leaves the entry labelled with the
 * older stamp, so it can only miss, never serve older data under a newer stamp. Values are frozen (shallowly): they
 * are shared by every caller until the next change.
 *
 * The results are kept in a `StampedMemo` (the same stamp rule as vending's answers), without a deadline; a result is
 * boxed so that "nothing found" (`undefined`) is cached too.
 *
 * Bounds: at most `maxEntries` results; past that the cache is simply cleared. What is cached is chosen by the
 * callers (token vending's integration and connection lookups); rows hold ciphertext, never a decrypted secret.
 */
export class StampedReadCache {
  private readonly results: StampedMemo<{ value: unknown }>;
  private readonly shared: SharedStamp;
  /** The latest shared reading, and the snapshot made of it (once, for every request of that turn). */
  private lastShared: { stamp: Promise<number | null>; reads: Promise<StampedReads> } | null = null;

  constructor(
    private readonly changes: ChangeStamp,
    maxEntries = 10_000,
  ) {
    this.results = new StampedMemo(maxEntries);
    this.shared = new SharedStamp(changes);
  }

  /**
   * One stamp for the several lookups of one request: each is still read after the stamp was taken, which is all
   * the labelling needs, and the stamp (a PRAGMA, with its file locks) is taken once instead of per lookup.
   */
  snapshot(): StampedReads {
    return this.at(this.changes.current());
  }

  /**
   * A snapshot whose stamp is shared with the other requests of this turn of the event loop (shared-stamp.ts): the
   * one to use on hot paths, where a request has fully arrived before it asks.
   */
  sharedSnapshot(): Promise<StampedReads> {
    // One snapshot per reading, not per request: the requests of a turn share the stamp, so they share this too.
    const stamp = this.shared.next();
    if (this.lastShared?.stamp !== stamp) {
      this.lastShared = { stamp, reads: stamp.then((value) => this.at(value)) };
    }
    return this.lastShared.reads;
  }

  private at(stamp: number | null): StampedReads {
    return { stamp, read: (key, load) => this.readAt(stamp, key, load) };
  }

  private async readAt<T>(stamp: number | null, key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.results.get(stamp, key, 0);
    if (hit !== undefined) return hit.value as T;
    const value = await load();
    const shared = typeof value === 'object' && value !== null ? Object.freeze(value) : value;
    // No deadline: a lookup only changes with the database.
    this.results.set(stamp, key, { value: shared }, Number.POSITIVE_INFINITY, 0);
    return value;
  }
}

export interface StampedReads {
  /** The change stamp the reads are labelled with; null when nothing may be cached (PostgreSQL). */
  readonly stamp: number | null;
  read<T>(key: string, load: () => Promise<T>): Promise<T>;
}
