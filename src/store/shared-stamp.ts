import type { ChangeStamp } from './change-stamp.ts';

/**
 * One reading of the change stamp for every request that asks in the same turn of the event loop.
 *
 * A request may be answered with the data as it was at any moment between its arrival and its answer: that is what
 * "never stale" means for a cache (a change committed before the request arrived is always seen). So the stamp need
 * not be read once per request. Requests that need it wait for the check phase of the current turn (`setImmediate`),
 * where it is read once for all of them: each of them had arrived by then, and none has been answered.
 *
 * Why it matters: on SQLite the reading is a `PRAGMA data_version`, a read transaction with two file-lock system
 * calls. Measured in the `/token` benchmark it was the largest cost of a vended token (about 17 µs of 61 µs a
 * request under load, bench/tokens.ts). Shared, it costs a fraction of that per request; at one connection it adds
 * one `setImmediate` (the same reading, a microsecond later).
 *
 * Written by hand: this is about Node's event loop and our own stamp, not something a library provides.
 */
export class SharedStamp {
  /** The reading every request of this turn waits for; null until one asks. One promise for all of them. */
  #pending: Promise<number | null> | null = null;
  #resolve: ((stamp: number | null) => void) | null = null;

  constructor(private readonly changes: ChangeStamp) {}

  /**
   * The stamp, read after this call (never before it). Every call of the same turn gets the same promise, so the
   * same reading. Immediately null where nothing may be cached.
   */
  next(): Promise<number | null> {
    if (!this.changes.caching) return NO_STAMP;
    if (this.#pending === null) {
      this.#pending = new Promise((resolve) => {
        this.#resolve = resolve;
      });
      setImmediate(readForAll, this);
    }
    return this.#pending;
  }

  /** Reads the stamp once and hands it to everyone waiting. */
  readForAll(): void {
    const resolve = this.#resolve;
    // A request that asks from now on waits for the next reading: it may have arrived after this one.
    this.#pending = null;
    this.#resolve = null;
    let stamp: number | null;
    try {
      stamp = this.changes.current();
    } catch {
      // The database could not be read: nobody may use a cached value.
      stamp = null;
    }
    resolve?.(stamp);
  }
}

const NO_STAMP: Promise<number | null> = Promise.resolve(null);

function readForAll(shared: SharedStamp): void {
  shared.readForAll();
}
