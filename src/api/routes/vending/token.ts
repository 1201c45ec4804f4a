import type { Context } from 'hono';
import type { AppContext } from '../../../context.ts';
import { integrationScopes } from '../../../tokens/integration-scopes.ts';
import { authMethodMismatch, presentAccessToken, vendCredential } from '../../../tokens/vend.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { selectionSchema } from './selection-schema.ts';

/**
 * `POST /data-integrations/{slug}/token`: a fresh OAuth access token for the selected connection (§3.4). The token
 * is refreshed first when it is expired or within its margin. Not-installed and needs-reauthorization are 200
 * answers with `active: false`.
 */
export function tokenRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, selectionSchema);
    c.header('Cache-Control', 'no-store');
    const outcome = await vendCredential(ctx, c.get('auth').environment, c.req.param('slug') ?? '', body, {
      onlyOAuth: true,
    });
    if (!outcome.active) return c.json({ active: false, error: outcome.error });
    if (outcome.account.auth_method !== 'oauth') throw authMethodMismatch(outcome.account.auth_method);
    return c.json(presentAccessToken(outcome, integrationScopes(ctx, outcome.integration)));
  };
}
