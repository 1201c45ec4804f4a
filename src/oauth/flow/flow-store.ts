import type { Kysely } from 'kysely';
import type { AuthorizationFlowTable, Database } from '../../store/schema.ts';

export type FlowRow = AuthorizationFlowTable;

/** A connect link and the OAuth `state` are each good for 10 minutes (R-O4). */
export const FLOW_TTL_MS = 10 * 60_000;
/** Finished or abandoned flows are kept a day (for support), then purged. */
const FLOW_RETENTION_MS = 24 * 3600_000;

export const codeVerifierBinding = (flow: Pick<FlowRow, 'id' | 'environment_id'>) =>
  ({
    table: 'authorization_flows',
    rowId: flow.id,
    environmentId: flow.environment_id,
    kind: 'code_verifier',
  }) as const;

/**
 * The grant held for session binding until the app's finish call. Sealed as `access_token` kind bound to the flow
 * row: the table and row in the AAD keep it apart from every real access token.
 */
export const pendingResultBinding = (flow: Pick<FlowRow, 'id' | 'environment_id'>) =>
  ({
    table: 'authorization_flows',
    rowId: flow.id,
    environmentId: flow.environment_id,
    kind: 'access_token',
  }) as const;

export async function findFlowByLink(db: Kysely<Database>, linkHash: string): Promise<FlowRow | undefined> {
  return db
    .selectFrom('authorization_flows')
    .selectAll()
    .where('link_hash', '=', linkHash)
    .executeTakeFirst();
}

export async function findFlowByState(db: Kysely<Database>, stateHash: string): Promise<FlowRow | undefined> {
  return db
    .selectFrom('authorization_flows')
    .selectAll()
    .where('state_hash', '=', stateHash)
    .executeTakeFirst();
}

/**
 * Uses the connect link: `created` → `redirected`, with the state, browser binding and sealed verifier. A
 * compare-and-set, so a link opened twice at once leaves for the provider once.
 */
export async function claimLink(
  db: Kysely<Database>,
  flow: FlowRow,
  values: { stateHash: string; browserHash: string; codeVerifier: Buffer | null; now: number },
): Promise<boolean> {
  const result = await db
    .updateTable('authorization_flows')
    .set({
      status: 'redirected',
      state_hash: values.stateHash,
      browser_hash: values.browserHash,
      code_verifier: values.codeVerifier,
      expires_at: values.now + FLOW_TTL_MS,
      updated_at: values.now,
    })
    .where('id', '=', flow.id)
    .where('status', '=', 'created')
    .where('expires_at', '>', values.now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Burns the `state` (single use, O3): of two concurrent callbacks with the same state, one wins. */
export async function burnState(db: Kysely<Database>, flow: FlowRow, now: number): Promise<boolean> {
  if (flow.state_hash === null) return false;
  const result = await db
    .updateTable('authorization_flows')
    .set({ state_hash: null, updated_at: now })
    .where('id', '=', flow.id)
    .where('state_hash', '=', flow.state_hash)
    .where('status', '=', 'redirected')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function setFlowStatus(
  db: Kysely<Database>,
  flowId: string,
  status: FlowRow['status'],
  now: number,
  extra: Partial<Pick<FlowRow, 'result_account_id' | 'pending_result' | 'expires_at'>> = {},
): Promise<void> {
  await db
    .updateTable('authorization_flows')
    // The verifier has done its job once the code is exchanged (or the flow failed): do not keep it.
    .set({ status, code_verifier: null, updated_at: now, ...extra })
    .where('id', '=', flowId)
    .execute();
}

export async function purgeOldFlows(db: Kysely<Database>, now: number): Promise<void> {
  await db
    .deleteFrom('authorization_flows')
    .where('expires_at', '<', now - FLOW_RETENTION_MS)
    .execute();
}
