/**
 * Something with a deadline: told once when it passes. The three fields belong to `Deadlines` (they are the links of
 * its list); an entry is in at most one `Deadlines` at a time.
 */
export interface Expiring {
  /** `performance.now()` past which `expire()` is called; set by `Deadlines.add`. */
  deadlineAt: number;
  deadlinePrev: Expiring | null;
  deadlineNext: Expiring | null;
  expire(): void;
}

/**
 * The relay's whole-call timeout, for every call at once: one coarse interval timer and an intrusive doubly linked
 * list threaded through the calls themselves, instead of a `setTimeout`/`clearTimeout` pair per request (which, at
 * one connection, also created and destroyed Node's timer list for that duration each time). Every call gets the
 * same timeout and the clock is monotonic, so deadlines come in insertion order and a sweep stops at the first live
 * one. A deadline fires up to one tick late (a tenth of the timeout, at most a second): precise enough for a limit
 * measured in minutes.
 *
 * Why not a `Set`: measured under load, a `Set` with an add and a delete per request made V8 promote about 2 KB of
 * every request's objects (the call, its request and response) to the old generation, and each scavenge took 6 ms
 * instead of 1 (bench/relay.ts, `--trace-gc-nvp`). The list allocates nothing and drops its links on removal.
 */
export class Deadlines {
  readonly #timeoutMs: number;
  readonly #timer: NodeJS.Timeout;
  /** Oldest first. */
  #head: Expiring | null = null;
  #tail: Expiring | null = null;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    const tick = Math.min(1000, Math.max(10, Math.floor(timeoutMs / 10)));
    this.#timer = setInterval(sweep, tick, this);
    // Never what keeps a process alive.
    this.#timer.unref();
  }

  add(entry: Expiring): void {
    this.remove(entry);
    entry.deadlineAt = performance.now() + this.#timeoutMs;
    entry.deadlinePrev = this.#tail;
    entry.deadlineNext = null;
    if (this.#tail === null) this.#head = entry;
    else this.#tail.deadlineNext = entry;
    this.#tail = entry;
  }

  /** Takes an entry out; a no-op for one that is not in (already expired or removed). */
  remove(entry: Expiring): void {
    const { deadlinePrev: prev, deadlineNext: next } = entry;
    if (prev === null && this.#head !== entry) return;
    if (prev === null) this.#head = next;
    else prev.deadlineNext = next;
    if (next === null) this.#tail = prev;
    else next.deadlinePrev = prev;
    entry.deadlinePrev = null;
    entry.deadlineNext = null;
  }

  /** Expires every entry whose deadline has passed. */
  sweep(): void {
    const now = performance.now();
    while (this.#head !== null && this.#head.deadlineAt <= now) {
      const entry = this.#head;
      this.remove(entry);
      entry.expire();
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

function sweep(deadlines: Deadlines): void {
  deadlines.sweep();
}
