/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { checkEvents, endpointDeps } from '../../api/routes/webhook-endpoints/fields.ts';
import type { FieldError } from '../../errors.ts';
import { checkEndpointUrl } from '../../events/endpoint-url.ts';
import { queryDeliveries } from '../../events/list-events.ts';
import { PIPES_EVENT_NAMES } from '../../events/names.ts';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  findWebhookEndpoint,
  rotateWebhookSecret,
  updateWebhookEndpoint,
  type WebhookEndpointRecord,
} from '../../events/webhook-endpoints.ts';
import { isId } from '../../lib/ids.ts';
import {
  type Dash,
  type DashContext,
  type DashEnv,
  errorsOf,
  formValue,
  formValues,
  frameFor,
  readForm,
  render,
  withNotice,
} from '../dash.ts';
import { ConfirmPage } from '../pages/confirm.tsx';
import { WebhookPage, WebhooksPage } from '../pages/webhooks.tsx';
import { splitPage } from '../paging.ts';

const PAGE_SIZE = 25;
const OVERLAPS = new Set([0, 3600, 86_400, 604_800]);

export function mountWebhookRoutes(dash: Dash, app: Hono<DashEnv>): void {
  const { ctx } = dash;
  const db = ctx.store.db;

  async function listPage(
    c: DashContext,
    options: {
      created?: { record: WebhookEndpointRecord; secret: string };
      draft?: { url: string; events: string[] };
      errors?: FieldError[];
      status?: 200 | 201 | 422;
    } = {},
  ) {
    const env = c.get('session').environment;
    const endpoints = await db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('environment_id', '=', env.id)
      .orderBy('id', 'desc')
      .execute();
    return render(
      c,
      <WebhooksPage
        frame={await frameFor(dash, c, 'webhooks')}
        endpoints={endpoints}
        created={options.created ?? null}
        draft={options.draft ?? { url: '', events: [...PIPES_EVENT_NAMES] }}
        errors={options.errors ?? []}
      />,
      options.status ?? 200,
    );
  }

  async function detailPage(c: DashContext, endpoint: WebhookEndpointRecord, rotated: string | null) {
    const after = c.req.query('after');
    const { rows, attempts } = await queryDeliveries(
      db,
      endpoint.id,
      {},
      {
        direction: 'desc',
        cursor: after !== undefined && /^whd_[0-9A-Z]{26}$/.test(after) ? after : undefined,
        fetch: PAGE_SIZE + 1,
      },
    );
    const { page: deliveries, next } = splitPage(
      rows,
      PAGE_SIZE,
      (lastId) => `/dashboard/webhooks/${endpoint.id}?after=${lastId}`,
    );
    return render(
      c,
      <WebhookPage
        frame={await frameFor(dash, c, 'webhooks')}
        endpoint={endpoint}
        deliveries={deliveries}
        attempts={attempts}
        rotated={rotated}
        next={next}
      />,
    );
  }

  app.get('/webhooks', (c) => listPage(c));

  app.post('/webhooks', async (c) => {
    const env = c.get('session').environment;
    const form = await readForm(c);
    const draft = { url: formValue(form, 'endpoint_url').trim(), events: formValues(form, 'events') };
    try {
      if (draft.events.length === 0) {
        return listPage(c, {
          draft,
          errors: [{ field: 'events', code: 'required', message: 'Choose at least one event.' }],
          status: 422,
        });
      }
      const events = checkEvents(draft.events.slice(0, 50));
      const endpointUrl = await checkEndpointUrl(ctx.config, draft.url.slice(0, 2048));
      const created = await createWebhookEndpoint(endpointDeps(ctx), {
        environmentId: env.id,
        endpointUrl,
        events,
        now: ctx.clock.now(),
      });
      return listPage(c, { created, status: 201 });
    } catch (error) {
      return listPage(c, { draft, errors: errorsOf(error), status: 422 });
    }
  });

  app.get('/webhooks/:id', async (c) => {
    const endpoint = await findWebhookEndpoint(db, c.get('session').environment.id, c.req.param('id'));
    return detailPage(c, endpoint, null);
  });

  app.post('/webhooks/:id/rotate', async (c) => {
    const form = await readForm(c);
    const overlap = Number(formValue(form, 'overlap'));
    const { record, secret } = await rotateWebhookSecret(
      endpointDeps(ctx),
      c.get('session').environment.id,
      c.req.param('id'),
      (OVERLAPS.has(overlap) ? overlap : 86_400) * 1000,
      ctx.clock.now(),
    );
    return detailPage(c, record, secret);
  });

  app.post('/webhooks/:id/status', async (c) => {
    const form = await readForm(c);
    const status = formValue(form, 'status') === 'enabled' ? 'enabled' : 'disabled';
    const record = await updateWebhookEndpoint(
      endpointDeps(ctx),
      c.get('session').environment.id,
      c.req.param('id'),
      { status },
      ctx.clock.now(),
    );
    return c.redirect(withNotice(`/dashboard/webhooks/${record.id}`, status), 303);
  });

  app.get('/webhooks/:id/delete', async (c) => {
    const endpoint = await findWebhookEndpoint(db, c.get('session').environment.id, c.req.param('id'));
    return render(
      c,
      <ConfirmPage
        frame={await frameFor(dash, c, 'webhooks')}
        title="Delete this webhook endpoint?"
        action={`/dashboard/webhooks/${endpoint.id}/delete`}
        button="Delete endpoint"
        cancel={`/dashboard/webhooks/${endpoint.id}`}
      >
        <p>
          <code>{endpoint.endpoint_url}</code> stops receiving events at once. Its pending deliveries and
          delivery log are deleted.
        </p>
      </ConfirmPage>,
    );
  });

  app.post('/webhooks/:id/delete', async (c) => {
    const id = c.req.param('id');
    if (!isId('webhookEndpoint', id)) return c.redirect('/dashboard/webhooks', 303);
    await deleteWebhookEndpoint(db, c.get('session').environment.id, id);
    return c.redirect('/dashboard/webhooks?notice=deleted', 303);
  });
}
