/** Something with a deadline: told once when it passes. */
export interface Expiring {
  /** `performance.now()` past which `expire()` is called; set by `Deadlines.add`. */
  deadlineAt: number;
  expire(): void;
}

/**
 * The relay's whole-call timeout, for every call at once: one coarse interval timer and an insertion-ordered set,
 * instead of a `setTimeout`/`clearTimeout` pair per request (which, at one connection, also created and destroyed
 * Node's timer list for that duration each time). Every call gets the same timeout and the clock is monotonic, so
 * deadlines come in insertion order and a sweep stops at the first live one. A deadline fires up to one tick late
 * (a tenth of the timeout, at most a second): precise enough for a limit measured in minutes.
 */
export class Deadlines {
  readonly #timeoutMs: number;
  readonly #live = new Set<Expiring>();
  readonly #timer: NodeJS.Timeout;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    const tick = Math.min(1000, Math.max(10, Math.floor(timeoutMs / 10)));
    this.#timer = setInterval(sweep, tick, this);
    // Never what keeps a process alive.
    this.#timer.unref();
  }

  add(entry: Expiring): void {
    entry.deadlineAt = performance.now() + this.#timeoutMs;
    this.#live.add(entry);
  }

  remove(entry: Expiring): void {
    this.#live.delete(entry);
  }

  /** Expires every entry whose deadline has passed. */
  sweep(): void {
    const now = performance.now();
    for (const entry of this.#live) {
      if (entry.deadlineAt > now) return;
      this.#live.delete(entry);
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
