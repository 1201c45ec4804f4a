import type { Kysely, Migration } from 'kysely';
import type { StoreEngine } from '../engine.ts';

/**
 * The built-in sandbox provider's key-value state (consent requests, codes, grants, rate-limit windows). In the
 * database rather than in memory so that several Pipes instances sharing one database serve one sandbox: a code
 * issued by one instance can be redeemed at another.
 */
export function sandboxStateMigration(engine: StoreEngine): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sandbox_state')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('expires_at', engine.bigint)
        .execute();
      await db.schema
        .createIndex('sandbox_state_expiry')
        .on('sandbox_state')
        .columns(['expires_at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('sandbox_state').execute();
    },
  };
}
