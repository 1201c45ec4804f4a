import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { integrationScopes } from '../../../tokens/integration-scopes.ts';
import { presentCredential, vendCredential } from '../../../tokens/vend.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { selectionSchema } from './selection-schema.ts';

/**
 * `POST /data-integrations/{slug}/credentials`: the selected connection's credential, whatever its kind: a fresh
 * OAuth token, an API key, or a client-credentials token (Pipes runs the grant itself) with its metadata.
 */
export function credentialsRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, selectionSchema);
    c.header('Cache-Control', 'no-store');
    const outcome = await vendCredential(ctx, c.get('auth').environment, c.req.param('slug') ?? '', body);
    if (!outcome.active) return c.json({ active: false, error: outcome.error });
    return c.json(presentCredential(outcome, integrationScopes(ctx, outcome.integration)));
  };
}
