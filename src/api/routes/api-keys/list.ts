import type { AppContext } from '../../../context.ts';
import { environmentListRoute } from '../../environment-list-route.ts';
import { presentApiKey } from './present.ts';

/** `GET /pipes/api-keys`: this environment's keys, paginated. */
export function listApiKeysRoute(ctx: AppContext) {
  return environmentListRoute(
    (environmentId) =>
      ctx.store.db.selectFrom('api_keys').selectAll().where('environment_id', '=', environmentId),
    presentApiKey,
  );
}
