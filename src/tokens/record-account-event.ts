import type { Kysely } from 'kysely';
import { type PipesEventName, recordEvent } from '../events/record-event.ts';
import type { ConnectedAccountTable, Database } from '../store/schema.ts';
import { connectedAccountEventPayload } from './present-account.ts';

/**
 * Records `event` about the account as the row now stands. Pass the transaction that wrote the row, so that the
 * change and its event commit together (R-W6).
 */
export async function recordAccountEvent(
  trx: Kysely<Database>,
  account: ConnectedAccountTable,
  event: PipesEventName,
  now: number,
): Promise<void> {
  await recordEvent(trx, {
    environmentId: account.environment_id,
    event,
    data: connectedAccountEventPayload(account),
    organizationId: account.organization_id,
    connectedAccountId: account.id,
    now,
  });
}
