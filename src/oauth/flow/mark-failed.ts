import type { Kysely } from 'kysely';
import {
  type ConnectionFailedEventInput,
  connectionFailedEventData,
  recordEvent,
} from '../../events/record-event.ts';
import type { Database } from '../../store/schema.ts';
import { type FlowRow, setFlowStatus } from './flow-store.ts';

/** What went wrong, as the `connection_failed` event tells the app. */
export type FlowFailureDetail = Pick<
  ConnectionFailedEventInput,
  'errorCode' | 'errorReason' | 'providerError' | 'providerErrorDescription'
>;

/**
 * Marks a flow failed (dropping any pending grant) and records `pipes.connected_account.connection_failed` in the same
 * transaction (§5.1), so the app hears of every flow that ends failed, and of no other.
 */
export async function markFlowFailed(
  db: Kysely<Database>,
  flow: FlowRow,
  detail: FlowFailureDetail,
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await setFlowStatus(trx, flow.id, 'failed', now, { pending_result: null });
    await recordEvent(trx, {
      environmentId: flow.environment_id,
      event: 'pipes.connected_account.connection_failed',
      data: connectionFailedEventData({
        dataIntegrationId: flow.data_integration_id,
        providerSlug: flow.provider_slug,
        userId: flow.owner_type === 'organization' ? null : flow.user_id,
        organizationId: flow.organization_id,
        ...detail,
        createdAt: now,
      }),
      organizationId: flow.organization_id,
      now,
    });
  });
}
