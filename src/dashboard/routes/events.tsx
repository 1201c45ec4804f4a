/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { redirectUriOf } from '../../api/routes/data-integrations/present.ts';
import { PipesError } from '../../errors.ts';
import { queryEvents } from '../../events/list-events.ts';
import { PIPES_EVENT_NAMES } from '../../events/names.ts';
import { redeliverEvent } from '../../events/redeliver.ts';
import { isId } from '../../lib/ids.ts';
import { listEnvironmentIntegrations } from '../../store/data-integrations.ts';
import {
  type Dash,
  type DashEnv,
  formValue,
  frameFor,
  readForm,
  render,
  safeBack,
  withNotice,
} from '../dash.ts';
import { EventsPage } from '../pages/events.tsx';
import { splitPage } from '../paging.ts';

const PAGE_SIZE = 50;

/** Fixed texts behind `?problem=…` (a query value is never echoed into the page). */
const PROBLEMS: Record<string, string> = {
  no_webhook_endpoint: 'Nothing was redelivered: no enabled webhook endpoint is subscribed to that event.',
};

export function mountEventRoutes(dash: Dash, app: Hono<DashEnv>): void {
  const { ctx } = dash;
  const db = ctx.store.db;

  app.get('/events', async (c) => {
    const env = c.get('session').environment;
    const read = (name: string) => (c.req.query(name) ?? '').trim().slice(0, 200);
    const filter = {
      event: (PIPES_EVENT_NAMES as readonly string[]).includes(read('event')) ? read('event') : '',
      provider: read('provider'),
      organization: read('organization'),
      connection: read('connection'),
    };
    const after = c.req.query('after');
    const rows = await queryEvents(
      db,
      env.id,
      {
        names: filter.event === '' ? undefined : [filter.event],
        providerSlug: filter.provider || undefined,
        organizationId: filter.organization || undefined,
        connectedAccountId: filter.connection || undefined,
      },
      {
        direction: 'desc',
        cursor: after !== undefined && isId('event', after) ? after : undefined,
        fetch: PAGE_SIZE + 1,
      },
    );
    const params = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== ''));
    const back = `/dashboard/events${params.size > 0 ? `?${params.toString()}` : ''}`;
    const { page: events, next } = splitPage(rows, PAGE_SIZE, (lastId) => {
      const nextParams = new URLSearchParams(params);
      nextParams.set('after', lastId);
      return `/dashboard/events?${nextParams.toString()}`;
    });
    const integrations = await listEnvironmentIntegrations(db, env.id);
    const accountIds = [...new Set(events.map((e) => e.connected_account_id).filter((id) => id !== null))];
    const live =
      accountIds.length === 0
        ? []
        : await db
            .selectFrom('connected_accounts')
            .select('id')
            .where('environment_id', '=', env.id)
            .where('id', 'in', accountIds)
            .execute();
    const problemCode = c.req.query('problem');
    return render(
      c,
      <EventsPage
        frame={await frameFor(dash, c, 'events')}
        filter={filter}
        events={events}
        next={next}
        back={back}
        redirectUris={new Map(integrations.map((row) => [row.id, redirectUriOf(ctx.config.publicUrl, row)]))}
        liveAccounts={new Set(live.map((row) => row.id))}
        problem={
          problemCode !== undefined && Object.hasOwn(PROBLEMS, problemCode)
            ? { code: problemCode, message: PROBLEMS[problemCode]! }
            : null
        }
      />,
    );
  });

  app.post('/events/:id/redeliver', async (c) => {
    const form = await readForm(c);
    const back = safeBack(formValue(form, 'back'), '/dashboard/events');
    const endpoint = formValue(form, 'endpoint');
    try {
      await redeliverEvent(db, {
        environmentId: c.get('session').environment.id,
        eventId: c.req.param('id'),
        endpointId: endpoint === '' ? undefined : endpoint,
        now: ctx.clock.now(),
      });
    } catch (error) {
      if (error instanceof PipesError && error.code === 'no_webhook_endpoint') {
        return c.redirect(`/dashboard/events?problem=no_webhook_endpoint`, 303);
      }
      throw error;
    }
    return c.redirect(withNotice(back, 'redelivered'), 303);
  });
}
