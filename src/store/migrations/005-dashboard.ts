import type { Kysely, Migration } from 'kysely';
import type { StoreEngine } from '../engine.ts';

/**
 * The operator dashboard: operators (scrypt password hashes), their server-side sessions (only a SHA-256 of the
 * session id is stored, so a database reader cannot take a session over) and the sign-in throttle, kept in the
 * database so that every instance sharing it enforces the same lockout.
 */
export function dashboardMigration(engine: StoreEngine): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('operators')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('updated_at', engine.bigint, (c) => c.notNull())
        .addColumn('last_sign_in_at', engine.bigint)
        .execute();

      await db.schema
        .createTable('operator_sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('operator_id', 'text', (c) => c.notNull().references('operators.id').onDelete('cascade'))
        .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('last_seen_at', engine.bigint, (c) => c.notNull())
        .addColumn('expires_at', engine.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('operator_sessions_operator')
        .on('operator_sessions')
        .columns(['operator_id'])
        .execute();

      await db.schema
        .createTable('login_throttle')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', engine.bigint, (c) => c.notNull())
        .addColumn('last_attempt_at', engine.bigint, (c) => c.notNull())
        .addColumn('locked_until', engine.bigint, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('login_throttle').execute();
      await db.schema.dropTable('operator_sessions').execute();
      await db.schema.dropTable('operators').execute();
    },
  };
}
