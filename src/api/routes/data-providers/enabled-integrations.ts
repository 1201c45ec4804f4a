import type { Kysely } from 'kysely';
import type { Database, DataIntegrationTable } from '../../../store/schema.ts';

/**
 * The integrations an owner of this kind can connect in the environment: enabled, by slug. The data-providers list
 * and the connect widget (which shows what that list shows) both start from it.
 */
export function listEnabledIntegrations(
  db: Kysely<Database>,
  environmentId: string,
  ownership: DataIntegrationTable['ownership'],
): Promise<DataIntegrationTable[]> {
  return db
    .selectFrom('data_integrations')
    .selectAll()
    .where('environment_id', '=', environmentId)
    .where('ownership', '=', ownership)
    .where('enabled', '=', 1)
    .orderBy('slug')
    .execute();
}
