import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import { readJson } from '../api/body.ts';
import { integrationNotFound } from '../api/routes/data-integrations/find.ts';
import type { AppContext } from '../context.ts';
import { PipesError } from '../errors.ts';
import { toIso } from '../lib/time.ts';
import { startAuthorization } from '../oauth/flow/start.ts';
import { SLUG_PATTERN } from '../providers/catalog-schema.ts';
import { findDataIntegration } from '../store/data-integrations.ts';
import { deleteConnectedAccount } from '../tokens/connected-accounts.ts';
import { hostedWidgetUrl, popupDoneUrl, requireEmbeddingOrigin, widgetRedirectUrls } from './origins.ts';
import { listWidgetProviders } from './providers.ts';
import { authenticateWidget, type WidgetEnv, type WidgetSession } from './session.ts';
import type { WidgetTokens } from './token.ts';

const connectSchema = z
  .object({
    mode: z.enum(['redirect', 'popup']).default('redirect'),
    /** Redirect mode: where the flow brings the user back (the page, exact-matched like any return_to). */
    return_to: z.string().min(1).max(2048).optional(),
  })
  .strict();

const disconnectSchema = z
  .object({
    connected_account_id: z
      .string()
      .regex(/^data_installation_[0-9A-Za-z]{1,40}$/)
      .optional(),
  })
  .strict();

const authorizationNotFound = () =>
  new PipesError('authorization_not_found', 'No connection attempt with this id for this user.', {
    status: 404,
  });

async function requireWidgetIntegration(ctx: AppContext, session: WidgetSession, slug: string) {
  if (!SLUG_PATTERN.test(slug) || slug.length > 64) throw integrationNotFound(slug, session.environment.name);
  const integration = await findDataIntegration(ctx.store.db, session.environment.id, slug, 'user');
  if (integration === undefined || integration.enabled !== 1) {
    throw integrationNotFound(slug, session.environment.name);
  }
  return integration;
}

/**
 * The widget's JSON API under `/widget/api/*`, authenticated by the widget token in `Authorization: Bearer pwt_…`
 * only (never a cookie, never an API key). Cross-origin by design (the element runs on the app's page): any origin
 * may call it, because the bearer token, not the origin, is the credential, and no cookie is ever involved.
 */
export function widgetApiRoutes(ctx: AppContext, tokens: WidgetTokens): Hono<WidgetEnv> {
  const app = new Hono<WidgetEnv>();
  app.use(
    '*',
    cors({
      origin: '*',
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['Authorization', 'Content-Type'],
      maxAge: 600,
    }),
  );
  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });
  app.use('*', authenticateWidget(ctx, tokens));

  /** `GET /widget/api/providers`: the list the widget renders. */
  app.get('/providers', async (c) => {
    const session = c.get('widget');
    return c.json({
      object: 'list',
      data: await listWidgetProviders(ctx, session),
      expires_at: toIso(session.claims.expiresAt),
    });
  });

  /**
   * `POST /widget/api/providers/{slug}/connect` `{ mode, return_to? }` → `{ url, authorization_id }`: a connect link
   * for the token's user, made by the same code as `POST /data-integrations/{slug}/authorize`. A reauthorization is
   * the same call: the flow reconnects the account that needs it. In popup mode the flow ends on Pipes' done page,
   * which reports to the embedding origin (the request's `Origin`, which must be registered).
   */
  app.post('/providers/:slug/connect', async (c) => {
    const session = c.get('widget');
    const body = await readJson(c, connectSchema);
    const integration = await requireWidgetIntegration(ctx, session, c.req.param('slug'));
    const { config } = ctx;
    let returnTo: string;
    let ownPage: string | null = null;
    if (body.mode === 'popup') {
      const origin = requireEmbeddingOrigin(config, session.environment, c.req.header('origin'));
      returnTo = popupDoneUrl(config.publicUrl, origin);
      ownPage = returnTo;
    } else {
      if (body.return_to === undefined) {
        const message = 'return_to is required in redirect mode: the page to bring the user back to.';
        throw new PipesError('return_to_required', message, {
          status: 422,
          errors: [{ field: 'return_to', code: 'required', message }],
        });
      }
      returnTo = body.return_to;
      if (returnTo === hostedWidgetUrl(config.publicUrl)) ownPage = returnTo;
    }
    const flowCtx: AppContext =
      ownPage === null
        ? ctx
        : {
            ...ctx,
            config: { ...config, redirectUrls: widgetRedirectUrls(config, session.environment, ownPage) },
          };
    const started = await startAuthorization(flowCtx, session.environment, integration, {
      owner: session.owner,
      actingUserId: session.claims.userId,
      returnTo,
      config: {},
      codeChallenge: undefined,
      connectionIntent: undefined,
    });
    ctx.log.info(
      { provider: integration.slug, authorizationId: started.authorizationId, mode: body.mode },
      'widget started a connect flow',
    );
    return c.json({ url: started.url, authorization_id: started.authorizationId, mode: body.mode }, 201);
  });

  /**
   * `GET /widget/api/authorizations/{id}`: where a connect attempt stands, for the popup's polling fallback (the
   * popup cannot always `postMessage` back: a provider page with `Cross-Origin-Opener-Policy` severs the opener).
   */
  app.get('/authorizations/:id', async (c) => {
    const session = c.get('widget');
    const id = c.req.param('id');
    if (!/^flow_[0-9A-Za-z]{1,40}$/.test(id)) throw authorizationNotFound();
    const flow = await ctx.store.db
      .selectFrom('authorization_flows')
      .selectAll()
      .where('id', '=', id)
      .where('environment_id', '=', session.environment.id)
      .executeTakeFirst();
    if (
      flow === undefined ||
      flow.owner_type !== 'user' ||
      flow.user_id !== session.owner.userId ||
      flow.organization_id !== session.owner.organizationId
    ) {
      throw authorizationNotFound();
    }
    const expired = flow.expires_at <= ctx.clock.now();
    const status =
      flow.status === 'completed'
        ? 'connected'
        : flow.status === 'failed'
          ? 'failed'
          : expired
            ? 'expired'
            : 'pending';
    return c.json({
      object: 'widget_authorization',
      id: flow.id,
      provider: flow.provider_slug,
      status,
      // Where a pending attempt is: on Pipes' confirmation screen, or gone to the provider.
      stage: flow.status === 'created' ? 'confirming' : flow.status === 'redirected' ? 'at_provider' : 'done',
      connected_account_id: flow.status === 'completed' ? flow.result_account_id : null,
    });
  });

  /** `POST /widget/api/providers/{slug}/disconnect` `{ connected_account_id? }` → 204: the user's own connection. */
  app.post('/providers/:slug/disconnect', async (c) => {
    const session = c.get('widget');
    const body = await readJson(c, disconnectSchema);
    const slug = c.req.param('slug');
    await requireWidgetIntegration(ctx, session, slug);
    await deleteConnectedAccount(ctx, {
      environment: session.environment,
      slug,
      selection: {
        owner: session.owner,
        connectedAccountId: body.connected_account_id ?? null,
        supportsMultipleConnections: false,
      },
    });
    ctx.log.info({ provider: slug }, 'widget disconnected an account');
    return c.body(null, 204);
  });
  return app;
}
