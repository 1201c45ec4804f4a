import type BetterSqlite3 from 'better-sqlite3';

/**
 * "Has anything in the database changed since?" — cheaply, for read caches that must never serve a stale row.
 *
 * `current()` returns a number that stays the same exactly as long as no write has been committed to the database
 * by anyone: this process, another process on the same file, or the CLI. Two equal stamps mean the database's
 * content was the same at both moments, so a row read after the first stamp was taken is still current at the second.
 * `null` means the engine cannot tell cheaply and callers must not cache (PostgreSQL: another instance can commit at
 * any moment and there is no per-read way to learn of it short of a query).
 *
 * Written by hand because no library offers this for SQLite: writes by other connections show in SQLite's
 * `PRAGMA data_version` (it changes whenever another connection commits; about 4 µs a call); writes by this
 * connection do not, so the statement adapter (statement-cache.ts) reports every statement that can change the
 * database, including transaction control, through `noteLocalWrite()` just before it runs.
 */
export interface ChangeStamp {
  /** False when `current()` is always null (nothing may be cached): callers need not wait for a reading. */
  readonly caching: boolean;
  current(): number | null;
}

export interface SqliteChangeStamp extends ChangeStamp {
  current(): number;
  /** Called just before this connection runs a statement that may change the database (or end a transaction). */
  noteLocalWrite(): void;
}

export const neverCacheStamp: ChangeStamp = { caching: false, current: () => null };

export function sqliteChangeStamp(sqlite: BetterSqlite3.Database): SqliteChangeStamp {
  const dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
  let generation = 0;
  let lastSeenVersion: unknown = dataVersion.get();
  return {
    caching: true,
    current() {
      const version = dataVersion.get();
      if (version !== lastSeenVersion) {
        lastSeenVersion = version;
        generation++;
      }
      return generation;
    },
    noteLocalWrite() {
      generation++;
    },
  };
}
