import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import type { StoreEngine } from '../engine.ts';

/** Data integrations, connected accounts and in-flight authorization flows. */
export function integrationsMigration(engine: StoreEngine): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('data_integrations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
        .addColumn('slug', 'text', (c) => c.notNull())
        .addColumn('ownership', 'text', (c) => c.notNull())
        .addColumn('integration_key', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('scopes', 'text')
        .addColumn('auth_methods', 'text', (c) => c.notNull())
        .addColumn('credentials_type', 'text')
        .addColumn('client_id', 'text')
        .addColumn('client_secret', engine.blob)
        .addColumn('client_secret_last4', 'text')
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('custom_provider', 'text')
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('updated_at', engine.bigint, (c) => c.notNull())
        .addUniqueConstraint('data_integrations_slug', ['environment_id', 'slug', 'ownership'])
        .execute();
      await db.schema
        .createIndex('data_integrations_environment')
        .on('data_integrations')
        .columns(['environment_id', 'id'])
        .execute();

      await db.schema
        .createTable('connected_accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
        .addColumn('data_integration_id', 'text', (c) => c.notNull().references('data_integrations.id'))
        .addColumn('provider_slug', 'text', (c) => c.notNull())
        .addColumn('owner_type', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('organization_id', 'text')
        .addColumn('owner_key', 'text', (c) => c.notNull())
        .addColumn('connection_role', 'text', (c) => c.notNull())
        .addColumn('auth_method', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('account_identifier', 'text')
        .addColumn('account_display_name', 'text')
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('access_token', engine.blob)
        .addColumn('refresh_token', engine.blob)
        .addColumn('api_key', engine.blob)
        .addColumn('api_key_last4', 'text')
        .addColumn('client_id', 'text')
        .addColumn('client_secret', engine.blob)
        .addColumn('client_secret_last4', 'text')
        .addColumn('expires_at', engine.bigint)
        .addColumn('expiry_kind', 'text', (c) => c.notNull())
        .addColumn('token_version', engine.bigint, (c) => c.notNull())
        .addColumn('generation', engine.bigint, (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', engine.bigint)
        .addColumn('lease_fence', engine.bigint, (c) => c.notNull())
        .addColumn('refresh_attempt_version', engine.bigint)
        .addColumn('refresh_attempt_started_at', engine.bigint)
        .addColumn('last_refresh_at', engine.bigint)
        .addColumn('last_refresh_outcome', 'text')
        .addColumn('last_refresh_error', 'text')
        .addColumn('refresh_failures', 'integer', (c) => c.notNull())
        .addColumn('refresh_cooldown_until', engine.bigint)
        .addColumn('next_refresh_at', engine.bigint)
        .addColumn('reauthorization_reason', 'text')
        .addColumn('last_used_at', engine.bigint)
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('updated_at', engine.bigint, (c) => c.notNull())
        .execute();
      // One compatibility connection per owner and integration; `standard` connections (multiple connections) are
      // not limited. owner_key folds the nullable user and organization ids into one comparable value, because a
      // unique index treats NULLs as distinct.
      await db.schema
        .createIndex('connected_accounts_compatibility')
        .on('connected_accounts')
        .columns(['data_integration_id', 'owner_key'])
        .unique()
        .where(sql.ref('connection_role'), '=', 'compatibility')
        .execute();
      await db.schema
        .createIndex('connected_accounts_owner')
        .on('connected_accounts')
        .columns(['environment_id', 'owner_key', 'provider_slug'])
        .execute();
      await db.schema
        .createIndex('connected_accounts_next_refresh')
        .on('connected_accounts')
        .columns(['next_refresh_at'])
        .execute();

      await db.schema
        .createTable('authorization_flows')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment_id', 'text', (c) => c.notNull().references('environments.id'))
        .addColumn('data_integration_id', 'text', (c) => c.notNull())
        .addColumn('provider_slug', 'text', (c) => c.notNull())
        .addColumn('link_hash', 'text', (c) => c.notNull().unique())
        .addColumn('state_hash', 'text', (c) => c.unique())
        .addColumn('browser_hash', 'text')
        .addColumn('owner_type', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('organization_id', 'text')
        .addColumn('connection_intent', 'text')
        .addColumn('target_account_id', 'text')
        .addColumn('return_to', 'text')
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text')
        .addColumn('code_verifier', engine.blob)
        .addColumn('app_code_challenge', 'text')
        .addColumn('pending_result', engine.blob)
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('result_account_id', 'text')
        .addColumn('expires_at', engine.bigint, (c) => c.notNull())
        .addColumn('created_at', engine.bigint, (c) => c.notNull())
        .addColumn('updated_at', engine.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('authorization_flows_expiry')
        .on('authorization_flows')
        .columns(['expires_at'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('authorization_flows').execute();
      await db.schema.dropTable('connected_accounts').execute();
      await db.schema.dropTable('data_integrations').execute();
    },
  };
}
