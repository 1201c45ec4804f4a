/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { redirectUriOf } from '../../api/routes/data-integrations/present.ts';
import { PipesError } from '../../errors.ts';
import { queryEvents } from '../../events/list-events.ts';
import { isId } from '../../lib/ids.ts';
import { findDataIntegrationById, listEnvironmentIntegrations } from '../../store/data-integrations.ts';
import type { ConnectedAccountState } from '../../store/schema.ts';
import { disconnectAccount } from '../../tokens/connected-accounts.ts';
import { integrationScopes } from '../../tokens/integration-scopes.ts';
import { findConnectedAccountById, listConnectedAccounts } from '../../tokens/list-accounts.ts';
import { parseJsonArray } from '../../tokens/present-account.ts';
import { type Dash, type DashEnv, frameFor, render } from '../dash.ts';
import { ConfirmPage } from '../pages/confirm.tsx';
import { accountLabel, ConnectionPage, ConnectionsPage } from '../pages/connections.tsx';
import { splitPage } from '../paging.ts';

const PAGE_SIZE = 50;
const STATES: readonly ConnectedAccountState[] = ['connected', 'needs_reauthorization', 'disconnected'];

const notFound = () =>
  new PipesError('connected_account_not_found', 'Connection not found.', { status: 404 });

const optional = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim().slice(0, 200);
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
};

export function mountConnectionRoutes(dash: Dash, app: Hono<DashEnv>): void {
  const { ctx } = dash;
  const db = ctx.store.db;

  app.get('/connections', async (c) => {
    const env = c.get('session').environment;
    const state = c.req.query('state');
    const stateFilter = STATES.find((s) => s === state);
    const filter = {
      provider: optional(c.req.query('provider')) ?? '',
      user: optional(c.req.query('user')) ?? '',
      organization: optional(c.req.query('organization')) ?? '',
      state: stateFilter ?? '',
    };
    const after = c.req.query('after');
    const rows = await listConnectedAccounts(
      db,
      env.id,
      {
        providerSlug: filter.provider || undefined,
        userId: filter.user || undefined,
        organizationId: filter.organization || undefined,
        state: stateFilter,
      },
      {
        limit: PAGE_SIZE + 1,
        after: after !== undefined && isId('connectedAccount', after) ? after : undefined,
      },
    );
    const { page, next } = splitPage(
      rows,
      PAGE_SIZE,
      (lastId) => `/dashboard/connections?${new URLSearchParams({ ...filter, after: lastId }).toString()}`,
    );
    const providers = [...new Set((await listEnvironmentIntegrations(db, env.id)).map((row) => row.slug))];
    return render(
      c,
      <ConnectionsPage
        frame={await frameFor(dash, c, 'connections')}
        filter={filter}
        providers={providers}
        accounts={page}
        next={next}
      />,
    );
  });

  app.get('/connections/:id', async (c) => {
    const env = c.get('session').environment;
    const account = await findConnectedAccountById(db, env.id, c.req.param('id'));
    if (account === undefined) throw notFound();
    const integration = await findDataIntegrationById(db, account.data_integration_id);
    const requested = integration === undefined ? [] : integrationScopes(ctx, integration);
    const granted = parseJsonArray(account.scopes);
    const events = await queryEvents(
      db,
      env.id,
      { connectedAccountId: account.id },
      { direction: 'desc', cursor: undefined, fetch: 20 },
    );
    return render(
      c,
      <ConnectionPage
        frame={await frameFor(dash, c, 'connections')}
        account={account}
        providerName={ctx.catalog.get(account.provider_slug)?.name ?? account.provider_slug}
        granted={granted}
        requested={requested}
        missing={account.auth_method === 'oauth' ? requested.filter((s) => !granted.includes(s)) : []}
        events={events}
        redirectUri={integration === undefined ? null : redirectUriOf(ctx.config.publicUrl, integration)}
      />,
    );
  });

  app.get('/connections/:id/disconnect', async (c) => {
    const env = c.get('session').environment;
    const account = await findConnectedAccountById(db, env.id, c.req.param('id'));
    if (account === undefined) throw notFound();
    return render(
      c,
      <ConfirmPage
        frame={await frameFor(dash, c, 'connections')}
        title={`Disconnect ${accountLabel(account)}?`}
        action={`/dashboard/connections/${account.id}/disconnect`}
        button="Disconnect"
        cancel={`/dashboard/connections/${account.id}`}
      >
        <p>
          The {account.provider_slug} connection <code>{account.id}</code> of{' '}
          {account.owner_type === 'organization' ? 'organization' : 'user'}{' '}
          <code>{account.user_id ?? account.organization_id}</code> will be erased with its tokens, and the
          grant revoked at the provider where possible. Your app gets a <code>disconnected</code> event. This
          cannot be undone: the user would have to connect again.
        </p>
      </ConfirmPage>,
    );
  });

  app.post('/connections/:id/disconnect', async (c) => {
    const env = c.get('session').environment;
    const account = await findConnectedAccountById(db, env.id, c.req.param('id'));
    if (account === undefined) throw notFound();
    await disconnectAccount(ctx, account);
    return c.redirect('/dashboard/connections?notice=disconnected', 303);
  });
}
