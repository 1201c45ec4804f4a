import type { AppContext } from '../../../context.ts';
import type { Environment } from '../../../store/environments.ts';
import type { StampedReads } from '../../../store/stamped-cache.ts';
import { integrationScopes } from '../../../tokens/integration-scopes.ts';
import { presentAccessToken, type VendRequest, vendCredential } from '../../../tokens/vend.ts';

/**
 * `POST /data-integrations/{slug}/token`: a fresh OAuth access token for the selected connection (§3.4). The token
 * is refreshed first when it is expired or within its margin. Not-installed and needs-reauthorization are 200
 * answers with `active: false`. Served by the raw vending listener (raw-listener.ts), which also gets until when the
 * same answer holds (`freshUntil`, see src/store/stamped-memo.ts).
 */
export async function tokenResponse(
  ctx: AppContext,
  environment: Environment,
  slug: string,
  request: VendRequest,
  reads: StampedReads,
): Promise<VendingAnswer> {
  const outcome = await vendCredential(ctx, environment, slug, request, { onlyOAuth: true, reads });
  // `onlyOAuth`: vending answers 422 auth_method_mismatch itself for an API-key or client-credentials connection.
  if (!outcome.active) return inactiveAnswer(outcome.error);
  return {
    body: presentAccessToken(outcome, integrationScopes(ctx, outcome.integration)),
    freshUntil: outcome.freshUntil,
  };
}

/** A vending route's answer, and until when the same request gets the same answer if the database is unchanged. */
export interface VendingAnswer {
  body: object;
  freshUntil: number;
}

/** `{active: false, error}`: it depends on the database only, never on the time. */
export function inactiveAnswer(error: string): VendingAnswer {
  return { body: { active: false, error }, freshUntil: Number.POSITIVE_INFINITY };
}
