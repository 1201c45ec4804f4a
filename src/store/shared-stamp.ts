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
  #waiting: ((stamp: number | null) => void)[] = [];
  #scheduled = false;

  constructor(private readonly changes: ChangeStamp) {}

  /** The stamp, read after this call (never before it). Immediately null where nothing may be cached. */
  next(): Promise<number | null> {
    if (!this.changes.caching) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(readForAll, this);
      }
    });
  }

  /** Reads the stamp once and hands it to everyone waiting. */
  readForAll(): void {
    this.#scheduled = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    let stamp: number | null;
    try {
      stamp = this.changes.current();
    } catch {
      // The database could not be read: nobody may use a cached value.
      stamp = null;
    }
    for (const resolve of waiting) resolve(stamp);
  }
}

function readForAll(shared: SharedStamp): void {
  shared.readForAll();
}
