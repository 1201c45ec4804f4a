import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { finishAuthorization } from '../../../oauth/flow/finish.ts';
import { presentConnectedAccount } from '../../../tokens/present-account.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';

const finishSchema = z
  .object({
    authorization_id: z.string().min(1).max(100),
    code_verifier: z.string().min(43).max(128),
  })
  .strict();

/**
 * `POST /data-integrations/{slug}/authorize/finish` (Pipes; session binding): saves the connection held since the
 * callback once the app presents the verifier of the `code_challenge` it started with. Answers the
 * `connected_account`.
 */
export function finishAuthorizationRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, finishSchema);
    const account = await finishAuthorization(ctx, c.get('auth').environment.id, c.req.param('slug') ?? '', {
      authorizationId: body.authorization_id,
      codeVerifier: body.code_verifier,
    });
    return c.json(presentConnectedAccount(account));
  };
}
