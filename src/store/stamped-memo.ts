/**
 * Results reused while nothing they depend on can have changed: they were computed from the database under a change
 * stamp (change-stamp.ts, shared-stamp.ts) and depend on the time, at most, through one deadline. A result is served
 * only under the very stamp it was computed under (any commit, by anyone, clears every entry) and strictly before its
 * `until`. Stamps only grow: a result computed under an older stamp than the memo's is already outdated and not kept.
 *
 * Used for the answers of `/token` and `/credentials` (their exact JSON bytes) and for the relay's resolved
 * connection; `until` is the token's `freshUntil` (the moment `ensureFresh` would refresh it). Values are shared by
 * every caller until the next change: callers must not mutate them. Bounded: past `maxEntries` the memo starts over.
 * Disabled where there is no stamp (PostgreSQL).
 */
export class StampedMemo<V> {
  private stamp = Number.NEGATIVE_INFINITY;
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly maxEntries = 10_000) {}

  get(stamp: number | null, key: string, now: number): V | undefined {
    if (stamp !== this.stamp) return undefined;
    const hit = this.entries.get(key);
    return hit !== undefined && now < hit.until ? hit.value : undefined;
  }

  /** Keeps a result computed from reads labelled `stamp`, valid until `until` (exclusive). */
  set(stamp: number | null, key: string, value: V, until: number, now: number): void {
    if (stamp === null || stamp < this.stamp || until <= now) return;
    if (stamp > this.stamp || this.entries.size >= this.maxEntries) {
      this.entries.clear();
      this.stamp = stamp;
    }
    this.entries.set(key, { value, until });
  }
}
