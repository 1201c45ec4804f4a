import type { Kysely, Migration } from 'kysely';
import type { StoreEngine } from '../engine.ts';

/** Events, per-account event sequences, webhook endpoints, the delivery outbox and its attempt log. */
export function eventsWebhooksMigration(engine: StoreEngine): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('organization_id', 'text')
        .addColumn('connected_account_id', 'text')
        .addColumn('sequence', engine.bigint)
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .execute();
      // Lists are per environment, ordered by id; retention deletes by age.
      await db.schema
        .createIndex('events_environment')
        .on('events')
        .columns(['environment_id', 'id'])
        .execute();
      await db.schema.createIndex('events_created').on('events').columns(['created_at']).execute();

      await db.schema
        .createTable('event_sequences')
        .addColumn('connected_account_id', 'text', (c) => c.primaryKey())
        .addColumn('last_sequence', engine.bigint, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('webhook_endpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
        .addColumn('endpoint_url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('secret', engine.blob, (c) => c.notNull())
        .addColumn('secret_last4', 'text', (c) => c.notNull())
        .addColumn('previous_secret', engine.blob)
        .addColumn('previous_secret_expires_at', engine.bigint)
        .addColumn('failing_since', engine.bigint)
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('updated_at', engine.bigint, (c) => c.notNull())
        .execute();
      // One endpoint per URL and environment: the unique index turns a registration race into a clean 409.
      await db.schema
        .createIndex('webhook_endpoints_url')
        .on('webhook_endpoints')
        .columns(['environment_id', 'endpoint_url'])
        .unique()
        .execute();

      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', engine.bigint, (c) => c.notNull())
        .addColumn('next_attempt_at', engine.bigint, (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', engine.bigint, (c) => c.notNull())
        .addColumn('last_attempt_at', engine.bigint)
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', engine.bigint)
        .addColumn('manual', 'integer', (c) => c.notNull())
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('updated_at', engine.bigint, (c) => c.notNull())
        .execute();
      // The claim query: due pending rows, oldest first.
      await db.schema
        .createIndex('webhook_deliveries_due')
        .on('webhook_deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_endpoint')
        .on('webhook_deliveries')
        .columns(['endpoint_id', 'id'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_event')
        .on('webhook_deliveries')
        .columns(['event_id'])
        .execute();

      await db.schema
        .createTable('webhook_attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('environment_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('started_at', engine.bigint, (c) => c.notNull())
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('error', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        // Attempt numbers are handed out by the claim CAS, so a second row for one attempt would be a bug.
        .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt'])
        .execute();
      await db.schema
        .createIndex('webhook_attempts_endpoint')
        .on('webhook_attempts')
        .columns(['endpoint_id'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('webhook_attempts').execute();
      await db.schema.dropTable('webhook_deliveries').execute();
      await db.schema.dropTable('webhook_endpoints').execute();
      await db.schema.dropTable('event_sequences').execute();
      await db.schema.dropTable('events').execute();
    },
  };
}
