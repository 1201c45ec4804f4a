import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import { PipesError } from '../errors.ts';
import { createEngine, type StoreEngine } from './engine.ts';
import { allMigrations } from './migrations/index.ts';

const MIGRATION_TABLE = 'pipes_migrations';
const MIGRATION_LOCK_TABLE = 'pipes_migrations_lock';
/** Arbitrary constant: the session-level advisory lock that serialises migrations across instances. */
const MIGRATION_ADVISORY_LOCK = 740_271_001;

function createMigrator<DB>(db: Kysely<DB>, engine: StoreEngine): Migrator {
  const migrations = allMigrations(engine);
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

/**
 * Applies pending migrations. Idempotent. On PostgreSQL several instances may start at once: a session-level
 * advisory lock, held on one dedicated connection around the whole run, makes the others wait and then find nothing
 * to do (Kysely's own lock covers the migration transaction but not the creation of its bookkeeping tables).
 * SQLite serialises writers itself.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>, engine: StoreEngine): Promise<string[]> {
  const run = async (conn: Kysely<DB>): Promise<MigrationResultSet> =>
    createMigrator(conn, engine).migrateToLatest();
  let result: MigrationResultSet;
  if (engine.kind === 'postgres') {
    result = await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_ADVISORY_LOCK})`.execute(conn);
      try {
        return await run(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_ADVISORY_LOCK})`.execute(conn);
      }
    });
  } else {
    result = await runSqliteWithRetry(db, run);
  }
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new PipesError('migration_failed', `Database migration ${failed} failed: ${String(result.error)}`, {
      status: 500,
      cause: result.error,
    });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * SQLite has no advisory lock, and its DDL is transactional: when two processes migrate one file at once, the
 * loser's transaction fails and rolls back whole. It then finds the winner's work done, or tries again.
 */
async function runSqliteWithRetry<DB>(
  db: Kysely<DB>,
  run: (conn: Kysely<DB>) => Promise<MigrationResultSet>,
): Promise<MigrationResultSet> {
  for (let attempt = 1; ; attempt++) {
    const result = await run(db);
    if (!result.error) return result;
    let pending: string[];
    try {
      pending = await pendingMigrations(db, createEngine('sqlite'));
    } catch {
      pending = ['unknown'];
    }
    if (pending.length === 0) return { results: [] };
    if (attempt >= 5) return result;
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
  }
}

/** Names of migrations not yet applied. Empty means the schema is current (`/ready`). */
export async function pendingMigrations<DB>(db: Kysely<DB>, engine: StoreEngine): Promise<string[]> {
  const all = await createMigrator(db, engine).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
