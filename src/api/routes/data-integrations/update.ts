import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { updateDataIntegration, updateIntegrationSchema } from '../../../providers/manage-integrations.ts';
import type { Ownership } from '../../../store/data-integrations.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { requireIntegration } from './find.ts';
import { presentDataIntegration } from './present.ts';

/**
 * `PUT /data-integrations/{slug}` (and `…/{slug}/organization`): changes the fields sent, keeps the others. A
 * `custom_provider` patch is merged onto the stored definition and the result validated as a whole. Never contacts
 * the provider. The rules live in `src/providers/manage-integrations.ts`, shared with the dashboard.
 */
export function updateDataIntegrationRoute(ctx: AppContext, ownership: Ownership) {
  return async (c: Context<ApiEnv>) => {
    const row = await requireIntegration(ctx, c, ownership);
    const body = await readJson(c, updateIntegrationSchema);
    const env = c.get('auth').environment;
    const updated = await updateDataIntegration(ctx, env, row, body);
    return c.json(presentDataIntegration(ctx, updated, env));
  };
}
