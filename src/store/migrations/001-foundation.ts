import type { Kysely, Migration } from 'kysely';
import type { StoreEngine } from '../engine.ts';

/** Environments, API keys, settings and leases. */
export function foundationMigration(engine: StoreEngine): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('environments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('updated_at', engine.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull().unique())
        .addColumn('last4', 'text', (c) => c.notNull())
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('last_used_at', engine.bigint)
        .addColumn('revoked_at', engine.bigint)
        .execute();
      await db.schema
        .createIndex('api_keys_environment')
        .on('api_keys')
        .columns(['environment_id', 'id'])
        .execute();

      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', engine.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('fence', engine.bigint, (c) => c.notNull())
        .addColumn('expires_at', engine.bigint, (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('leases').execute();
      await db.schema.dropTable('settings').execute();
      await db.schema.dropTable('api_keys').execute();
      await db.schema.dropTable('environments').execute();
    },
  };
}
