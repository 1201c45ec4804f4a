import type { AppContext } from '../../context.ts';
import { PipesError } from '../../errors.ts';
import { resolveIntegrationProvider } from '../../providers/resolve.ts';
import { findDataIntegrationById } from '../../store/data-integrations.ts';
import type { ConnectedAccountTable } from '../../store/schema.ts';
import { type GrantResult, saveGrant } from './complete.tsx';
import { pendingResultBinding } from './flow-store.ts';
import { markFlowFailed } from './mark-failed.ts';
import { digest, digestsEqual, looksLikeToken, s256 } from './secrets.ts';

const notFound = () =>
  new PipesError(
    'authorization_not_found',
    'No authorization awaiting a finish call with this authorization_id: it is unknown, already finished, failed, or expired (10 minutes). Start again.',
    { status: 404 },
  );

/**
 * Session binding's second half: `POST /data-integrations/{slug}/authorize/finish` `{ authorization_id,
 * code_verifier }`. The app proves, with the verifier it kept in the user's session, that the browser that came back
 * is its own user's; only then is the account saved. A wrong verifier fails the authorization for good (no retries
 * to guess with).
 */
export async function finishAuthorization(
  ctx: AppContext,
  environmentId: string,
  slug: string,
  input: { authorizationId: string; codeVerifier: string },
): Promise<ConnectedAccountTable> {
  const flow = await ctx.store.db
    .selectFrom('authorization_flows')
    .selectAll()
    .where('id', '=', input.authorizationId)
    .where('environment_id', '=', environmentId)
    .where('provider_slug', '=', slug)
    .executeTakeFirst();
  const now = ctx.clock.now();
  if (flow === undefined || flow.status !== 'awaiting_finish' || flow.pending_result === null)
    throw notFound();
  if (flow.expires_at <= now || flow.app_code_challenge === null) throw notFound();
  const integration = await findDataIntegrationById(ctx.store.db, flow.data_integration_id);
  if (integration === undefined || integration.environment_id !== environmentId) throw notFound();

  // Claim it first (compare-and-set), so two finish calls cannot both save.
  const claimed = await ctx.store.db
    .updateTable('authorization_flows')
    .set({ status: 'completed', updated_at: now })
    .where('id', '=', flow.id)
    .where('status', '=', 'awaiting_finish')
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) throw notFound();

  const verifierOk =
    looksLikeToken(input.codeVerifier) &&
    digestsEqual(digest(s256(input.codeVerifier)), digest(flow.app_code_challenge));
  if (!verifierOk) {
    await markFlowFailed(
      ctx.store.db,
      flow,
      {
        errorCode: 'invalid_code_verifier',
        errorReason: 'The finish call carried a code_verifier that does not match the code_challenge.',
      },
      now,
    );
    throw new PipesError(
      'invalid_code_verifier',
      'code_verifier does not match the code_challenge sent when the authorization started. The authorization is cancelled; start again.',
      { status: 422 },
    );
  }
  const result = JSON.parse(ctx.vault.open(flow.pending_result, pendingResultBinding(flow))) as GrantResult;
  const provider = resolveIntegrationProvider(ctx, integration);
  const accountId = await saveGrant(ctx, flow, integration, provider, result);
  return ctx.store.db
    .selectFrom('connected_accounts')
    .selectAll()
    .where('id', '=', accountId)
    .executeTakeFirstOrThrow();
}
