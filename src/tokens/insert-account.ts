import type { Kysely } from 'kysely';
import { PipesError } from '../errors.ts';
import type { StoreEngine } from '../store/engine.ts';
import type { ConnectedAccountTable, Database } from '../store/schema.ts';

/**
 * Inserts a new connection. The unique index on compatibility connections is the last word on "one per owner and
 * integration": when a concurrent insert wins that race, this one becomes a 409 `connected_account_exists`.
 */
export async function insertAccountRow(
  trx: Kysely<Database>,
  engine: StoreEngine,
  row: ConnectedAccountTable,
  conflictMessage: string,
): Promise<void> {
  try {
    await trx.insertInto('connected_accounts').values(row).execute();
  } catch (error) {
    if (engine.isUniqueViolation(error)) {
      throw new PipesError('connected_account_exists', conflictMessage, { status: 409 });
    }
    throw error;
  }
}
