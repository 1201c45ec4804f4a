import { Hono } from 'hono';
import type { AppContext } from '../../../context.ts';
import {
  deleteConnectedAccount,
  getConnectedAccount,
  importConnectedAccount,
  updateConnectedAccount,
} from '../../../tokens/connected-accounts.ts';
import { presentConnectedAccount } from '../../../tokens/present-account.ts';
import { readJson } from '../../body.ts';
import type { ApiEnv } from '../../env.ts';
import { addressOf, importBodySchema } from './address.ts';

/**
 * Connected accounts of a user (`/user_management/users/{user_id}/connected_accounts/{slug}`, §3.6) or of an
 * organization (`/organizations/{organization_id}/connected_accounts/{slug}`, §3.7): get, import, update, delete.
 */
export function connectedAccountRoutes(ctx: AppContext, ownerType: 'user' | 'organization') {
  const app = new Hono<ApiEnv>();
  const path =
    ownerType === 'user'
      ? '/users/:user_id/connected_accounts/:slug'
      : '/:organization_id/connected_accounts/:slug';
  app.get(path, async (c) =>
    c.json(presentConnectedAccount(await getConnectedAccount(ctx, addressOf(c, ownerType)))),
  );
  app.post(path, async (c) => {
    const address = addressOf(c, ownerType);
    const body = await readJson(c, importBodySchema);
    const account = await importConnectedAccount(
      ctx,
      address.environment,
      address.slug,
      address.selection.owner,
      body,
    );
    return c.json(presentConnectedAccount(account), 201);
  });
  app.put(path, async (c) => {
    const body = await readJson(c, importBodySchema.omit({ connection_intent: true }));
    return c.json(presentConnectedAccount(await updateConnectedAccount(ctx, addressOf(c, ownerType), body)));
  });
  app.delete(path, async (c) => {
    await deleteConnectedAccount(ctx, addressOf(c, ownerType));
    return c.body(null, 204);
  });
  return app;
}
