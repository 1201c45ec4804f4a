import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/**
 * Kysely's SQLite driver prepares every query afresh. Against Pipes' schema (wide tables, several indexes) preparing
 * costs several times more than running the statement — in profiles of `POST /data-integrations/{slug}/token` it was
 * the largest single cost — while the application issues the same few hundred SQL texts over and over. This adapter
 * keeps the most recently used prepared statements by SQL text, so each is prepared once.
 *
 * Safe to reuse: Kysely runs one query at a time on its single SQLite connection; a statement still iterating (a
 * `stream()` not yet finished) is never handed out again — a fresh one is prepared instead; and SQLite re-prepares a
 * statement by itself when the schema changes (migrations).
 */
export function cachePreparedStatements(sqlite: BetterSqlite3.Database, maxStatements = 500): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      const cached = statements.get(sql);
      if (cached !== undefined && !cached.busy) {
        // Most recently used last, so that the first entry is the one to evict.
        statements.delete(sql);
        statements.set(sql, cached);
        return cached;
      }
      const statement = sqlite.prepare(sql);
      if (cached === undefined) {
        if (statements.size >= maxStatements) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
