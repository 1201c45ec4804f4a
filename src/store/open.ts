import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/load.ts';
import { type ChangeStamp, neverCacheStamp, sqliteChangeStamp } from './change-stamp.ts';
import { createEngine, type StoreEngine } from './engine.ts';
import type { Database } from './schema.ts';
import { cachePreparedStatements } from './statement-cache.ts';

export interface Store {
  db: Kysely<Database>;
  engine: StoreEngine;
  /** Human-readable location, without credentials, for logs and `pipes doctor`. */
  location: string;
  /** Tells read caches whether the database may have changed (always "maybe" on PostgreSQL); change-stamp.ts. */
  changes: ChangeStamp;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** A database URL with the password removed, safe to print. */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * Opens the configured database. SQLite runs in WAL mode with a busy timeout so that several processes (the CLI
 * beside a running server, or two test instances) can share one file.
 */
export function openStore(database: Config['database']): Store {
  if (database.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: database.url,
      max: 10,
      // Timestamps are epoch milliseconds in int8 columns: well inside Number's safe range, so parse them as
      // numbers. Configured per pool rather than through pg's global type registry (no module singletons).
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID
            ? (value: string) => Number(value)
            : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client that loses its connection emits 'error'; without a listener that would crash the process.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      engine: createEngine('postgres'),
      location: describeDatabaseUrl(database.url),
      changes: neverCacheStamp,
      close: () => db.destroy(),
    };
  }
  mkdirSync(path.dirname(database.file), { recursive: true });
  const sqlite = new SQLite(database.file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const changes = sqliteChangeStamp(sqlite);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: cachePreparedStatements(sqlite, changes.noteLocalWrite) }),
  });
  return {
    db,
    engine: createEngine('sqlite'),
    location: database.file,
    changes,
    close: () => db.destroy(),
  };
}
