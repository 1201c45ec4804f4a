import type { Kysely } from 'kysely';
import type { Database, DataIntegrationTable } from './schema.ts';

export type DataIntegrationRow = DataIntegrationTable;
export type Ownership = DataIntegrationTable['ownership'];

/** One root of a provider in an environment (`ownership` user or organization). Scoped by environment: always. */
export async function findDataIntegration(
  db: Kysely<Database>,
  environmentId: string,
  slug: string,
  ownership: Ownership,
): Promise<DataIntegrationRow | undefined> {
  return db
    .selectFrom('data_integrations')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('slug', '=', slug)
    .where('ownership', '=', ownership)
    .executeTakeFirst();
}

/** Any root of a custom provider with this slug in the environment (to add the other ownership root). */
export async function findCustomDefinition(
  db: Kysely<Database>,
  environmentId: string,
  slug: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('data_integrations')
    .select('custom_provider')
    .where('environment_id', '=', environmentId)
    .where('slug', '=', slug)
    .where('custom_provider', 'is not', null)
    .executeTakeFirst();
  return row?.custom_provider ?? null;
}

/** Looks an integration up by its redirect-URI key (`dik_…`), which is unique across the installation. */
export async function findDataIntegrationByKey(
  db: Kysely<Database>,
  integrationKey: string,
): Promise<DataIntegrationRow | undefined> {
  return db
    .selectFrom('data_integrations')
    .selectAll()
    .where('integration_key', '=', integrationKey)
    .executeTakeFirst();
}

export async function findDataIntegrationById(
  db: Kysely<Database>,
  id: string,
): Promise<DataIntegrationRow | undefined> {
  return db.selectFrom('data_integrations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every integration of an environment (both ownership roots), by slug. */
export async function listEnvironmentIntegrations(
  db: Kysely<Database>,
  environmentId: string,
): Promise<DataIntegrationRow[]> {
  return db
    .selectFrom('data_integrations')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .orderBy('slug')
    .orderBy('ownership')
    .execute();
}
