import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { PipesError } from '../../../errors.ts';
import { SLUG_PATTERN } from '../../../providers/catalog-schema.ts';
import {
  type DataIntegrationRow,
  findDataIntegration,
  type Ownership,
} from '../../../store/data-integrations.ts';
import type { ApiEnv } from '../../env.ts';

/**
 * The same 404 for a malformed slug, a missing integration and another environment's integration: the answer
 * reveals nothing about other environments.
 */
export function integrationNotFound(slug: string, envName: string): PipesError {
  const shown = SLUG_PATTERN.test(slug) && slug.length <= 64 ? `"${slug}"` : 'with that slug';
  return new PipesError(
    'data_integration_not_found',
    `No data integration ${shown} in the ${envName} environment. Create it with POST /data-integrations.`,
    { status: 404 },
  );
}

/** The caller's environment's integration for the `:slug` path parameter, or a 404. */
export async function requireIntegration(
  ctx: AppContext,
  c: Context<ApiEnv>,
  ownership: Ownership,
): Promise<DataIntegrationRow> {
  const slug = c.req.param('slug') ?? '';
  const env = c.get('auth').environment;
  if (!SLUG_PATTERN.test(slug) || slug.length > 64) throw integrationNotFound(slug, env.name);
  const row = await findDataIntegration(ctx.store.db, env.id, slug, ownership);
  if (row === undefined) throw integrationNotFound(slug, env.name);
  return row;
}
