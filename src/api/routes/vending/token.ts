import type { AppContext } from '../../../context.ts';
import type { Environment } from '../../../store/environments.ts';
import { integrationScopes } from '../../../tokens/integration-scopes.ts';
import {
  authMethodMismatch,
  presentAccessToken,
  type VendRequest,
  vendCredential,
} from '../../../tokens/vend.ts';

/**
 * `POST /data-integrations/{slug}/token`: a fresh OAuth access token for the selected connection (§3.4). The token
 * is refreshed first when it is expired or within its margin. Not-installed and needs-reauthorization are 200
 * answers with `active: false`. Served by the raw vending listener (raw-listener.ts).
 */
export async function tokenResponse(
  ctx: AppContext,
  environment: Environment,
  slug: string,
  request: VendRequest,
) {
  const outcome = await vendCredential(ctx, environment, slug, request, { onlyOAuth: true });
  if (!outcome.active) return { active: false, error: outcome.error };
  if (outcome.account.auth_method !== 'oauth') throw authMethodMismatch(outcome.account.auth_method);
  return presentAccessToken(outcome, integrationScopes(ctx, outcome.integration));
}
