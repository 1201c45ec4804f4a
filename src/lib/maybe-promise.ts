/**
 * A value that is often known at once and sometimes has to be waited for: an API key found in the short-lived
 * cache, or looked up in the database. Hot paths check for the promise instead of awaiting every answer: each
 * `async` layer costs a promise and a turn of the microtask queue per request, which showed up in the relay's
 * instruction counts (docs/relay.md, "Benchmark").
 */
export type MaybePromise<T> = T | Promise<T>;

/** Applies `map` at once to a value, or when the promise settles. */
export function mapMaybePromise<T, U>(value: MaybePromise<T>, map: (value: T) => U): MaybePromise<U> {
  return value instanceof Promise ? value.then(map) : map(value);
}
