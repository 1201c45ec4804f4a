import type { AppContext } from '../../../context.ts';
import type { Environment } from '../../../store/environments.ts';
import type { StampedReads } from '../../../store/stamped-cache.ts';
import { integrationScopes } from '../../../tokens/integration-scopes.ts';
import { presentCredential, type VendRequest, vendCredential } from '../../../tokens/vend.ts';
import { inactiveAnswer, type VendingAnswer } from './token.ts';

/**
 * `POST /data-integrations/{slug}/credentials`: the selected connection's credential, whatever its kind: a fresh
 * OAuth token, an API key, or a client-credentials token (Pipes runs the grant itself) with its metadata. Served by
 * the raw vending listener (raw-listener.ts).
 */
export async function credentialsResponse(
  ctx: AppContext,
  environment: Environment,
  slug: string,
  request: VendRequest,
  reads: StampedReads,
): Promise<VendingAnswer> {
  const outcome = await vendCredential(ctx, environment, slug, request, { reads });
  if (!outcome.active) return inactiveAnswer(outcome.error);
  return {
    body: presentCredential(outcome, integrationScopes(ctx, outcome.integration)),
    freshUntil: outcome.freshUntil,
  };
}
