import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { deleteDataIntegration } from '../../../providers/manage-integrations.ts';
import type { Ownership } from '../../../store/data-integrations.ts';
import type { ApiEnv } from '../../env.ts';
import { requireIntegration } from './find.ts';

/**
 * `DELETE /data-integrations/{slug}`: removes the integration with every connection made through it (their sealed
 * tokens go with the rows; nothing is revoked at the provider, as with WorkOS) and its pending connect flows. One
 * `disconnected` event per removed connection, committed with the deletion.
 */
export function deleteDataIntegrationRoute(ctx: AppContext, ownership: Ownership) {
  return async (c: Context<ApiEnv>) => {
    const row = await requireIntegration(ctx, c, ownership);
    await deleteDataIntegration(ctx, row);
    return c.body(null, 204);
  };
}
