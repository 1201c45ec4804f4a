import type { Context } from 'hono';
import { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import { startAuthorization } from '../../../oauth/flow/start.ts';
import { ownerFromRequest } from '../../../tokens/owner.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { requireIntegration } from './find.ts';

const authorizeSchema = z
  .object({
    user_id: z.string().trim().min(1).max(200),
    organization_id: z.string().trim().min(1).max(200).nullable().optional(),
    connection_owner: z.enum(['user', 'organization']).optional(),
    return_to: z.string().max(2048).optional(),
    config: z.record(z.string().min(1).max(64), z.string().max(512)).optional(),
    /** Pipes addition (multiple connections): create another connection instead of reconnecting the first. */
    connection_intent: z.literal('add').optional(),
    /** Session binding: base64url(SHA-256(code_verifier)), 43 characters. */
    code_challenge: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, 'must be base64url(SHA-256(code_verifier)), 43 characters')
      .optional(),
    code_challenge_method: z.literal('S256', { error: 'only S256 is supported' }).optional(),
  })
  .strict();

/**
 * `POST /data-integrations/{slug}/authorize` → `{ url }`: a short-lived, single-use connect link to send the user's
 * browser to. `connection_owner: organization` connects the organization-owned root. Pipes also returns
 * `authorization_id` (the id the session-binding finish call takes).
 */
export function authorizeDataIntegrationRoute(ctx: AppContext) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, authorizeSchema);
    const owner = ownerFromRequest({
      userId: body.user_id,
      organizationId: body.organization_id,
      connectionOwner: body.connection_owner,
    });
    const integration = await requireIntegration(
      ctx,
      c,
      owner.ownerType === 'organization' ? 'organization' : 'user',
    );
    const started = await startAuthorization(ctx, c.get('auth').environment, integration, {
      owner,
      actingUserId: body.user_id,
      returnTo: body.return_to,
      config: body.config ?? {},
      codeChallenge: body.code_challenge,
      connectionIntent: body.connection_intent,
    });
    c.header('Cache-Control', 'no-store');
    return c.json({ url: started.url, authorization_id: started.authorizationId });
  };
}
