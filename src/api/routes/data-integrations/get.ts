import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import type { Ownership } from '../../../store/data-integrations.ts';
import type { ApiEnv } from '../../env.ts';
import { requireIntegration } from './find.ts';
import { presentDataIntegration } from './present.ts';

/** `GET /data-integrations/{slug}` (user-owned root) and `…/{slug}/organization` (organization-owned root). */
export function getDataIntegrationRoute(ctx: AppContext, ownership: Ownership) {
  return async (c: Context<ApiEnv>) => {
    const row = await requireIntegration(ctx, c, ownership);
    return c.json(presentDataIntegration(ctx, row, c.get('auth').environment));
  };
}
