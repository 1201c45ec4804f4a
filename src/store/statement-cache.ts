import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Transaction control: `readonly` in SQLite's eyes, but ending a transaction publishes (or undoes) its writes. */
const TRANSACTION_CONTROL = /^\s*(begin|commit|end|rollback|savepoint|release)\b/i;

interface CachedStatement {
  statement: BetterSqlite3.Statement;
  /** Whether running it may change what later reads see (a write, or the end of a transaction). */
  changesData: boolean;
}

/**
 * Kysely's SQLite driver prepares every query afresh. Against Pipes' schema (wide tables, several indexes) preparing
 * costs several times more than running the statement — in profiles of `POST /data-integrations/{slug}/token` it was
 * the largest single cost — while the application issues the same few hundred SQL texts over and over. This adapter
 * keeps the most recently used prepared statements by SQL text, so each is prepared once.
 *
 * It is also where this connection's own writes become visible to the change stamp (change-stamp.ts): Kysely runs
 * a statement right after preparing it, synchronously, so `onChange` fires just before every write, BEGIN, COMMIT
 * and ROLLBACK this connection runs.
 *
 * Safe to reuse: Kysely runs one query at a time on its single SQLite connection; a statement still iterating (a
 * `stream()` not yet finished) is never handed out again — a fresh one is prepared instead; and SQLite re-prepares a
 * statement by itself when the schema changes (migrations).
 */
export function cachePreparedStatements(
  sqlite: BetterSqlite3.Database,
  onChange: () => void = () => {},
  maxStatements = 500,
): SqliteDatabase {
  const statements = new Map<string, CachedStatement>();
  const describe = (sql: string, statement: BetterSqlite3.Statement): CachedStatement => ({
    statement,
    changesData: !statement.readonly || TRANSACTION_CONTROL.test(sql),
  });
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      let entry = statements.get(sql);
      if (entry !== undefined && !entry.statement.busy) {
        // Most recently used last, so that the first entry is the one to evict.
        statements.delete(sql);
        statements.set(sql, entry);
      } else {
        const fresh = describe(sql, sqlite.prepare(sql));
        if (entry === undefined) {
          if (statements.size >= maxStatements) statements.delete(statements.keys().next().value!);
          statements.set(sql, fresh);
        }
        entry = fresh;
      }
      if (entry.changesData) onChange();
      return entry.statement;
    },
  };
}
