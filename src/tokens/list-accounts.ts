import type { Kysely } from 'kysely';
import { isId } from '../lib/ids.ts';
import { selectPage } from '../lib/row-page.ts';
import type { ConnectedAccountState, ConnectedAccountTable, Database } from '../store/schema.ts';

export interface AccountFilter {
  providerSlug?: string | undefined;
  userId?: string | undefined;
  organizationId?: string | undefined;
  state?: ConnectedAccountState | undefined;
}

/** An environment's connected accounts, newest first, `limit` at a time after the `after` cursor (an id). */
export async function listConnectedAccounts(
  db: Kysely<Database>,
  environmentId: string,
  filter: AccountFilter,
  page: { limit: number; after?: string | undefined },
): Promise<ConnectedAccountTable[]> {
  let q = db.selectFrom('connected_accounts').selectAll().where('environment_id', '=', environmentId);
  if (filter.providerSlug !== undefined) q = q.where('provider_slug', '=', filter.providerSlug);
  if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
  if (filter.organizationId !== undefined) q = q.where('organization_id', '=', filter.organizationId);
  if (filter.state !== undefined) q = q.where('state', '=', filter.state);
  return selectPage(q, { direction: 'desc', cursor: page.after, fetch: page.limit }).execute();
}

/** One connected account of this environment by id; another environment's looks missing. */
export async function findConnectedAccountById(
  db: Kysely<Database>,
  environmentId: string,
  id: string,
): Promise<ConnectedAccountTable | undefined> {
  if (!isId('connectedAccount', id)) return undefined;
  return db
    .selectFrom('connected_accounts')
    .selectAll()
    .where('id', '=', id)
    .where('environment_id', '=', environmentId)
    .executeTakeFirst();
}
