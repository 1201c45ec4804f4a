/** A response that is ready to be written. */
export interface PendingReply {
  /** Writes it. Must not throw: the batch's other replies come after it in the same loop. */
  sendReply(): void;
}

/**
 * Writes the relay's ready responses together at the end of the event loop's turn (its check phase), instead of one
 * by one as each provider response completes.
 *
 * Why: writing to a caller's socket wakes the caller if it sleeps, and a wake-up is one of the dearest things the
 * relay does (the kernel signals the other processor). Written one by one, with the next provider response processed
 * in between, every response could wake the caller again: under `perf`, waking the load generator took about 8 % of
 * the relay's CPU. Written back to back, one wake-up serves the whole turn's responses. undici already writes the
 * requests to the provider this way (one `setImmediate` later), which is why that side never showed up.
 * In alternating A/B windows at 50 connections this cut the relay's CPU per request by about a fifth (87–89 µs to
 * 67–68) and raised its throughput by about as much (docs/relay.md, "Benchmark"). At one connection there is one
 * response a turn and nothing changes.
 *
 * Only complete, held responses are batched: a streamed body goes out as it arrives.
 */
export class ReplyBatch {
  #pending: PendingReply[] = [];
  #scheduled = false;

  add(reply: PendingReply): void {
    this.#pending.push(reply);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(sendAll, this);
    }
  }

  /** Sends every reply added so far, in order. A reply added while sending waits for the next turn. */
  flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    for (const reply of pending) reply.sendReply();
  }
}

function sendAll(batch: ReplyBatch): void {
  batch.flush();
}
