import type { Context } from 'hono';
import { z } from 'zod';
import { readJson } from '../api/body.ts';
import type { ApiEnv } from '../api/env.ts';
import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { toIso } from '../lib/time.ts';
import { WIDGET_TOKEN_TTL_MS, type WidgetTokens } from './token.ts';

const tokenSchema = z
  .object({
    user_id: z.string().trim().min(1).max(200).optional(),
    organization_id: z.string().trim().min(1).max(200).nullable().optional(),
    scopes: z.array(z.string().min(1).max(100)).max(20).optional(),
  })
  .strict();

/**
 * `POST /widgets/token` `{ user_id, organization_id?, scopes? }` → 201 `{ token }` (§3.10; the SDK's
 * `workos.widgets.createToken`, `getToken` in older SDKs). The token lets the connect widget manage that user's own
 * connections in the key's environment for 15 minutes. With `organization_id`, the user's connections scoped to that
 * organization (the same owner `authorize` and `getAccessToken` use with that organization id).
 *
 * WorkOS's widget scopes (`widgets:users-table:manage`, …) belong to widgets Pipes does not serve, so any scope is
 * refused rather than silently granted or ignored.
 */
export function createWidgetTokenRoute(ctx: AppContext, tokens: WidgetTokens) {
  return async (c: Context<ApiEnv>) => {
    const body = await readJson(c, tokenSchema);
    if (body.user_id === undefined) {
      const message =
        'user_id is required: the Pipes connect widget shows one user’s connections. Pass the user id you use with ' +
        'authorizeDataIntegration and getAccessToken (userId in the SDK).';
      throw new PipesError('user_id_required', message, {
        status: 422,
        errors: [{ field: 'user_id', code: 'required', message }],
      });
    }
    if (body.scopes !== undefined && body.scopes.length > 0) {
      const message = `Pipes serves only the connect widget, which needs no scope; omit scopes (got ${body.scopes
        .slice(0, 3)
        .map((s) => JSON.stringify(s.slice(0, 60)))
        .join(', ')}).`;
      throw new PipesError('unsupported_widget_scope', message, {
        status: 422,
        errors: [{ field: 'scopes', code: 'unsupported', message }],
      });
    }
    const auth = c.get('auth');
    const now = ctx.clock.now();
    const expiresAt = now + WIDGET_TOKEN_TTL_MS;
    const token = tokens.mint({
      environmentId: auth.environment.id,
      userId: body.user_id,
      organizationId: body.organization_id ?? null,
      apiKeyId: auth.keyId,
      issuedAt: now,
      expiresAt,
    });
    c.header('Cache-Control', 'no-store');
    // `expires_at` is a Pipes addition; the SDK reads `token` only.
    return c.json({ token, expires_at: toIso(expiresAt) }, 201);
  };
}
